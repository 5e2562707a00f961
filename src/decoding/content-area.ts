import sharp from 'sharp';
import type { Box, DecodedImage } from '../types.js';

/**
 * Finds the picture inside a screenshot: the largest connected area of detail, when it covers
 * only part of the image (the rest being app chrome: flat bars, a few lines of small text).
 *
 * A screenshot moves a global descriptor far from the original (the CNN sees mostly chrome), so
 * the engine also embeds this area of a query. Written here because no library finds "the
 * embedded picture": sharp's `trim()` removes a border of one colour only, and app chrome has
 * several (status bar, header, side panel, input box) with text and icons on them.
 */
export interface ContentAreaOptions {
  /** The analysis runs on a copy this many pixels on its longer side. Default 192. */
  analysisSide: number;
  /** A grey-level step above this between neighbours is detail. Default 24. */
  edgeThreshold: number;
  /** Detail pixels closer than this (in analysis pixels) join one area. Default 2. */
  joinRadius: number;
  /** The area must cover at least this share of the image (smaller: an icon, not the picture). Default 0.06. */
  minShare: number;
  /**
   * The area with the most detail is taken as the picture, unless it covers less than this share
   * of the image: then the widest area is taken instead, when there is one. A product photographed
   * on white, shown in a light app, has no detail but the object's outline, and the side bar's
   * lines of text hold more detail pixels than that. Default 0.12.
   */
  preferWidestBelow: number;
  /** ...and at most this share (larger: the image is all content, nothing to cut). Default 0.75. */
  maxShare: number;
  /**
   * Chrome that sits close to the picture (an avatar, a line of text above it, a caption) joins
   * its area; it is cut off along a band of rows or columns without detail at least this many
   * analysis pixels wide. Default 2.
   */
  minGap: number;
  /** ...when the part cut off is at most this share of the rest (larger: two halves of one picture, kept). Default 0.25. */
  maxChromeShare: number;
}

export const defaultContentAreaOptions: ContentAreaOptions = {
  analysisSide: 192,
  edgeThreshold: 24,
  joinRadius: 2,
  minShare: 0.06,
  preferWidestBelow: 0.12,
  maxShare: 0.75,
  minGap: 2,
  maxChromeShare: 0.25,
};

/** The content area in the image's pixel coordinates, or undefined when the image has none to cut out. */
export async function findContentArea(image: DecodedImage, options: Partial<ContentAreaOptions> = {}): Promise<Box | undefined> {
  const o = { ...defaultContentAreaOptions, ...options };
  if (image.width < 16 || image.height < 16) return undefined;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .greyscale()
    .resize({ width: o.analysisSide, height: o.analysisSide, fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  // Detail: a strong step to the right or below neighbour.
  const detail = new Uint8Array(width * height);
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const i = y * width + x;
      if (Math.abs(data[i]! - data[i + 1]!) > o.edgeThreshold || Math.abs(data[i]! - data[i + width]!) > o.edgeThreshold) detail[i] = 1;
    }
  }
  // Join detail pixels within joinRadius (a dilation by a square, through an integral image).
  const integral = new Int32Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += detail[y * width + x]!;
      integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1]! + row;
    }
  }
  const r = o.joinRadius;
  const joined = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width, x + r + 1);
      const sum = integral[y1 * (width + 1) + x1]! - integral[y0 * (width + 1) + x1]! - integral[y1 * (width + 1) + x0]! + integral[y0 * (width + 1) + x0]!;
      if (sum > 0) joined[y * width + x] = 1;
    }
  }
  // The 4-connected areas of joined detail with the most pixels and with the widest bounds.
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let best: { count: number; x0: number; y0: number; x1: number; y1: number } | undefined;
  let widest: typeof best;
  for (let start = 0; start < joined.length; start++) {
    if (!joined[start] || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    const area = { count: 0, x0: width, y0: height, x1: -1, y1: -1 };
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % width;
      const y = (i - x) / width;
      area.count += 1;
      if (x < area.x0) area.x0 = x;
      if (x > area.x1) area.x1 = x;
      if (y < area.y0) area.y0 = y;
      if (y > area.y1) area.y1 = y;
      const visit = (n: number) => {
        if (joined[n] && !seen[n]) {
          seen[n] = 1;
          stack[top++] = n;
        }
      };
      if (x > 0) visit(i - 1);
      if (x < width - 1) visit(i + 1);
      if (y > 0) visit(i - width);
      if (y < height - 1) visit(i + width);
    }
    if (!best || area.count > best.count) best = area;
    if (!widest || spanArea(area) > spanArea(widest)) widest = area;
  }
  if (!best || !widest) return undefined;
  // The dilation grew the area by joinRadius on each side: back to the detail it holds.
  const areaOf = (a: Span) => cutOffChrome(detail, width, shrinkToDetail(detail, width, { x0: a.x0 + r, y0: a.y0 + r, x1: a.x1 - r, y1: a.y1 - r }), o);
  const shareOf = (a: Span | undefined) => (a ? spanArea(a) / (width * height) : 0);
  let found = areaOf(best);
  if (shareOf(found) < o.preferWidestBelow && widest !== best) {
    const wide = areaOf(widest);
    if (shareOf(wide) >= o.minShare) found = wide;
  }
  if (!found) return undefined;
  const share = shareOf(found);
  if (share < o.minShare || share > o.maxShare) return undefined;
  // Back to image pixels.
  const sx = image.width / width;
  const sy = image.height / height;
  const x = Math.max(0, Math.floor(found.x0 * sx));
  const y = Math.max(0, Math.floor(found.y0 * sy));
  const x1 = Math.min(image.width, Math.ceil((found.x1 + 1) * sx));
  const y1 = Math.min(image.height, Math.ceil((found.y1 + 1) * sy));
  if (x1 - x < 8 || y1 - y < 8) return undefined;
  return { x, y, w: x1 - x, h: y1 - y };
}

/** Inclusive bounds in analysis pixels. */
interface Span {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const spanArea = (s: Span) => (s.x1 - s.x0 + 1) * (s.y1 - s.y0 + 1);

/** The bounds of the detail pixels inside `span`, or undefined when it holds none. */
function shrinkToDetail(detail: Uint8Array, width: number, span: Span | undefined): Span | undefined {
  if (!span) return undefined;
  const out = { x0: span.x1 + 1, y0: span.y1 + 1, x1: span.x0 - 1, y1: span.y0 - 1 };
  for (let y = span.y0; y <= span.y1; y++) {
    for (let x = span.x0; x <= span.x1; x++) {
      if (!detail[y * width + x]) continue;
      if (x < out.x0) out.x0 = x;
      if (x > out.x1) out.x1 = x;
      if (y < out.y0) out.y0 = y;
      if (y > out.y1) out.y1 = y;
    }
  }
  return out.x1 < out.x0 ? undefined : out;
}

/**
 * An XY-cut, one side at a time: while a band of empty rows or columns (at least minGap wide)
 * separates a small part of the area from a large one, the small part is chrome and goes. A
 * picture's own gutters are thinner than minGap at the analysis size, or split it into parts
 * too large to be chrome, so the picture stays whole.
 */
function cutOffChrome(detail: Uint8Array, width: number, span: Span | undefined, o: Pick<ContentAreaOptions, 'minGap' | 'maxChromeShare'>): Span | undefined {
  let area = span;
  for (let step = 0; area && step < 8; step++) {
    const current: Span = area;
    const cuts = [...emptyBands(detail, width, current, 'rows'), ...emptyBands(detail, width, current, 'columns')]
      .filter((band) => band.to - band.from + 1 >= o.minGap)
      .sort((a, b) => b.to - b.from - (a.to - a.from));
    let kept: Span | undefined;
    for (const band of cuts) {
      const [first, second] =
        band.axis === 'rows'
          ? [{ ...current, y1: band.from - 1 }, { ...current, y0: band.to + 1 }]
          : [{ ...current, x1: band.from - 1 }, { ...current, x0: band.to + 1 }];
      const a = shrinkToDetail(detail, width, first);
      const b = shrinkToDetail(detail, width, second);
      if (!a || !b) continue;
      const [large, small] = spanArea(a) >= spanArea(b) ? [a, b] : [b, a];
      if (spanArea(small) <= o.maxChromeShare * spanArea(large)) {
        kept = large;
        break;
      }
    }
    if (!kept) break;
    area = kept;
  }
  return area;
}

/** Runs of rows (or columns) of `span` without a detail pixel, inside it (the span is shrunk to its detail). */
function emptyBands(detail: Uint8Array, width: number, span: Span, axis: 'rows' | 'columns'): Array<{ axis: 'rows' | 'columns'; from: number; to: number }> {
  const [from, to] = axis === 'rows' ? [span.y0, span.y1] : [span.x0, span.x1];
  const bands: Array<{ axis: 'rows' | 'columns'; from: number; to: number }> = [];
  let start = -1;
  for (let i = from; i <= to; i++) {
    let empty = true;
    if (axis === 'rows') {
      for (let x = span.x0; x <= span.x1 && empty; x++) if (detail[i * width + x]) empty = false;
    } else {
      for (let y = span.y0; y <= span.y1 && empty; y++) if (detail[y * width + i]) empty = false;
    }
    if (empty && start < 0) start = i;
    if (!empty && start >= 0) {
      bands.push({ axis, from: start, to: i - 1 });
      start = -1;
    }
  }
  return bands;
}

/** The pixels of `box` as a DecodedImage of their own (original size and format kept: they describe the bytes given). */
export async function cropDecoded(image: DecodedImage, box: Box): Promise<DecodedImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .extract({ left: box.x, top: box.y, width: box.w, height: box.h })
    .raw()
    .toBuffer();
  return { ...image, data, width: box.w, height: box.h };
}
