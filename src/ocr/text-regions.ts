/**
 * Finds speech-bubble-like regions: tesseract reads little of a whole manga page (panel art
 * confuses its layout analysis), but reads a single bubble well once it is cropped out and
 * everything outside the bubble is blanked. A bubble is a bright connected region, enclosed by
 * a dark outline, with dark marks (the text) in its holes.
 */
import type { Box } from '../types.js';
import { connectedComponents } from './components.js';

export interface BubbleOptions {
  /** Grey level (0-255) at or above which a pixel counts as bubble background. Default 200. */
  readonly brightThreshold: number;
  /** Smallest bubble area as a fraction of the image area. Default 0.002. */
  readonly minAreaFraction: number;
  /** Largest bubble area as a fraction of the image area (bigger means page background). Default 0.2. */
  readonly maxAreaFraction: number;
  /** Smallest share of its bounding box a bubble fills (an ellipse fills ~0.79). Default 0.55. */
  readonly minFill: number;
  /** Smallest share of the filled bubble covered by dark "ink" holes (the text). Default 0.01. */
  readonly minInk: number;
  /** Largest share of ink; more means it is a drawing, not lettering. Default 0.45. */
  readonly maxInk: number;
  /** At most this many bubbles, largest first, to bound OCR time. Default 6. */
  readonly maxBubbles: number;
}

export const defaultBubbleOptions: BubbleOptions = {
  brightThreshold: 200,
  minAreaFraction: 0.002,
  maxAreaFraction: 0.2,
  minFill: 0.55,
  minInk: 0.01,
  maxInk: 0.45,
  maxBubbles: 6,
};

/** A bubble found in a grey image: its box and a grey crop with everything outside it set to white. */
export interface Bubble {
  readonly box: Box;
  /** Grey pixels of `box`, one byte per pixel, outside the bubble blanked to 255. */
  readonly pixels: Buffer;
}

/**
 * Bright components that do not touch the image border, fill their box like a blob, and hold
 * some dark marks. Works on one-byte-per-pixel grey data.
 */
export function findBubbles(grey: Buffer, width: number, height: number, options: Partial<BubbleOptions> = {}): Bubble[] {
  const o = { ...defaultBubbleOptions, ...options };
  const n = width * height;
  const minArea = o.minAreaFraction * n;
  const maxArea = o.maxAreaFraction * n;
  const { labels, components } = connectedComponents(grey, width, height, { atLeast: o.brightThreshold }, 4);
  const found: { box: Box; label: number; area: number }[] = [];
  for (const { label, area, x0, y0, x1, y1 } of components) {
    const touchesBorder = x0 === 0 || y0 === 0 || x1 === width - 1 || y1 === height - 1;
    if (touchesBorder || area < minArea || area > maxArea) continue;
    const bw = x1 - x0 + 1;
    const bh = y1 - y0 + 1;
    if (area / (bw * bh) < o.minFill) continue;
    if (bw / bh > 8 || bh / bw > 8) continue;
    found.push({ box: { x: x0, y: y0, w: bw, h: bh }, label, area });
  }

  const bubbles: Bubble[] = [];
  for (const f of found.sort((a, b) => b.area - a.area)) {
    const bubble = cutOut(grey, width, labels, f.label, f.box, f.area, o);
    if (bubble) bubbles.push(bubble);
    if (bubbles.length >= o.maxBubbles) break;
  }
  return bubbles;
}

/**
 * Crops the box and blanks what lies outside the bubble: within the box, everything reachable
 * from the box edge without crossing the bubble is outside; the rest that is not bubble is a hole
 * (the lettering). Returns null when the holes hold too little or too much ink to be text.
 */
function cutOut(grey: Buffer, width: number, labels: Int32Array, label: number, box: Box, area: number, o: BubbleOptions): Bubble | null {
  const { x: bx, y: by, w, h } = box;
  const outside = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let sp = 0;
  const inBubble = (i: number): boolean => labels[(by + Math.floor(i / w)) * width + bx + (i % w)] === label;
  const seed = (i: number): void => {
    if (outside[i] === 0 && !inBubble(i)) {
      outside[i] = 1;
      stack[sp++] = i;
    }
  };
  for (let x = 0; x < w; x++) {
    seed(x);
    seed((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    seed(y * w);
    seed(y * w + w - 1);
  }
  while (sp > 0) {
    const i = stack[--sp] as number;
    const x = i % w;
    if (x > 0) seed(i - 1);
    if (x < w - 1) seed(i + 1);
    if (i >= w) seed(i - w);
    if (i + w < w * h) seed(i + w);
  }
  const pixels = Buffer.alloc(w * h, 255);
  let holes = 0;
  let ink = 0;
  for (let i = 0; i < w * h; i++) {
    if (outside[i] === 1) continue;
    const v = grey[(by + Math.floor(i / w)) * width + bx + (i % w)] as number;
    pixels[i] = v;
    if (!inBubble(i)) {
      holes++;
      if (v < 128) ink++;
    }
  }
  const filled = area + holes;
  if (ink / filled < o.minInk || ink / filled > o.maxInk) return null;
  return { box, pixels };
}
