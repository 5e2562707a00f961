/**
 * The two halves of one embedding, split so the worker pool can run the first in the main
 * thread (sharp works on libuv's pool, off the event loop) and send only the small result to
 * a worker for the second.
 */
import type { Tensor } from '@tensorflow/tfjs';
import sharp from 'sharp';
import { SagasuError } from '../errors.js';
import type { DecodedImage } from '../types.js';
import {
  MOBILENET_V2_CHANNELS,
  MOBILENET_V2_INPUT_SIZE,
  MOBILENET_V2_POSITIONS,
  type FeatureModel,
} from './mobilenet-v2.js';
import { averagePool, gemPool, l2Norm, l2Normalize } from './pooling.js';

/**
 * How the 7x7x1280 conv map becomes one vector.
 * - `'gap'`: global average pooling, the network's own `flatten_1` feature.
 * - `'gem'`: generalised-mean pooling with power `gemPower` (default 3), which weights the
 *   strongest local responses more.
 */
export type Pooling = 'gap' | 'gem';

/**
 * Bumped whenever resizing, blurring or scaling changes, so vectors made the old way are refused.
 * Version 1: stretch to 224x224 with lanczos3, Gaussian blur sigma 0.7, values / 255.
 */
export const PREPROCESSING_VERSION = 1;

/**
 * Gaussian blur applied at 224 px. The network reacts strongly to JPEG block edges once an image
 * is small enough that they survive the resize (a quarter-size q70 copy of a manga page: cosine
 * 0.94, recall@1 91% among 155 images); sigma 0.7 removes most of that (97%) and helped half-area
 * crops (41% -> 54%), at a small cost on single panels (15% -> 12%). Measured on shared/eval.
 */
export const PREPROCESSING_BLUR_SIGMA = 0.7;

export interface PoolingSpec {
  readonly pooling: Pooling;
  readonly gemPower: number;
}

export function validatePooling(spec: PoolingSpec): void {
  if (spec.pooling !== 'gap' && spec.pooling !== 'gem') {
    throw new SagasuError('INVALID_OPTION', `option "pooling" must be "gap" or "gem" (got ${String(spec.pooling)})`);
  }
  if (spec.pooling === 'gem' && !(Number.isFinite(spec.gemPower) && spec.gemPower > 0)) {
    throw new SagasuError('INVALID_OPTION', `option "gemPower" must be a positive number (got ${String(spec.gemPower)})`);
  }
}

/** E.g. `nsfwjs-mobilenet_v2@4.3.0/gap/224/p1` or `nsfwjs-mobilenet_v2@4.3.0/gem3/224/p1`. */
export function mobileNetV2ModelId(weightsVersion: string, spec: PoolingSpec): string {
  const pooling = spec.pooling === 'gem' ? `gem${spec.gemPower}` : 'gap';
  return `nsfwjs-mobilenet_v2@${weightsVersion}/${pooling}/${MOBILENET_V2_INPUT_SIZE}/p${PREPROCESSING_VERSION}`;
}

/**
 * Resizes a decoded image to the network's 224x224 RGB input. The whole image is stretched
 * (no crop), as nsfwjs does, so that nothing of a picture is lost and a copy at another size
 * maps to nearly the same pixels; sharp's lanczos3 filters aliasing that tf's bilinear resize keeps,
 * and a light blur ({@link PREPROCESSING_BLUR_SIGMA}) hides JPEG blocking.
 */
export async function resizeForModel(image: DecodedImage): Promise<Uint8Array> {
  const { data, width, height, channels } = image;
  if (channels !== 3 || !Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || data.length !== width * height * 3) {
    throw new SagasuError('EMBED_FAILED', `not a decoded RGB image: ${width}x${height}x${channels} with ${data.length} bytes`);
  }
  const size = MOBILENET_V2_INPUT_SIZE;
  const resized = await sharp(data, { raw: { width, height, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .blur(PREPROCESSING_BLUR_SIGMA) // sharp applies it after the resize
    .raw()
    .toBuffer();
  if (resized.length !== size * size * 3) {
    throw new SagasuError('EMBED_FAILED', `resizing gave ${resized.length} bytes instead of ${size * size * 3}`);
  }
  // A fresh, exactly-sized buffer: it can be transferred to a worker without detaching anything else.
  return new Uint8Array(resized);
}

/** Resized images (or vectors) laid end to end, as one buffer: the shape of a batch. */
export function joinEndToEnd<T extends Uint8Array | Float32Array>(parts: readonly T[], make: (length: number) => T): T {
  const joined = make(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * Runs the network on 224x224 RGB pixels and pools its last conv map into a unit vector.
 * Every intermediate tensor is freed (tidy + dispose).
 */
export async function featuresFromPixels(features: FeatureModel, pixels: Uint8Array, spec: PoolingSpec): Promise<Float32Array> {
  return (await featuresFromPixelBatch(features, pixels, 1, spec))[0]!;
}

/**
 * The same for `count` images laid end to end in `pixels`, in one prediction: on wasm a batch of
 * 4 costs ~48 ms per image against ~61 alone (`node dist/bench/embed-batch.js`), as the
 * backend's per-call and per-layer overheads are paid once.
 */
export async function featuresFromPixelBatch(features: FeatureModel, pixels: Uint8Array, count: number, spec: PoolingSpec): Promise<Float32Array[]> {
  const { tf } = features.runtime;
  const size = MOBILENET_V2_INPUT_SIZE;
  const perImage = size * size * 3;
  if (!Number.isInteger(count) || count < 1 || pixels.length !== count * perImage) {
    throw new SagasuError('EMBED_FAILED', `expected ${count} x ${perImage} bytes of 224x224 RGB, got ${pixels.length}`);
  }
  // nsfwjs feeds pixel values scaled to [0, 1]: the fine-tuned weights expect that range.
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = pixels[i]! / 255;
  const output = tf.tidy(() => features.model.predict(tf.tensor4d(scaled, [count, size, size, 3], 'float32')) as Tensor);
  let maps: Float32Array;
  try {
    maps = (await output.data()) as Float32Array;
  } finally {
    output.dispose();
  }
  const mapLength = MOBILENET_V2_POSITIONS * MOBILENET_V2_CHANNELS;
  const vectors: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const map = maps.subarray(i * mapLength, (i + 1) * mapLength);
    const pooled =
      spec.pooling === 'gem'
        ? gemPool(map, MOBILENET_V2_POSITIONS, MOBILENET_V2_CHANNELS, spec.gemPower)
        : averagePool(map, MOBILENET_V2_POSITIONS, MOBILENET_V2_CHANNELS);
    const norm = l2Norm(pooled);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new SagasuError('EMBED_FAILED', `the network gave a feature vector with norm ${norm}`);
    }
    vectors.push(l2Normalize(pooled));
  }
  return vectors;
}
