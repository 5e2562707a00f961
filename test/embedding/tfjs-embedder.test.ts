import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { isSagasuError } from '../../src/errors.js';
import { loadMobileNetV2, mobileNetV2LoadCount } from '../../src/embedding/mobilenet-v2.js';
import { dot, l2Norm } from '../../src/embedding/pooling.js';
import { TfjsEmbedder, defaultEmbedderOptions } from '../../src/embedding/tfjs-embedder.js';
import type { DecodedImage } from '../../src/types.js';
import { decoded, halfSizeJpeg, scenePng } from './synthetic-images.js';

// These tests run the real MobileNetV2 weights on the real wasm backend.

const rejectsWith = (code: string, pattern?: RegExp) => (error: unknown) =>
  isSagasuError(error) && error.code === code && (pattern === undefined || pattern.test(error.message));

describe('constructor', () => {
  it('names model, pooling, input size and preprocessing version in the model id', () => {
    assert.equal(new TfjsEmbedder().modelId, 'nsfwjs-mobilenet_v2@4.3.0/gap/224/p1');
    assert.equal(new TfjsEmbedder({ pooling: 'gem' }).modelId, 'nsfwjs-mobilenet_v2@4.3.0/gem3/224/p1');
    assert.equal(new TfjsEmbedder({ pooling: 'gem', gemPower: 4 }).modelId, 'nsfwjs-mobilenet_v2@4.3.0/gem4/224/p1');
  });

  it('has dimension 1280', () => {
    assert.equal(new TfjsEmbedder().dimension, 1280);
  });

  it('fills unset and undefined options from the exported defaults', () => {
    assert.deepEqual(defaultEmbedderOptions, { pooling: 'gap', gemPower: 3, backend: 'auto' });
    assert.deepEqual({ ...new TfjsEmbedder({ pooling: undefined }).options }, defaultEmbedderOptions);
  });

  it('refuses unknown options values with INVALID_OPTION', () => {
    assert.throws(() => new TfjsEmbedder({ pooling: 'max' as 'gap' }), rejectsWith('INVALID_OPTION', /option "pooling" must be "gap" or "gem"/));
    assert.throws(() => new TfjsEmbedder({ pooling: 'gem', gemPower: 0 }), rejectsWith('INVALID_OPTION', /option "gemPower"/));
    assert.throws(() => new TfjsEmbedder({ backend: 'webgl' as 'wasm' }), rejectsWith('INVALID_OPTION', /option "backend"/));
  });
});

describe('warmUp', () => {
  it('runs on the wasm backend on this machine (tfjs-node is not installed)', async () => {
    const listeners = process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;
    assert.equal(await new TfjsEmbedder().warmUp(), 'wasm');
    // The emscripten glue adds rethrowing process handlers; the runtime removes them.
    assert.equal(process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length, listeners);
  });

  it('loads the model once for every embedder of the thread', async () => {
    const a = new TfjsEmbedder();
    const b = new TfjsEmbedder({ pooling: 'gem' });
    await Promise.all([a.warmUp(), b.warmUp()]);
    assert.equal(mobileNetV2LoadCount(), 1);
    assert.equal(await loadMobileNetV2(), await loadMobileNetV2('wasm'));
  });

  it('refuses to switch an initialised thread to another backend', async () => {
    await assert.rejects(new TfjsEmbedder({ backend: 'cpu' }).warmUp(), rejectsWith('INVALID_OPTION', /already runs on the "wasm" backend/));
  });
});

describe('embed', () => {
  const embedder = new TfjsEmbedder();
  const scenes: DecodedImage[] = [];
  const copies: DecodedImage[] = [];
  before(async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const png = await scenePng(seed);
      scenes.push(await decoded(png));
      copies.push(await decoded(await halfSizeJpeg(png)));
    }
  });

  it('returns 1280 values with norm 1', async () => {
    const vector = await embedder.embed(scenes[0]!);
    assert.ok(vector instanceof Float32Array);
    assert.equal(vector.length, 1280);
    assert.ok(Math.abs(l2Norm(vector) - 1) < 1e-5, `norm ${l2Norm(vector)}`);
  });

  it('gives identical vectors for the same image', async () => {
    assert.deepEqual(await embedder.embed(scenes[1]!), await embedder.embed(scenes[1]!));
  });

  it('puts a half-size JPEG copy near its original, nearer than to any other picture', async () => {
    const originals = await Promise.all(scenes.map((image) => embedder.embed(image)));
    for (let i = 0; i < copies.length; i++) {
      const copy = await embedder.embed(copies[i]!);
      const own = dot(copy, originals[i]!);
      assert.ok(own > SELF_SIMILARITY, `scene ${i + 1}: cosine to its original ${own.toFixed(4)}`);
      originals.forEach((other, j) => {
        if (j !== i) assert.ok(dot(copy, other) < own, `scene ${i + 1} is nearer to scene ${j + 1} (${dot(copy, other).toFixed(4)} >= ${own.toFixed(4)})`);
      });
    }
  });

  it('gives unit vectors with GeM pooling too, different from average pooling', async () => {
    const gem = await new TfjsEmbedder({ pooling: 'gem' }).embed(scenes[2]!);
    const gap = await embedder.embed(scenes[2]!);
    assert.ok(Math.abs(l2Norm(gem) - 1) < 1e-5);
    const cosine = dot(gem, gap);
    assert.ok(cosine < 0.9999 && cosine > 0.8, `cosine GeM/GAP ${cosine}`);
  });

  it('handles tiny and very elongated images', async () => {
    for (const [width, height] of [[1, 1], [3000, 8], [8, 3000]] as const) {
      const png = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
      const vector = await embedder.embed(await decoded(png));
      assert.ok(Math.abs(l2Norm(vector) - 1) < 1e-5, `${width}x${height}`);
    }
  });

  it('rejects an image whose buffer does not match its size with EMBED_FAILED', async () => {
    const bad = { ...scenes[0]!, width: scenes[0]!.width + 1 };
    await assert.rejects(embedder.embed(bad), rejectsWith('EMBED_FAILED', /not a decoded RGB image: 641x480x3/));
  });

  it('does not leak tensors over 200 calls', async () => {
    const { tf } = (await loadMobileNetV2()).runtime;
    const small = await decoded(await sharp(await scenePng(9)).resize(96).png().toBuffer());
    await embedder.embed(small);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 200; i++) await embedder.embed(small);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
  });
});

describe('embedMany', () => {
  const embedder = new TfjsEmbedder();

  it('gives each image the vector embed gives it, in order, across batches of 4', async () => {
    const scenes = await Promise.all([1, 2, 3, 4, 5, 6].map(async (seed) => decoded(await scenePng(seed))));
    const vectors = await embedder.embedMany(scenes);
    assert.equal(vectors.length, 6);
    for (let i = 0; i < scenes.length; i++) {
      assert.ok(Math.abs(l2Norm(vectors[i]!) - 1) < 1e-5);
      assert.ok(dot(vectors[i]!, await embedder.embed(scenes[i]!)) > 0.99999, `scene ${i + 1}`);
    }
  });

  it('returns nothing for no images', async () => {
    assert.deepEqual(await embedder.embedMany([]), []);
  });

  it('rejects with EMBED_FAILED when one image is malformed', async () => {
    const good = await decoded(await scenePng(1));
    await assert.rejects(embedder.embedMany([good, { ...good, width: good.width + 1 }]), rejectsWith('EMBED_FAILED', /not a decoded RGB image/));
  });
});

describe('close', () => {
  it('makes later embeds reject, without unloading the shared model', async () => {
    const closing = new TfjsEmbedder();
    await closing.close();
    await assert.rejects(closing.embed({} as DecodedImage), rejectsWith('EMBED_FAILED', /closed/));
    const other = new TfjsEmbedder();
    assert.equal((await other.embed(await decoded(await scenePng(3)))).length, 1280);
  });
});

/** Measured: 0.875-0.936 between a synthetic scene and its half-size q70 JPEG copy (8 seeds); 0.8 leaves a margin. */
const SELF_SIMILARITY = 0.8;
