import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SagasuError } from '../../src/errors.js';
import { VectorIndex } from '../../src/indexes/vector-index.js';

const unit = (...values: number[]) => {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
};

describe('VectorIndex.search', () => {
  it('returns the nearest vectors by cosine similarity, best first', () => {
    const index = new VectorIndex('m', 3);
    index.add(10, unit(1, 0, 0));
    index.add(20, unit(0, 1, 0));
    index.add(30, unit(1, 1, 0));
    const hits = index.search(unit(1, 0.1, 0), 3);
    assert.deepEqual(hits.map((hit) => hit.id), [10, 30, 20]);
    assert.ok(Math.abs(hits[0]!.similarity - unit(1, 0.1, 0)[0]!) < 1e-5);
  });

  it('asks for no more neighbours than it holds, and applies a filter', () => {
    const index = new VectorIndex('m', 2);
    assert.deepEqual(index.search(unit(1, 0), 5), []);
    index.add(1, unit(1, 0));
    index.add(2, unit(0, 1));
    assert.equal(index.search(unit(1, 0), 5).length, 2);
    assert.deepEqual(index.search(unit(1, 0), 5, (id) => id === 2).map((hit) => hit.id), [2]);
  });

  it('grows past its initial capacity', () => {
    const index = new VectorIndex('m', 4, { initialCapacity: 8 });
    for (let id = 1; id <= 100; id++) index.add(id, unit(Math.cos(id), Math.sin(id), id % 7, 1));
    assert.equal(index.count, 100);
    assert.equal(index.search(unit(Math.cos(50), Math.sin(50), 50 % 7, 1), 1)[0]?.id, 50);
  });
});

describe('VectorIndex.add and remove', () => {
  it('removes ids from results and re-adds them with a new vector', () => {
    const index = new VectorIndex('m', 2);
    index.add(1, unit(1, 0));
    index.add(2, unit(0, 1));
    assert.equal(index.remove(1), true);
    assert.equal(index.remove(1), false);
    assert.deepEqual(index.search(unit(1, 0), 2).map((hit) => hit.id), [2]);
    index.add(1, unit(0, 1));
    index.add(2, unit(1, 0));
    assert.deepEqual(index.search(unit(1, 0), 2).map((hit) => hit.id), [2, 1]);
  });

  it('refuses a vector of the wrong dimension', () => {
    const index = new VectorIndex('m', 3);
    assert.throws(() => index.add(1, unit(1, 0)), (error: unknown) => error instanceof SagasuError && error.code === 'MODEL_MISMATCH');
  });
});

describe('VectorIndex.save and load', () => {
  it('round-trips points, deletions and the change sequence, keeping one graph file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sagasu-vec-'));
    const index = new VectorIndex('model-a', 2);
    index.add(1, unit(1, 0));
    index.add(2, unit(0, 1));
    index.remove(2);
    index.seq = 7;
    index.save(join(dir, 'vectors'));
    index.seq = 8;
    index.save(join(dir, 'vectors'));
    assert.deepEqual(readdirSync(dir).sort(), ['vectors.8.hnsw', 'vectors.json']);
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'model-a', 2)!;
    assert.equal(loaded.seq, 8);
    assert.equal(loaded.count, 1);
    assert.deepEqual(loaded.search(unit(0, 1), 2).map((hit) => hit.id), [1]);
  });

  it('refuses a snapshot built with another model or dimension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sagasu-vec-'));
    const index = new VectorIndex('model-a', 2);
    index.add(1, unit(1, 0));
    index.save(join(dir, 'vectors'));
    for (const [model, dimension] of [['model-b', 2], ['model-a', 3]] as const) {
      assert.throws(
        () => VectorIndex.load(join(dir, 'vectors'), model, dimension),
        (error: unknown) =>
          error instanceof SagasuError &&
          error.code === 'MODEL_MISMATCH' &&
          error.message.includes('was built with model "model-a" (2-d)'),
      );
    }
  });

  it('returns undefined when there is no snapshot', () => {
    assert.equal(VectorIndex.load(join(mkdtempSync(join(tmpdir(), 'sagasu-vec-')), 'vectors'), 'm', 2), undefined);
  });
});
