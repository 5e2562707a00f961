import sharp from 'sharp';
import type { Box, DecodedImage, Embedder, OcrEngine, OcrResult } from '../../src/types.js';

/**
 * Test doubles for the two expensive side effects. The fake embedder is still a real function of
 * the pixels (an 8x8 grey thumbnail, L2-normalised), so near-identical images get near vectors.
 */
export class ThumbnailEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension = 64;
  calls = 0;

  constructor(modelId = 'test-thumbnail-8x8') {
    this.modelId = modelId;
  }

  async embed(image: DecodedImage): Promise<Float32Array> {
    this.calls += 1;
    const grey = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .greyscale()
      .resize(8, 8, { fit: 'fill' })
      .raw()
      .toBuffer();
    const vector = Float32Array.from(grey, (v) => v / 255 - 0.5);
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  }

  async close(): Promise<void> {}
}

/** Returns the text registered for an image's size ("WxH"), else nothing. */
export class SizeKeyedOcr implements OcrEngine {
  readonly id = 'test-ocr';
  calls = 0;
  constructor(private readonly textBySize: Record<string, string> = {}) {}

  async recognize(image: DecodedImage): Promise<OcrResult> {
    this.calls += 1;
    const text = this.textBySize[`${image.width}x${image.height}`] ?? '';
    const lines = text
      ? [{ text, confidence: 90, box: { x: 0, y: 0, w: image.width, h: image.height }, orientation: 'horizontal' as const, language: 'eng', words: [] }]
      : [];
    return { text, lines };
  }

  async close(): Promise<void> {}
}

/** A PNG of seeded random blocks: distinct seeds give unrelated pictures. */
export async function blocksPng(seed: number, width = 64, height = 48): Promise<Buffer> {
  let state = seed * 2654435761 + 1;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const cells = 4;
  const data = Buffer.alloc(width * height * 3);
  const colours = Array.from({ length: cells * cells }, () => [random() * 255, random() * 255, random() * 255]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colours[Math.floor((y / height) * cells) * cells + Math.floor((x / width) * cells)]!;
      data.set(c.map(Math.round), (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * A comic-like page: white paper and, for each box, a panel with a 3-px black border around seeded
 * random blocks (darker than paper, so every line of a panel holds ink). `specks` puts a few
 * dark pixels in the gutters (scanner dust), which must not stop the page being cut there.
 */
export async function panelPagePng(seed: number, width: number, height: number, panels: readonly Box[], specks = 0): Promise<Buffer> {
  let state = seed * 2654435761 + 7;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const data = Buffer.alloc(width * height * 3, 255);
  const paint = (x: number, y: number, rgb: number[]) => data.set(rgb, (y * width + x) * 3);
  for (const panel of panels) {
    const cell = 20;
    const colours = new Map<number, number[]>();
    for (let y = panel.y; y < panel.y + panel.h; y++) {
      for (let x = panel.x; x < panel.x + panel.w; x++) {
        const border = x < panel.x + 3 || y < panel.y + 3 || x >= panel.x + panel.w - 3 || y >= panel.y + panel.h - 3;
        const key = Math.floor((y - panel.y) / cell) * 1000 + Math.floor((x - panel.x) / cell);
        if (!colours.has(key)) colours.set(key, [random() * 180, random() * 180, random() * 180].map(Math.round));
        paint(x, y, border ? [0, 0, 0] : colours.get(key)!);
      }
    }
  }
  for (let i = 0; i < specks; i++) {
    const x = Math.floor(random() * width);
    const y = Math.floor(random() * height);
    if (!panels.some((p) => x >= p.x && x < p.x + p.w && y >= p.y && y < p.y + p.h)) paint(x, y, [0, 0, 0]);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
