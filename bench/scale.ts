/**
 * Search at scale: HNSW against exact brute force, and the engine's search-and-fuse, at several
 * collection sizes.
 *
 *   npm run build && node dist/bench/scale.js [--sizes 10000,100000] [--queries 100] [--ef 16,32,64,128] [--engine]
 *
 * Vectors have realistic neighbour structure: 120 real MobileNetV2 embeddings of generated scenes
 * are the cluster centres, and the bulk is drawn around them (centre + Gaussian noise, normalised)
 * so that siblings resemble pages of one chapter. The queries are real embeddings of half-size
 * JPEG copies of the real scenes. Uniform random vectors are not used: they have no neighbour
 * structure and flatter HNSW. Prints build rate, memory, save/load time, latency p50/p95 and
 * recall@10 against brute force for each efSearch, and with --engine the whole search-and-fuse
 * through a Sagasu instance whose store holds the same vectors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { decodeImage } from '../src/decoding/decode-image.js';
import { TfjsEmbedder } from '../src/embedding/tfjs-embedder.js';
import { VectorIndex } from '../src/indexes/vector-index.js';
import { Sagasu, type PreparedQuery } from '../src/sagasu.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Embedder } from '../src/types.js';
import { halfSizeJpeg, scenePng } from '../test/embedding/synthetic-images.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '100' },
    ef: { type: 'string', default: '16,32,64,128' },
    engine: { type: 'boolean', default: false },
    centres: { type: 'string', default: '120' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const efs = values.ef.split(',').map(Number);
const centreCount = Number(values.centres);
const queryCount = Math.min(Number(values.queries), centreCount);

let state = 12345;
const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
const gaussian = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * (values.length - 1) + 0.5))]!;

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

async function realVectors(): Promise<{ centres: Float32Array[]; queries: Float32Array[] }> {
  const embedder = new TfjsEmbedder();
  const centres: Float32Array[] = [];
  const queries: Float32Array[] = [];
  for (let seed = 1; seed <= centreCount; seed++) {
    const png = await scenePng(seed, 480, 360);
    centres.push(await embedder.embed((await decodeImage(png)).image));
    if (seed <= queryCount) queries.push(await embedder.embed((await decodeImage(await halfSizeJpeg(png))).image));
  }
  await embedder.close();
  return { centres, queries };
}

/** Noise scale chosen so a drawn vector's cosine to its centre is ~0.8, like related pages. */
function drawAround(centre: Float32Array, sigma: number): Float32Array {
  const v = new Float32Array(centre.length);
  for (let i = 0; i < v.length; i++) v[i] = centre[i]! + sigma * gaussian();
  return normalise(v);
}

function bruteForce(vectors: Float32Array[], query: Float32Array, k: number): number[] {
  const best: Array<[number, number]> = [];
  for (let id = 0; id < vectors.length; id++) {
    const s = dot(vectors[id]!, query);
    if (best.length < k || s > best[best.length - 1]![1]) {
      best.push([id, s]);
      best.sort((a, b) => b[1] - a[1]);
      if (best.length > k) best.pop();
    }
  }
  return best.map(([id]) => id);
}

async function main(): Promise<void> {
  console.log(`sagasu scale bench; node ${process.version}; sizes ${sizes.join(', ')}; ${queryCount} queries`);
  const began = performance.now();
  const { centres, queries } = await realVectors();
  const dimension = centres[0]!.length;
  const sigma = 0.75 / Math.sqrt(dimension) * 1.0;
  console.log(`real embeddings: ${centres.length} centres + ${queries.length} queries in ${((performance.now() - began) / 1000).toFixed(1)} s (${dimension}-d)`);
  const probe = drawAround(centres[0]!, sigma);
  console.log(`drawn vectors: cosine to centre ${dot(probe, centres[0]!).toFixed(3)}; query to its original ${dot(queries[0]!, centres[0]!).toFixed(3)}`);

  for (const size of sizes) {
    console.log(`\n== ${size} vectors ==`);
    const vectors: Float32Array[] = [...centres];
    while (vectors.length < size) vectors.push(drawAround(centres[Math.floor(uniform() * centres.length)]!, sigma));
    const rssBefore = process.memoryUsage().rss;
    const index = new VectorIndex('bench', dimension, { initialCapacity: size });
    let start = performance.now();
    for (let id = 0; id < vectors.length; id++) index.add(id, vectors[id]!);
    const buildSeconds = (performance.now() - start) / 1000;
    console.log(`build: ${buildSeconds.toFixed(1)} s (${(size / buildSeconds).toFixed(0)} vectors/s, M=16, efConstruction=200); RSS +${mib(process.memoryUsage().rss - rssBefore)}`);

    const dir = mkdtempSync(join(tmpdir(), 'sagasu-scale-'));
    start = performance.now();
    index.save(join(dir, 'vectors'));
    const saveMs = performance.now() - start;
    start = performance.now();
    const loaded = VectorIndex.load(join(dir, 'vectors'), 'bench', dimension)!;
    console.log(`snapshot: save ${saveMs.toFixed(0)} ms, load ${(performance.now() - start).toFixed(0)} ms (${loaded.count} vectors)`);
    rmSync(dir, { recursive: true, force: true });

    const truth = queries.map((query) => bruteForce(vectors, query, 10));
    const bruteTimes: number[] = [];
    for (const query of queries.slice(0, 20)) {
      start = performance.now();
      bruteForce(vectors, query, 10);
      bruteTimes.push(performance.now() - start);
    }
    console.log(`brute force (JS, exact): p50 ${percentile(bruteTimes, 0.5).toFixed(2)} ms`);
    console.log('efSearch   p50 ms   p95 ms   recall@10   speed-up vs brute force');
    for (const ef of efs) {
      const tuned = new VectorIndex('bench', dimension, { efSearch: ef });
      // Reuse the built graph: only efSearch changes.
      (tuned as unknown as { hnsw: unknown }).hnsw = (index as unknown as { hnsw: unknown }).hnsw;
      (tuned as unknown as { live: unknown }).live = (index as unknown as { live: unknown }).live;
      const times: number[] = [];
      let found = 0;
      queries.forEach((query, q) => {
        start = performance.now();
        const hits = tuned.search(query, 10);
        times.push(performance.now() - start);
        const want = new Set(truth[q]);
        found += hits.filter((hit) => want.has(hit.id)).length;
      });
      const p50 = percentile(times, 0.5);
      console.log(
        `${String(ef).padStart(8)} ${p50.toFixed(2).padStart(8)} ${percentile(times, 0.95).toFixed(2).padStart(8)} ${(found / (10 * queries.length)).toFixed(3).padStart(11)} ${(percentile(bruteTimes, 0.5) / p50).toFixed(0).padStart(10)}x`,
      );
    }
    if (values.engine) await engineAtScale(vectors, queries, dimension);
  }
}

/** The engine's own search-and-fuse at this size: the store holds the vectors, the indexes are built from it. */
async function engineAtScale(vectors: Float32Array[], queries: Float32Array[], dimension: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sagasu-scale-engine-'));
  const modelId = 'bench-vectors';
  const embedder: Embedder = { modelId, dimension, embed: () => Promise.reject(new Error('not used')), close: async () => {} };
  let start = performance.now();
  const store = SqliteStore.open(join(dataDir, 'sagasu.db'), { modelId, dimension });
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  store.transaction(() => {
    vectors.forEach((embedding, i) => {
      const id = store.insertImage({
        scope: 'local', sha256: hex(i, 64), phash: hex((i * 2654435761) >>> 0, 8) + hex((i * 40503) >>> 0, 8),
        width: 800, height: 1100, format: 'jpeg', bytes: 100_000, ocrText: i % 3 === 0 ? `page ${i} words lighthouse ${i % 97}` : '',
        ocrLines: [], ocrRegions: [], embedding, modelId, ocrId: 'bench',
      });
      store.attachSource(id, 'local', { kind: 'file', path: `page-${i}.jpg`, absolutePath: `/bench/page-${i}.jpg` });
    });
  });
  store.close();
  console.log(`engine: store filled in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  start = performance.now();
  let engine = await Sagasu.open({ dataDir, ocr: false, embedder });
  console.log(`engine: first open (indexes built from the store) ${((performance.now() - start) / 1000).toFixed(1)} s`);
  await engine.close();
  start = performance.now();
  engine = await Sagasu.open({ dataDir, ocr: false, embedder });
  console.log(`engine: open with snapshots ${((performance.now() - start) / 1000).toFixed(2)} s; RSS ${mib(process.memoryUsage().rss)}`);
  const times: number[] = [];
  for (const [q, embedding] of queries.entries()) {
    const prepared: PreparedQuery = {
      decoded: { image: { data: Buffer.alloc(3), width: 1, height: 1, channels: 3, original: { width: 1, height: 1, format: 'png', bytes: 1 } }, sha256: 'f'.repeat(64), phash: '0123456789abcdef' },
      ocr: { text: q % 2 === 0 ? 'lighthouse words' : '', lines: [] },
      embedding,
      timings: {},
    };
    start = performance.now();
    const result = await engine.search({ prepared }, { k: 10 });
    times.push(performance.now() - start);
    if (result.hits.length === 0) throw new Error('no hits at scale');
  }
  console.log(`engine search-and-fuse (visual + text + hash, k 10): p50 ${percentile(times, 0.5).toFixed(2)} ms, p95 ${percentile(times, 0.95).toFixed(2)} ms`);
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
