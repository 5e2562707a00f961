import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SagasuError } from '../../src/errors.js';
import { Pca } from '../../src/indexes/pca.js';
import { QuantizedVectors, readQuantizedSnapshotInWorker } from '../../src/indexes/quantized-vectors.js';
import { seededRandom } from '../../src/random.js';
import { scratchDir } from '../helpers/scratch.js';

/** Vectors like embeddings: a large shared mean plus small differences, normalised. */
function collection(count: number, dimension: number, seed = 7): Float32Array[] {
  const random = seededRandom(seed);
  const mean = Float32Array.from({ length: dimension }, () => 0.5 + random());
  return Array.from({ length: count }, () => {
    const v = mean.map((m) => m + 0.3 * (random() - 0.5));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

/** A PCA of the collection, as the reduced vector index holds. */
const pcaOf = (vectors: Float32Array[], dimension = 4) => Pca.fit(vectors, { dimension });

const cosine = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s / (Math.hypot(...a) * Math.hypot(...b));
};

describe('QuantizedVectors.similarities', () => {
  it('is exact while it holds fewer vectors than its sample', () => {
    const vectors = collection(10, 16);
    const copy = new QuantizedVectors(pcaOf(vectors), { samples: 20 });
    vectors.forEach((vector, id) => copy.add(id, vector));
    const found = copy.similarities(vectors[3]!, [0, 3, 9, 42]);
    assert.deepEqual([...found.keys()], [0, 3, 9]);
    for (const id of [0, 3, 9]) assert.ok(Math.abs(found.get(id)! - cosine(vectors[3]!, vectors[id]!)) < 1e-6);
  });

  it('approximates cosine within 0.001 once quantized, and keeps the order of neighbours', () => {
    const vectors = collection(300, 64);
    const copy = new QuantizedVectors(pcaOf(vectors, 8), { samples: 100, blockRows: 64 });
    vectors.forEach((vector, id) => copy.add(id, vector));
    assert.equal(copy.count, 300);
    // 5 blocks of 64 rows; a row: 64 codes, 7 half-float coordinates, a float32 norm.
    assert.equal(copy.bytes, 5 * 64 * (64 + 14 + 4));
    const ids = vectors.map((_, id) => id);
    let worst = 0;
    for (const q of [0, 57, 150, 299]) {
      const found = copy.similarities(vectors[q]!, ids);
      for (const id of ids) worst = Math.max(worst, Math.abs(found.get(id)! - cosine(vectors[q]!, vectors[id]!)));
      const byCopy = ids.sort((a, b) => found.get(b)! - found.get(a)!).slice(0, 5);
      const exact = [...ids].sort((a, b) => cosine(vectors[q]!, vectors[b]!) - cosine(vectors[q]!, vectors[a]!)).slice(0, 5);
      assert.deepEqual(byCopy, exact);
    }
    assert.ok(worst < 0.001, `largest error ${worst}`);
  });

  it('refuses a vector of another length', () => {
    assert.throws(
      () => new QuantizedVectors(pcaOf(collection(10, 4), 2)).add(1, new Float32Array(3)),
      (error: unknown) => error instanceof SagasuError && error.code === 'MODEL_MISMATCH',
    );
  });
});

describe('QuantizedVectors.add and remove', () => {
  it('replaces an id, forgets a removed one and reuses its room', () => {
    const vectors = collection(40, 8);
    const copy = new QuantizedVectors(pcaOf(vectors), { samples: 10, blockRows: 16 });
    vectors.slice(0, 30).forEach((vector, id) => copy.add(id, vector));
    copy.add(5, vectors[35]!);
    assert.ok(Math.abs(copy.similarities(vectors[35]!, [5]).get(5)! - 1) < 1e-3);
    assert.equal(copy.remove(5), true);
    assert.equal(copy.remove(5), false);
    assert.equal(copy.has(5), false);
    const bytes = copy.bytes;
    copy.add(100, vectors[36]!);
    assert.equal(copy.bytes, bytes);
    assert.deepEqual([copy.count, copy.has(100)], [30, true]);
    copy.clear();
    assert.deepEqual([copy.count, copy.bytes], [0, 0]);
  });
});

describe('QuantizedVectors.save and load', () => {
  it('round-trips a quantized copy with holes across blocks, giving the same similarities', () => {
    const dir = scratchDir('sagasu-q8-');
    const vectors = collection(50, 12);
    const pca = pcaOf(vectors);
    const copy = new QuantizedVectors(pca, { samples: 10, blockRows: 8 });
    vectors.forEach((vector, id) => copy.add(id + 1, vector));
    for (const id of [3, 17, 40]) copy.remove(id);
    copy.save(join(dir, 'copy.q8'));
    const loaded = QuantizedVectors.load(join(dir, 'copy.q8'), pca, { blockRows: 8 })!;
    assert.equal(loaded.count, 47);
    const ids = Array.from({ length: 52 }, (_, i) => i);
    assert.deepEqual([...loaded.similarities(vectors[9]!, ids)], [...copy.similarities(vectors[9]!, ids)]);
    assert.deepEqual(loaded.decoded(20), copy.decoded(20));
    // Rows added after a load go into the loaded blocks' free room and new blocks.
    loaded.add(100, vectors[0]!);
    loaded.add(101, vectors[1]!);
    assert.ok(Math.abs(loaded.similarities(vectors[1]!, [101]).get(101)! - 1) < 1e-3);
    assert.deepEqual(loaded.similarities(vectors[9]!, [10]), copy.similarities(vectors[9]!, [10]));
  });

  it('round-trips a copy still held as float32', () => {
    const dir = scratchDir('sagasu-q8-');
    const vectors = collection(5, 6);
    const pca = pcaOf(vectors, 3);
    const copy = new QuantizedVectors(pca);
    vectors.forEach((vector, id) => copy.add(id, vector));
    copy.save(join(dir, 'copy.q8'));
    const loaded = QuantizedVectors.load(join(dir, 'copy.q8'), pca)!;
    assert.deepEqual(loaded.decoded(4), vectors[4]);
    assert.equal(loaded.count, 5);
  });

  it('reads a snapshot in a worker thread into shared memory, giving the copy load gives', async () => {
    const dir = scratchDir('sagasu-q8-');
    const vectors = collection(50, 12);
    const pca = pcaOf(vectors);
    const copy = new QuantizedVectors(pca, { samples: 10, blockRows: 8 });
    vectors.forEach((vector, id) => copy.add(id + 1, vector));
    copy.remove(17);
    copy.save(join(dir, 'copy.q8'));
    const snapshot = (await readQuantizedSnapshotInWorker(join(dir, 'copy.q8'), 8).snapshot)!;
    assert.ok(snapshot.codes.every((block) => block.buffer instanceof SharedArrayBuffer));
    const fromWorker = QuantizedVectors.fromSnapshot(snapshot, pca, { blockRows: 8 })!;
    const loaded = QuantizedVectors.load(join(dir, 'copy.q8'), pca, { blockRows: 8 })!;
    const ids = Array.from({ length: 52 }, (_, i) => i);
    assert.deepEqual([...fromWorker.similarities(vectors[9]!, ids)], [...loaded.similarities(vectors[9]!, ids)]);
    fromWorker.add(100, vectors[0]!);
    assert.ok(Math.abs(fromWorker.similarities(vectors[0]!, [100]).get(100)! - 1) < 1e-3);
    // Another block size than the snapshot was read with: refused, not misread.
    assert.equal(QuantizedVectors.fromSnapshot(snapshot, pca, { blockRows: 16 }), undefined);
    assert.equal(await readQuantizedSnapshotInWorker(join(dir, 'none.q8')).snapshot, undefined);
    writeFileSync(join(dir, 'bad.q8'), 'not a copy of anything');
    assert.equal(await readQuantizedSnapshotInWorker(join(dir, 'bad.q8')).snapshot, undefined);
  });

  it('returns undefined for a missing, damaged, truncated or other-PCA file', () => {
    const dir = scratchDir('sagasu-q8-');
    const vectors = collection(5, 6);
    const pca = pcaOf(vectors, 3);
    const copy = new QuantizedVectors(pca, { samples: 2 });
    vectors.forEach((vector, id) => copy.add(id, vector));
    copy.save(join(dir, 'copy.q8'));
    assert.equal(QuantizedVectors.load(join(dir, 'copy.q8'), pca)?.count, 5);
    assert.equal(QuantizedVectors.load(join(dir, 'none.q8'), pca), undefined);
    assert.equal(QuantizedVectors.load(join(dir, 'copy.q8'), pcaOf(vectors, 4)), undefined);
    assert.equal(QuantizedVectors.load(join(dir, 'copy.q8'), pcaOf(collection(5, 7), 3)), undefined);
    writeFileSync(join(dir, 'short.q8'), readFileSync(join(dir, 'copy.q8')).subarray(0, 60));
    assert.equal(QuantizedVectors.load(join(dir, 'short.q8'), pca), undefined);
    writeFileSync(join(dir, 'bad.q8'), 'not a copy of anything');
    assert.equal(QuantizedVectors.load(join(dir, 'bad.q8'), pca), undefined);
  });
});
