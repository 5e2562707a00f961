import sharp from 'sharp';
import { expandPaths } from '../src/sagasu.js';

/**
 * The first `limit` images under `folder`, each resized to about `megapixels` (0: as they are) and
 * re-encoded as JPEG q90, as the per-step benchmarks feed them to the engine.
 */
export async function benchImages(folder: string, limit: number, megapixels: number): Promise<Buffer[]> {
  const files = (await expandPaths([folder])).slice(0, limit);
  if (files.length === 0) throw new Error(`no images under ${folder}`);
  const inputs: Buffer[] = [];
  for (const file of files) {
    const { width = 1, height = 1 } = await sharp(file).metadata();
    const scale = megapixels > 0 ? Math.sqrt((megapixels * 1e6) / (width * height)) : 1;
    inputs.push(await sharp(file).resize(Math.round(width * scale), Math.round(height * scale)).jpeg({ quality: 90 }).toBuffer());
  }
  return inputs;
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
