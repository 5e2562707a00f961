import type { Box, DecodedImage } from '../types.js';

/**
 * A colour signature: how an image's coloured pixels spread over hue, as a 16-bin histogram.
 *
 * Why: the CNN vector is close to blind to colour (MobileNetV2 was trained to name objects under
 * colour jitter), so a photo of a lemon ranked the orange first (cosine 0.871 against 0.856), a
 * kiwi the plum, a red pepper a red apple. Hue tells them apart and survives what a photo does to
 * a picture (blur, noise, brightness, a small rotation, a crop), which is why colour histograms
 * were the first image-retrieval feature (Swain and Ballard, 1991). No maintained npm package
 * computes one from raw pixels (sharp's `stats()` gives channel means and one dominant colour),
 * and it is a few lines over pixels sharp has already decoded.
 *
 * Only coloured pixels count (chroma at least a tenth of the range): white, black and grey say
 * nothing about hue, and a page of black-and-white manga has no signature at all. Each pixel
 * votes with its chroma, split between the two nearest bins so a hue on a bin edge does not jump.
 */
export const colourSignatureId = 'hue16-parts-v1';

const bins = 16;
/** Samples per side of the grid read from the image (or the box). */
const grid = 64;
/** Smallest chroma (max - min of R, G, B, out of 255) that counts as colour. */
const minChroma = 26;
/** Below this share of coloured samples an image has no signature (stray pixels, a tinted scan). */
const minColouredShare = 0.02;

/** 16 bytes, bins scaled so that they sum to about 255; undefined for an image without colour. */
export function colourSignature(image: DecodedImage, box: Box = { x: 0, y: 0, w: image.width, h: image.height }): Uint8Array | undefined {
  const { data, width } = image;
  const histogram = new Float64Array(bins);
  let coloured = 0;
  let total = 0;
  for (let gy = 0; gy < grid; gy++) {
    const y = Math.min(image.height - 1, Math.floor(box.y + ((gy + 0.5) * box.h) / grid));
    for (let gx = 0; gx < grid; gx++) {
      const x = Math.min(width - 1, Math.floor(box.x + ((gx + 0.5) * box.w) / grid));
      // The mean of a 3x3 patch: sensor noise alone should not make a grey pixel coloured.
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const py = y + dy;
        if (py < 0 || py >= image.height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const px = x + dx;
          if (px < 0 || px >= width) continue;
          const at = (py * width + px) * 3;
          r += data[at]!;
          g += data[at + 1]!;
          b += data[at + 2]!;
          n += 1;
        }
      }
      r /= n;
      g /= n;
      b /= n;
      total += 1;
      const max = Math.max(r, g, b);
      const chroma = max - Math.min(r, g, b);
      if (chroma < minChroma) continue;
      coloured += 1;
      // Hue in sixths of the circle, as in HSV.
      let hue = max === r ? (g - b) / chroma : max === g ? (b - r) / chroma + 2 : (r - g) / chroma + 4;
      if (hue < 0) hue += 6;
      const position = (hue / 6) * bins - 0.5;
      const low = Math.floor(position);
      const share = position - low;
      histogram[(low + bins) % bins]! += chroma * (1 - share);
      histogram[(low + 1) % bins]! += chroma * share;
    }
  }
  if (total === 0 || coloured / total < minColouredShare) return undefined;
  const sum = histogram.reduce((a, v) => a + v, 0);
  return Uint8Array.from(histogram, (v) => Math.round((v / sum) * 255));
}

/** Histogram intersection, 0 (no hue in common) to 1 (the same spread of hues). */
export function colourSimilarity(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== bins || b.length !== bins) throw new Error(`sagasu: a colour signature has ${bins} bins, got ${a.length} and ${b.length}`);
  let common = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < bins; i++) {
    common += Math.min(a[i]!, b[i]!);
    sumA += a[i]!;
    sumB += b[i]!;
  }
  return common / Math.max(sumA, sumB, 1);
}

/**
 * The signatures of an image and of its region windows (see regions.ts) in one row: 16 bytes each,
 * the whole image first, zeros for a part without colour. A query that looked like one region of
 * an image is compared with that region's colours: a crop of a colour page holds only some of them.
 */
export function packColourSignatures(parts: ReadonlyArray<Uint8Array | undefined>): Uint8Array | undefined {
  if (!parts.some((part) => part !== undefined)) return undefined;
  const packed = new Uint8Array(parts.length * bins);
  parts.forEach((part, i) => part && packed.set(part, i * bins));
  return packed;
}

/** Part `index` of a packed row (0 the whole image, 1 + r region r), or undefined when it has no colour. */
export function colourSignaturePart(packed: Uint8Array, index: number): Uint8Array | undefined {
  if ((index + 1) * bins > packed.length) return undefined;
  const part = packed.subarray(index * bins, (index + 1) * bins);
  return part.some((value) => value > 0) ? part : undefined;
}

/** The row of an image that was measured and has no colour anywhere (a black-and-white page). */
export const noColour = new Uint8Array(0);

/**
 * How well a query's colours match an indexed image's packed row: its whole image, or, when a
 * region window matched by look, the better of that window and the whole. 0 for an image without
 * any colour (`noColour`): a coloured query shares no hue with it, and a colour photo of a product
 * was otherwise outranked by black-and-white pages that colour could not lower (measured: see
 * SagasuOptions.colour). Undefined when the parts compared have none but others do.
 */
export function colourMatch(query: Uint8Array, packed: Uint8Array, region?: number): number | undefined {
  if (packed.length === 0) return 0;
  const parts = [colourSignaturePart(packed, 0), region === undefined ? undefined : colourSignaturePart(packed, region + 1)];
  const matches = parts.filter((part): part is Uint8Array => part !== undefined).map((part) => colourSimilarity(query, part));
  return matches.length > 0 ? Math.max(...matches) : undefined;
}
