/**
 * The panels of a comic or manga page, found by cutting the page along its blank gutters
 * (recursive XY-cut). A user who posts "one panel" has almost always cropped along those gutters,
 * so a region vector of the detected panel meets their query nearly pixel for pixel, where a
 * fixed grid's windows only overlap it.
 *
 * No library does this: OpenCV has the pieces (thresholds, contours) but not the page-layout
 * rules, and the known panel extractors are Python programs. What is decided here: a row or
 * column is a gutter when nearly none of its pixels (within the block being cut) are ink; a
 * block is cut at every interior run of such lines, across first, then down, recursively; and
 * a leaf must be a sizeable part of the page to count as a panel. Gutters that a drawing crosses
 * are not cut, so overlapping panels come back as one box around them: still a good window.
 * A photo or a page without gutters yields no panels (the caller falls back to a grid).
 */
import sharp from 'sharp';
import { SagasuError } from '../errors.js';
import type { Box, DecodedImage } from '../types.js';

export interface PanelOptions {
  /** The page is analysed at this longer side (pixels); boxes are returned in the image's own. */
  analysisSide: number;
  /** A pixel darker than this (0-255 grey) is ink. Paper in scans and JPEGs sits above ~230. */
  inkBelow: number;
  /** A line is a gutter when at most this share of its pixels in the block is ink (specks, noise). */
  gutterInk: number;
  /** A gutter is at least this share of the page's longer side wide (thinner gaps are inside drawings). */
  minGutter: number;
  /** A panel covers at least this share of the page's area. */
  minArea: number;
  /** A panel is at least this share of the page's side in each direction (no strips of text). */
  minSide: number;
}

export const defaultPanelOptions: PanelOptions = {
  analysisSide: 512,
  inkBelow: 215,
  gutterInk: 0.01,
  minGutter: 0.006,
  minArea: 0.03,
  minSide: 0.12,
};

interface Block {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The page's panels, largest first, or an empty list when it does not split into at least two
 * (a photo, a single-panel page, a page whose drawings cross every gutter).
 */
export async function detectPanels(image: DecodedImage, options: Partial<PanelOptions> = {}): Promise<Box[]> {
  const opts = { ...defaultPanelOptions, ...options };
  if (!(opts.analysisSide >= 64 && opts.minArea > 0 && opts.minArea < 1 && opts.minSide > 0 && opts.minSide < 1)) {
    throw new SagasuError('INVALID_OPTION', `panel options out of range: ${JSON.stringify(options)}`);
  }
  const scale = Math.min(1, opts.analysisSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const grey = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height, { fit: 'fill' })
    .greyscale()
    .raw()
    .toBuffer();
  // Prefix sums of ink per row and per column would need one table per block; an integral image
  // answers "ink in this line segment" for any block in O(1).
  const integral = new Uint32Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowSum = 0;
    for (let x = 0; x < width; x++) {
      rowSum += grey[y * width + x]! < opts.inkBelow ? 1 : 0;
      integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1]! + rowSum;
    }
  }
  const inkIn = (b: Block) =>
    integral[b.y1 * (width + 1) + b.x1]! - integral[b.y0 * (width + 1) + b.x1]! - integral[b.y1 * (width + 1) + b.x0]! + integral[b.y0 * (width + 1) + b.x0]!;
  const minGutter = Math.max(2, Math.round(opts.minGutter * Math.max(width, height)));
  const leaves: Block[] = [];

  const isGutterRow = (b: Block, y: number) => inkIn({ x0: b.x0, x1: b.x1, y0: y, y1: y + 1 }) <= opts.gutterInk * (b.x1 - b.x0);
  const isGutterColumn = (b: Block, x: number) => inkIn({ x0: x, x1: x + 1, y0: b.y0, y1: b.y1 }) <= opts.gutterInk * (b.y1 - b.y0);

  /** The block without its blank margins, or undefined when it is all blank. */
  const trim = (b: Block): Block | undefined => {
    const t = { ...b };
    while (t.y0 < t.y1 && isGutterRow(t, t.y0)) t.y0++;
    while (t.y1 > t.y0 && isGutterRow(t, t.y1 - 1)) t.y1--;
    while (t.x0 < t.x1 && isGutterColumn(t, t.x0)) t.x0++;
    while (t.x1 > t.x0 && isGutterColumn(t, t.x1 - 1)) t.x1--;
    return t.x1 > t.x0 && t.y1 > t.y0 ? t : undefined;
  };

  /** Pieces of a trimmed block between its interior gutter runs along one axis (one piece: no cut). */
  const cutAlong = (b: Block, across: boolean): Block[] => {
    const [start, end] = across ? [b.y0, b.y1] : [b.x0, b.x1];
    const pieces: Block[] = [];
    let pieceStart = start;
    let run = 0;
    for (let at = start; at < end; at++) {
      if (across ? isGutterRow(b, at) : isGutterColumn(b, at)) {
        run++;
        continue;
      }
      if (run >= minGutter && at - run > pieceStart) {
        pieces.push(across ? { ...b, y0: pieceStart, y1: at - run } : { ...b, x0: pieceStart, x1: at - run });
        pieceStart = at;
      }
      run = 0;
    }
    pieces.push(across ? { ...b, y0: pieceStart, y1: end } : { ...b, x0: pieceStart, x1: end });
    return pieces;
  };

  const split = (block: Block, depth: number) => {
    const b = trim(block);
    if (!b) return;
    for (const across of [true, false]) {
      const pieces = cutAlong(b, across);
      if (pieces.length > 1 && depth < 8) {
        for (const piece of pieces) split(piece, depth + 1);
        return;
      }
    }
    leaves.push(b);
  };
  split({ x0: 0, y0: 0, x1: width, y1: height }, 0);

  const pageArea = width * height;
  const panels = leaves.filter(
    (b) => (b.x1 - b.x0) * (b.y1 - b.y0) >= opts.minArea * pageArea && b.x1 - b.x0 >= opts.minSide * width && b.y1 - b.y0 >= opts.minSide * height,
  );
  if (panels.length < 2) return [];
  return panels
    .map((b): Box => {
      // Back to the image's pixels, rounded outwards so the panel's border line is kept.
      const x = Math.max(0, Math.floor(b.x0 / scale));
      const y = Math.max(0, Math.floor(b.y0 / scale));
      return { x, y, w: Math.min(image.width, Math.ceil(b.x1 / scale)) - x, h: Math.min(image.height, Math.ceil(b.y1 / scale)) - y };
    })
    .sort((a, b) => b.w * b.h - a.w * a.h);
}
