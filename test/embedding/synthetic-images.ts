/**
 * Synthetic test pictures drawn with sharp (SVG rendered to PNG), so the embedding tests need
 * no fixture files: a seeded "scene" of gradient, shapes and text, and derived copies.
 */
import sharp from 'sharp';
import type { DecodedImage } from '../../src/types.js';
import { seededRandom } from '../../src/random.js';

const random = seededRandom;

/** Sum of seeded random grids at several scales, upsampled smoothly: roughly 1/f like a photo. */
async function smoothTexture(r: () => number, width: number, height: number): Promise<Buffer> {
  const sum = new Float32Array(width * height * 3);
  for (const cell of [8, 16, 32, 64, 128]) {
    const w = Math.ceil(width / cell) + 1;
    const h = Math.ceil(height / cell) + 1;
    const grid = Buffer.alloc(w * h * 3);
    for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(r() * 256);
    const up = await sharp(grid, { raw: { width: w, height: h, channels: 3 } }).resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
    const weight = cell / 248; // coarser scales weigh more
    for (let i = 0; i < sum.length; i++) sum[i]! += (up[i]! - 128) * weight;
  }
  const out = Buffer.alloc(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = Math.max(0, Math.min(255, 128 + sum[i]! * 1.5));
  return out;
}

/** PNG bytes of a 640x480 scene: a gradient and seeded shapes and words over a grain texture. */
export async function scenePng(seed: number, width = 640, height = 480, shapeCount = 30): Promise<Buffer> {
  const r = random(seed);
  const colour = () => `rgb(${Math.floor(r() * 256)},${Math.floor(r() * 256)},${Math.floor(r() * 256)})`;
  const shapes: string[] = [];
  for (let i = 0; i < shapeCount; i++) {
    const x = Math.floor(r() * width);
    const y = Math.floor(r() * height);
    const size = 20 + Math.floor(r() * 140);
    const kind = Math.floor(r() * 3);
    if (kind === 0) shapes.push(`<circle cx="${x}" cy="${y}" r="${size / 2}" fill="${colour()}"/>`);
    else if (kind === 1) shapes.push(`<rect x="${x}" y="${y}" width="${size}" height="${size * (0.3 + r())}" fill="${colour()}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`);
    else shapes.push(`<text x="${x}" y="${y}" font-size="${size / 2}" font-family="sans-serif" fill="${colour()}">sagasu ${seed}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>
    <rect width="${width}" height="${height}" fill="url(#g)"/>${shapes.join('')}</svg>`;
  // Flat synthetic colours give the network almost nothing to respond to (a 2/255 JPEG error
  // then moves the vector a lot); a seeded multi-scale texture makes the scenes more photo-like.
  const texture = await smoothTexture(r, width, height);
  return sharp(Buffer.from(svg)).composite([{ input: texture, raw: { width, height, channels: 3 }, blend: 'overlay' }]).png().toBuffer();
}

/** A JPEG copy at half the size (what a chat app does to a re-posted picture). */
export async function halfSizeJpeg(png: Buffer, quality = 70): Promise<Buffer> {
  const { width } = await sharp(png).metadata();
  return sharp(png).resize(Math.round(width! / 2)).jpeg({ quality }).toBuffer();
}

/** Decodes as the pipeline does (stand-in until every caller uses decodeImage). */
export async function decoded(bytes: Buffer): Promise<DecodedImage> {
  const { data, info } = await sharp(bytes).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3, original: { width: info.width, height: info.height, format: 'png', bytes: bytes.length } };
}
