import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SagasuError } from '../../src/errors.js';
import { Pca } from '../../src/indexes/pca.js';
import { VectorIndex, autoEfSearch } from '../../src/indexes/vector-index.js';
import { scratchDir } from '../helpers/scratch.js';

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

describe('VectorIndex.efSearch', () => {
  it('grows with the collection by default, and is the given number otherwise', () => {
    assert.deepEqual([1, 20_000, 20_001, 200_000, 200_001, 1_000_000].map(autoEfSearch), [64, 64, 128, 128, 256, 256]);
    const auto = new VectorIndex('m', 2);
    auto.add(1, unit(1, 0));
    assert.equal(auto.efSearch, 64);
    assert.equal(new VectorIndex('m', 2, { efSearch: 300 }).efSearch, 300);
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
    const dir = scratchDir('sagasu-vec-');
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
    const dir = scratchDir('sagasu-vec-');
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
    assert.equal(VectorIndex.load(join(scratchDir('sagasu-vec-'), 'vectors'), 'm', 2), undefined);
  });
});

// Vectors in 6-d on a circle in the span of the first three axes, gaps shrinking (no ties), so
// a PCA to 4 stored values (3 components + the mean coordinate) keeps their neighbours exactly.
const inSpan = (id: number) => {
  const t = 0.8 * Math.sqrt(id);
  return unit(Math.cos(t), Math.sin(t), 1.5, 0, 0, 0);
};
const neighbours = (index: VectorIndex, id: number) => index.search(inSpan(id), 3).map((hit) => hit.id);

describe('VectorIndex with reduction', () => {
  it('holds full vectors until fitAfter are live, then fits a PCA and keeps finding the same neighbours', () => {
    const full = new VectorIndex('m', 6);
    const reduced = new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 30 } });
    for (let id = 1; id <= 29; id++) {
      full.add(id, inSpan(id));
      reduced.add(id, inSpan(id));
    }
    assert.equal(reduced.storedDimension, 6);
    assert.equal(reduced.pca, undefined);
    for (let id = 30; id <= 60; id++) {
      full.add(id, inSpan(id));
      reduced.add(id, inSpan(id));
    }
    assert.equal(reduced.storedDimension, 4);
    assert.equal(reduced.pca!.samples, 30);
    assert.equal(reduced.count, 60);
    for (let id = 1; id <= 60; id++) assert.deepEqual(neighbours(reduced, id), neighbours(full, id));
    assert.ok(Math.abs(reduced.search(inSpan(7), 1)[0]!.similarity - 1) < 1e-5);
  });

  it('projects from the first vector with a PCA given beforehand, and forgets only a learned one on clear', () => {
    const pca = Pca.fit(Array.from({ length: 40 }, (_, id) => inSpan(id)), { dimension: 4 });
    const index = new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 1, pca } });
    assert.equal(index.storedDimension, 4);
    index.add(1, inSpan(1));
    index.add(2, inSpan(2));
    assert.deepEqual(index.search(inSpan(2), 2).map((hit) => hit.id), [2, 1]);
    index.clear();
    assert.equal(index.pca, pca);
    const learning = new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 2 } });
    learning.add(1, inSpan(1));
    learning.add(2, inSpan(2));
    assert.equal(learning.storedDimension, 4);
    learning.clear();
    assert.equal(learning.storedDimension, 6);
  });

  it('refuses a bad reduction setting, a PCA that does not match it, and queries of another length', () => {
    const message = (text: string) => (error: unknown) => error instanceof SagasuError && error.message === `sagasu: ${text}`;
    assert.throws(() => new VectorIndex('m', 6, { reduction: { dimension: 6, fitAfter: 10 } }), message('option "reduction.dimension" must be an integer from 2 to 5 (got 6)'));
    assert.throws(() => new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 0 } }), message('option "reduction.fitAfter" must be a positive integer (got 0)'));
    const pca = Pca.fit(Array.from({ length: 40 }, (_, id) => inSpan(id)), { dimension: 3 });
    assert.throws(
      () => new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 1, pca } }),
      message('the PCA (6-d to 3-d) does not match the reduction setting (6-d to 4-d)'),
    );
    const index = new VectorIndex('m', 6, { reduction: { dimension: 3, fitAfter: 1, pca } });
    assert.throws(() => index.search(unit(1, 0), 1), message('a 2-d query cannot search a 6-d index'));
  });
});

describe('VectorIndex.search on a reduced index with full vectors', () => {
  // Four groups far apart on the first two axes; inside a group the vectors differ only on the
  // last two axes, which a PCA to 2 values drops: only the full vectors can rank a group's members.
  const vectorOf = (id: number) => {
    const t = (Math.floor(id / 5) * Math.PI) / 2;
    return unit(Math.cos(t), Math.sin(t), 0, 0, 0.3 * Math.cos(id ** 1.5), 0.3 * Math.sin(id ** 1.5));
  };
  const ids = Array.from({ length: 20 }, (_, i) => i);
  const full = new Map(ids.map((id) => [id, vectorOf(id)]));
  const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);
  const exactOrder = (query: Float32Array, k: number) =>
    ids.map((id) => ({ id, s: cosine(query, full.get(id)!) })).sort((a, b) => b.s - a.s).slice(0, k).map((x) => x.id);

  it('re-scores its candidates on the full vectors, giving the exact order and similarities', () => {
    const index = new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20 } });
    for (const id of ids) index.add(id, vectorOf(id));
    assert.equal(index.reduced, true);
    for (const id of [2, 7, 13, 16]) {
      const hits = index.search(vectorOf(id), 5, undefined, (wanted) => new Map(wanted.map((candidate) => [candidate, full.get(candidate)!])));
      assert.deepEqual(hits.map((hit) => hit.id), exactOrder(vectorOf(id), 5));
      assert.ok(Math.abs(hits[0]!.similarity - 1) < 1e-5);
    }
    // Without the full vectors the reduced similarities cannot tell a group's members apart.
    const fromStore = new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20, rerankFrom: 'store' } });
    for (const id of ids) fromStore.add(id, vectorOf(id));
    const reducedOnly = fromStore.search(vectorOf(7), 5);
    assert.deepEqual(new Set(reducedOnly.map((hit) => hit.id)), new Set([5, 6, 7, 8, 9]));
    assert.ok(reducedOnly.every((hit) => hit.similarity > 0.999));
  });

  it('re-scores on its in-memory copy of the full vectors when given none', () => {
    const index = new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20 } });
    for (const id of ids) index.add(id, vectorOf(id));
    for (const id of [2, 7, 13, 16]) {
      const hits = index.search(vectorOf(id), 5, undefined, () => assert.fail('the store is not read when the copy holds every candidate'));
      assert.deepEqual(hits.map((hit) => hit.id), exactOrder(vectorOf(id), 5));
      assert.ok(Math.abs(hits[0]!.similarity - 1) < 1e-5);
    }
    // A removed id leaves the copy with the graph.
    index.remove(7);
    assert.deepEqual(index.search(vectorOf(7), 4).map((hit) => hit.id), exactOrder(vectorOf(7), 5).filter((id) => id !== 7));
  });

  it('keeps the reduced score of a candidate whose full vector is missing, and refuses a bad rerank setting', () => {
    const index = new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20, rerank: 20, rerankFrom: 'store' } });
    for (const id of ids) index.add(id, vectorOf(id));
    const hits = index.search(vectorOf(7), 5, undefined, (wanted) => new Map(wanted.filter((candidate) => candidate !== 7).map((candidate) => [candidate, full.get(candidate)!])));
    assert.equal(hits.length, 5);
    assert.ok(hits.some((hit) => hit.id === 7));
    assert.throws(
      () => new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20, rerank: 0 } }),
      (error: unknown) => error instanceof SagasuError && error.message === 'sagasu: option "reduction.rerank" must be a positive integer (got 0)',
    );
    assert.throws(
      () => new VectorIndex('m', 6, { reduction: { dimension: 2, fitAfter: 20, rerankFrom: 'disk' as 'store' } }),
      (error: unknown) => error instanceof SagasuError && error.message === 'sagasu: option "reduction.rerankFrom" must be "memory" or "store" (got disk)',
    );
  });
});

describe('VectorIndex.save and load with reduction', () => {
  const build = () => {
    const index = new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 20 } });
    for (let id = 1; id <= 40; id++) index.add(id, inSpan(id));
    return index;
  };

  it('saves the PCA beside the graph, keeps one of each, and loads in the same space', () => {
    const dir = scratchDir('sagasu-vec-');
    const index = build();
    index.seq = 3;
    index.save(join(dir, 'vectors'));
    index.seq = 4;
    index.save(join(dir, 'vectors'));
    assert.deepEqual(readdirSync(dir).sort(), ['vectors.4.hnsw', 'vectors.4.pca', 'vectors.4.q8', 'vectors.json']);
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'm', 6, { reduction: { dimension: 4, fitAfter: 20 } })!;
    assert.equal(loaded.storedDimension, 4);
    assert.deepEqual(loaded.pca!.toBuffer(), index.pca!.toBuffer());
    for (let id = 1; id <= 40; id += 7) assert.deepEqual(neighbours(loaded, id), neighbours(index, id));
    assert.deepEqual(loaded.idsWithoutFullVector(), []);
    VectorIndex.remove(join(dir, 'vectors'));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('loads a snapshot saved before the fit, and fits when enough vectors arrive', () => {
    const dir = scratchDir('sagasu-vec-');
    const index = new VectorIndex('m', 6, { reduction: { dimension: 4, fitAfter: 20 } });
    for (let id = 1; id <= 10; id++) index.add(id, inSpan(id));
    index.save(join(dir, 'vectors'));
    assert.deepEqual(readdirSync(dir).sort(), ['vectors.0.hnsw', 'vectors.json']);
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'm', 6, { reduction: { dimension: 4, fitAfter: 20 } })!;
    assert.equal(loaded.storedDimension, 6);
    for (let id = 11; id <= 20; id++) loaded.add(id, inSpan(id));
    assert.equal(loaded.storedDimension, 4);
    assert.equal(loaded.pca!.samples, 20);
    assert.deepEqual(neighbours(loaded, 3), neighbours(build(), 3));
  });

  it('loads without the copy of the full vectors when its file is missing or damaged, and takes them back', () => {
    const dir = scratchDir('sagasu-vec-');
    const index = build();
    index.save(join(dir, 'vectors'));
    writeFileSync(join(dir, 'vectors.0.q8'), 'damaged');
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'm', 6, { reduction: { dimension: 4, fitAfter: 20 } })!;
    assert.equal(loaded.count, 40);
    assert.deepEqual(loaded.idsWithoutFullVector(), Array.from({ length: 40 }, (_, i) => i + 1));
    for (const id of loaded.idsWithoutFullVector()) loaded.restoreFullVector(id, inSpan(id));
    loaded.restoreFullVector(99, inSpan(99)); // not in the graph: ignored
    assert.deepEqual(loaded.idsWithoutFullVector(), []);
    assert.deepEqual(loaded.search(inSpan(9), 5), index.search(inSpan(9), 5));
  });

  it('loads the same index with the copy read in a worker thread (loadAsync), or without it when damaged', async () => {
    const dir = scratchDir('sagasu-vec-');
    const index = build();
    index.save(join(dir, 'vectors'));
    const options = { reduction: { dimension: 4, fitAfter: 20 } };
    const loaded = (await VectorIndex.loadAsync(join(dir, 'vectors'), 'm', 6, options))!;
    assert.deepEqual(loaded.idsWithoutFullVector(), []);
    for (let id = 1; id <= 40; id += 7) {
      assert.deepEqual(loaded.search(inSpan(id), 5, undefined, () => assert.fail('re-ranked from the copy')), index.search(inSpan(id), 5));
    }
    await assert.rejects(VectorIndex.loadAsync(join(dir, 'vectors'), 'other-model', 6, options), (error: unknown) => error instanceof SagasuError && error.code === 'MODEL_MISMATCH');
    assert.equal(await VectorIndex.loadAsync(join(dir, 'none'), 'm', 6, options), undefined);
    // In a process started with --input-type (its workers must not inherit it), the copy loads too.
    const script = `const { VectorIndex } = await import(${JSON.stringify(new URL('../../src/indexes/vector-index.js', import.meta.url).href)});
      const index = await VectorIndex.loadAsync(${JSON.stringify(join(dir, 'vectors'))}, 'm', 6, ${JSON.stringify(options)});
      console.log(index.idsWithoutFullVector().length);`;
    assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim(), '0');
    writeFileSync(join(dir, 'vectors.0.q8'), 'damaged');
    const withoutCopy = (await VectorIndex.loadAsync(join(dir, 'vectors'), 'm', 6, options))!;
    assert.equal(withoutCopy.idsWithoutFullVector().length, 40);
  });

  it('returns undefined (rebuild from the store) when the reduction setting differs from the snapshot', () => {
    const dir = scratchDir('sagasu-vec-');
    build().save(join(dir, 'reduced'));
    const plain = new VectorIndex('m', 6);
    plain.add(1, inSpan(1));
    plain.save(join(dir, 'plain'));
    assert.equal(VectorIndex.load(join(dir, 'reduced'), 'm', 6), undefined);
    assert.equal(VectorIndex.load(join(dir, 'reduced'), 'm', 6, { reduction: { dimension: 3, fitAfter: 20 } }), undefined);
    assert.equal(VectorIndex.load(join(dir, 'reduced'), 'm', 6, { reduction: { dimension: 4, fitAfter: 20, whiten: true } }), undefined);
    assert.equal(VectorIndex.load(join(dir, 'plain'), 'm', 6, { reduction: { dimension: 4, fitAfter: 20 } }), undefined);
    assert.equal(VectorIndex.load(join(dir, 'plain'), 'm', 6)?.count, 1);
  });

  it('still loads a version 1 snapshot (full vectors, no reduction fields)', () => {
    const dir = scratchDir('sagasu-vec-');
    const index = new VectorIndex('model-a', 2);
    index.add(5, unit(1, 0));
    index.add(6, unit(0, 1));
    index.seq = 2;
    index.save(join(dir, 'vectors'));
    writeFileSync(
      join(dir, 'vectors.json'),
      '{"graph":"vectors.2.hnsw","version":1,"modelId":"model-a","dimension":2,"seq":2,"ids":[5,6],"m":16,"efConstruction":200}',
    );
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'model-a', 2)!;
    assert.equal(loaded.seq, 2);
    assert.deepEqual(loaded.search(unit(0, 1), 2).map((hit) => hit.id), [6, 5]);
  });
});
