import sharp from 'sharp';
import type { DecodedImage, Embedder, OcrEngine, OcrResult } from '../../src/types.js';

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
