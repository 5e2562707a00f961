import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { isSagasuError } from '../../src/errors.js';
import { dot, l2Norm } from '../../src/embedding/pooling.js';
import { TfjsEmbedder } from '../../src/embedding/tfjs-embedder.js';
import { WorkerPoolEmbedder, defaultWorkerPoolEmbedderOptions } from '../../src/embedding/worker-pool-embedder.js';
import type { DecodedImage } from '../../src/types.js';
import { decoded, scenePng } from './synthetic-images.js';

// Real model in real worker threads, run from the compiled dist/ JS.

const crashingWorker = new URL('./crashing-embed-worker.js', import.meta.url);
const rejectsWith = (code: string, pattern?: RegExp) => (error: unknown) =>
  isSagasuError(error) && error.code === code && (pattern === undefined || pattern.test(error.message));

const magenta = async (): Promise<DecodedImage> =>
  decoded(await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 0, b: 255 } } }).png().toBuffer());

describe('constructor', () => {
  it('has the same model id and dimension as the in-process embedder', () => {
    const pool = new WorkerPoolEmbedder({ pooling: 'gem' });
    assert.equal(pool.modelId, new TfjsEmbedder({ pooling: 'gem' }).modelId);
    assert.equal(pool.dimension, 1280);
  });

  it('defaults to one worker per core, at most 4, and starts none before use', () => {
    assert.ok(defaultWorkerPoolEmbedderOptions.workers >= 1 && defaultWorkerPoolEmbedderOptions.workers <= 4);
    assert.equal(new WorkerPoolEmbedder().stats().workers, 0);
  });

  it('refuses a bad worker count with INVALID_OPTION', () => {
    assert.throws(() => new WorkerPoolEmbedder({ workers: 0 }), rejectsWith('INVALID_OPTION', /option "workers" must be a positive integer \(got 0\)/));
  });

  it('refuses a bad batch size with INVALID_OPTION', () => {
    assert.throws(() => new WorkerPoolEmbedder({ batchSize: 1.5 }), rejectsWith('INVALID_OPTION', /option "batchSize" must be a positive integer \(got 1.5\)/));
  });
});

describe('embed', () => {
  const pool = new WorkerPoolEmbedder({ workers: 2 });
  const images: DecodedImage[] = [];
  before(async () => {
    for (let seed = 1; seed <= 6; seed++) images.push(await decoded(await scenePng(seed)));
  });
  after(() => pool.close());

  it('starts every worker on the wasm backend', async () => {
    assert.equal(await pool.warmUp(), 'wasm');
    assert.deepEqual(pool.stats(), { workers: 2, readyWorkers: 2, busyWorkers: 0, queued: 0, restarts: 0, sent: 0 });
  });

  it('gives the same unit vectors as the in-process embedder, in call order', async () => {
    const inProcess = new TfjsEmbedder();
    const pooled = await Promise.all(images.map((image) => pool.embed(image)));
    for (let i = 0; i < images.length; i++) {
      assert.equal(pooled[i]!.length, 1280);
      assert.ok(Math.abs(l2Norm(pooled[i]!) - 1) < 1e-5);
      // Same code and weights; only float summation order may differ between threads.
      assert.ok(dot(pooled[i]!, await inProcess.embed(images[i]!)) > 0.99999, `image ${i}`);
    }
  });

  it('leaves the caller\'s pixel buffer usable (only a resized copy is transferred)', async () => {
    const image = images[0]!;
    const length = image.data.length;
    await pool.embed(image);
    assert.equal(image.data.length, length);
  });

  it('rejects a malformed image with EMBED_FAILED', async () => {
    await assert.rejects(pool.embed({ ...images[0]!, height: 1 }), rejectsWith('EMBED_FAILED', /not a decoded RGB image/));
  });
});

describe('embedMany', () => {
  const pool = new WorkerPoolEmbedder({ workers: 2, batchSize: 4 });
  const inProcess = new TfjsEmbedder();
  const images: DecodedImage[] = [];
  before(async () => {
    for (let seed = 1; seed <= 10; seed++) images.push(await decoded(await scenePng(seed)));
  });
  after(() => pool.close());

  it('gives each image the vector embed gives it, in order', async () => {
    const vectors = await pool.embedMany(images);
    assert.equal(vectors.length, images.length);
    for (let i = 0; i < images.length; i++) {
      assert.equal(vectors[i]!.length, 1280);
      // Batched or alone, the same arithmetic per image; only summation order may differ.
      assert.ok(dot(vectors[i]!, await inProcess.embed(images[i]!)) > 0.99999, `image ${i}`);
    }
  });

  it('sends batches of at most batchSize, fewer when that would leave a worker idle', async () => {
    let sent = pool.stats().sent;
    await pool.embedMany(images); // 10 images: 4 + 4 + 2
    assert.equal(pool.stats().sent - sent, 3);
    sent = pool.stats().sent;
    await pool.embedMany(images.slice(0, 4)); // 2 + 2, one batch per worker
    assert.equal(pool.stats().sent - sent, 2);
    sent = pool.stats().sent;
    await pool.embedMany(images.slice(0, 1));
    assert.equal(pool.stats().sent - sent, 1);
  });

  it('returns nothing for no images, without starting a job', async () => {
    const sent = pool.stats().sent;
    assert.deepEqual(await pool.embedMany([]), []);
    assert.equal(pool.stats().sent, sent);
  });

  it('rejects the call with EMBED_FAILED when one image is malformed', async () => {
    await assert.rejects(pool.embedMany([images[0]!, { ...images[1]!, height: 1 }]), rejectsWith('EMBED_FAILED', /not a decoded RGB image/));
  });

  it('fails the whole batch whose worker crashes, and the pool goes on', async () => {
    const crashing = new WorkerPoolEmbedder({ workers: 1, batchSize: 4, workerUrl: crashingWorker });
    try {
      // The double kills the thread when a job's first pixel is magenta: here the first batch.
      await assert.rejects(crashing.embedMany([await magenta(), images[0]!]), rejectsWith('EMBED_FAILED', /stopped while embedding/));
      assert.equal((await crashing.embedMany(images.slice(0, 2))).length, 2);
      assert.equal(crashing.stats().restarts, 1);
    } finally {
      await crashing.close();
    }
  });
});

describe('a crashing worker', () => {
  it('fails only its own job and is replaced', async () => {
    const pool = new WorkerPoolEmbedder({ workers: 1, workerUrl: crashingWorker });
    try {
      const good = await decoded(await scenePng(1));
      const results = await Promise.allSettled([pool.embed(good), pool.embed(await magenta()), pool.embed(good)]);
      assert.equal(results[0]!.status, 'fulfilled');
      assert.equal(results[1]!.status, 'rejected');
      assert.ok(rejectsWith('EMBED_FAILED', /the embedding worker stopped while embedding this image \(exit code 3\)/)((results[1] as PromiseRejectedResult).reason));
      assert.equal(results[2]!.status, 'fulfilled');
      assert.equal(pool.stats().restarts, 1);
    } finally {
      await pool.close();
    }
  });

  it('makes the pool give up after workers repeatedly fail to start', async () => {
    const pool = new WorkerPoolEmbedder({ workers: 1, workerUrl: new URL('./no-such-worker.js', import.meta.url), maxStartFailures: 2 });
    await assert.rejects(pool.embed(await magenta()), rejectsWith('EMBED_FAILED', /2 embedding workers in a row failed to start/));
    await assert.rejects(pool.embed(await magenta()), rejectsWith('EMBED_FAILED', /failed to start/));
    await pool.close();
  });
});

describe('timeoutMs', () => {
  it('fails a job that runs too long with TIMEOUT and replaces the worker', async () => {
    const pool = new WorkerPoolEmbedder({ workers: 1, timeoutMs: 1 });
    try {
      await pool.warmUp();
      await assert.rejects(pool.embed(await decoded(await scenePng(2))), rejectsWith('TIMEOUT', /longer than 1 ms/));
      await pool.warmUp();
      assert.equal(pool.stats().restarts, 1);
    } finally {
      await pool.close();
    }
  });
});

describe('close', () => {
  it('rejects queued jobs and later calls', async () => {
    const pool = new WorkerPoolEmbedder({ workers: 1 });
    const image = await decoded(await scenePng(4));
    const pending = assert.rejects(pool.embed(image), rejectsWith('EMBED_FAILED', /closed/));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await pending;
    await assert.rejects(pool.embed(image), rejectsWith('EMBED_FAILED', /closed/));
  });
});
