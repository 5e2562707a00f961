/**
 * Search at scale: HNSW against exact brute force, with and without PCA reduction, and the
 * engine's search-and-fuse, at several collection sizes.
 *
 *   npm run build && node dist/bench/scale.js [--sizes 10000,100000,1000000] [--dims 1280,256,128]
 *     [--m 16] [--ef-construction 200] [--ef 16,32,64,128] [--whiten] [--queries 100] [--skip-graph]
 *     [--engine] [--engine-ef 64,128] [--rerank 100]
 *
 * --regions N gives each image of the engine runs N region vectors (the engine's default layout has
 * 20; 0, the default, is an index made with `--no-regions`): each a mix of 3/4 of the image's
 * vector and 1/4 of another image's, normalised, so a region sits near its image, as real ones do.
 * --keep-engine-dir keeps the engine's data directory; --engine-dir <dir> measures only the engine
 * on such a directory (fresh processes at each --engine-ef / --rerank), without building anything.
 * --skip-graph leaves out the stand-alone HNSW builds (the recall/speed curve), e.g. to measure
 * only the engine at 1M; --engine-ef and --rerank set the engine's efSearch (one fresh process
 * each) and, with a reduction, how many candidates it re-scores on the stored full vectors.
 *
 * Vectors are drawn to match real MobileNetV2 embeddings. The bench first embeds a real set:
 * 120 generated scenes ("chapters"), 4 crops of each ("pages"), and half-size JPEG copies of 100
 * pages (the queries). From the real pages it learns the mean, the principal directions and
 * variances between chapters (PCA of the chapter means) and within a chapter (PCA of page minus
 * chapter mean), and the variance those leave, and draws the bulk hierarchically: a chapter
 * centre = mean + between-chapter components with the real variances; each page = centre +
 * within-chapter components + isotropic rest, normalised. It prints the top-1 neighbour cosine
 * of real and drawn sets of the same shape, to check they look alike. The 480 real pages are
 * part of every collection; queries are the 100 real JPEG copies and 100 drawn "copies" (a page
 * moved as far as the real copies are from their originals).
 *
 * For each size and stored dimension: PCA fit time, projection and build rate, RSS, snapshot
 * size, load time in a fresh process (and its RSS), HNSW p50/p95 per efSearch, recall@10 against
 * exact search on the full vectors and on the stored ones, and brute force (JS loop) speed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../src/decoding/decode-image.js';
import { TfjsEmbedder } from '../src/embedding/tfjs-embedder.js';
import { defaultRegionOptions, regionLayoutId } from '../src/embedding/regions.js';
import { Pca } from '../src/indexes/pca.js';
import { VectorIndex, defaultRerankCandidates, defaultVectorIndexOptions } from '../src/indexes/vector-index.js';
import { seededRandom } from '../src/random.js';
import { Sagasu } from '../src/sagasu.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Embedder } from '../src/types.js';
import { halfSizeJpeg, scenePng } from '../test/embedding/synthetic-images.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    dims: { type: 'string', default: '1280' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    ef: { type: 'string', default: '16,32,64,128' },
    whiten: { type: 'boolean', default: false },
    queries: { type: 'string', default: '100' },
    engine: { type: 'boolean', default: false },
    'engine-ef': { type: 'string', default: String(defaultVectorIndexOptions.efSearch) },
    rerank: { type: 'string', default: String(defaultRerankCandidates) },
    'skip-graph': { type: 'boolean', default: false },
    'keep-engine-dir': { type: 'boolean', default: false },
    regions: { type: 'string', default: '0' },
    'engine-dir': { type: 'string' },
    'fit-samples': { type: 'string', default: '10000' },
    cache: { type: 'string', default: join(tmpdir(), 'sagasu-scale-real-v1.bin') },
  },
});
const list = (text: string) => text.split(',').map(Number);
const sizes = list(values.sizes);
const dims = list(values.dims);
const ms = list(values.m);
const efConstructions = list(values['ef-construction']);
const efs = list(values.ef);
const queryCount = Number(values.queries);
const chapters = 120;
const pagesPerChapter = 4;
const k = 10;

const random = seededRandom(12345);
let spare: number | undefined;
const gaussian = () => {
  if (spare !== undefined) {
    const s = spare;
    spare = undefined;
    return s;
  }
  const r = Math.sqrt(-2 * Math.log(random() + 1e-12));
  const a = 2 * Math.PI * random();
  spare = r * Math.sin(a);
  return r * Math.cos(a);
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * (values.length - 1) + 0.5))]!;
const seconds = (since: number) => (performance.now() - since) / 1000;

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < a.length; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < a.length; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

/** n vectors of d floats in one block; `row(i)` is a view. */
class Matrix {
  readonly data: Float32Array;
  constructor(readonly n: number, readonly d: number) {
    this.data = new Float32Array(n * d);
  }
  row(i: number): Float32Array {
    return this.data.subarray(i * this.d, (i + 1) * this.d);
  }
}

// ---- the real set ----------------------------------------------------------------------------

interface RealSet {
  pages: Float32Array[]; // chapter-major: page p of chapter c at c * pagesPerChapter + p
  queries: Float32Array[]; // JPEG copy of pages[i] for i < queries.length
}

async function realSet(): Promise<RealSet> {
  const d = 1280;
  const total = chapters * pagesPerChapter;
  const wanted = Math.min(100, total);
  if (existsSync(values.cache)) {
    const all = new Float32Array(readFileSync(values.cache).buffer.slice(0));
    if (all.length === (total + wanted) * d) {
      const rows = Array.from({ length: total + wanted }, (_, i) => all.slice(i * d, (i + 1) * d));
      console.log(`real embeddings: ${total} pages + ${wanted} copies from ${values.cache}`);
      return { pages: rows.slice(0, total), queries: rows.slice(total) };
    }
  }
  const began = performance.now();
  const embedder = new TfjsEmbedder();
  const pages: Float32Array[] = [];
  const queries: Float32Array[] = [];
  for (let c = 0; c < chapters; c++) {
    const scene = await scenePng(1000 + c, 800, 600, 45);
    for (let p = 0; p < pagesPerChapter; p++) {
      // Four overlapping windows of one scene, each resized: pages that share a chapter's look.
      const page = await sharp(scene)
        .extract({ left: (p % 2) * 260, top: Math.floor(p / 2) * 200, width: 540, height: 400 })
        .resize(480, 360)
        .png()
        .toBuffer();
      pages.push(await embedder.embed((await decodeImage(page)).image));
      if (pages.length <= wanted) queries.push(await embedder.embed((await decodeImage(await halfSizeJpeg(page))).image));
    }
  }
  await embedder.close();
  const all = new Float32Array((total + wanted) * d);
  [...pages, ...queries].forEach((row, i) => all.set(row, i * d));
  writeFileSync(values.cache, Buffer.from(all.buffer));
  console.log(`real embeddings: ${total} pages + ${wanted} copies embedded in ${seconds(began).toFixed(0)} s (cached in ${values.cache})`);
  return { pages, queries };
}

// ---- the generator ---------------------------------------------------------------------------

interface Level {
  directions: Float32Array[]; // unit rows
  scales: number[]; // standard deviations along them
}

interface Model {
  mean: Float32Array;
  between: Level;
  within: Level;
  /** Standard deviation per coordinate of the isotropic rest (variance the components leave). */
  rest: number;
}

function level(rows: Float32Array[], count: number): { level: Level; left: number } {
  const pca = Pca.fit(rows, { dimension: count + 1, maxSamples: rows.length });
  const d = pca.inputDimension;
  return {
    level: {
      directions: Array.from({ length: pca.componentCount }, (_, c) => pca.components.slice(c * d, (c + 1) * d)),
      scales: Array.from(pca.variances, Math.sqrt),
    },
    left: pca.totalVariance * (1 - pca.explainedVariance),
  };
}

function learnModel(pages: Float32Array[]): Model {
  const d = pages[0]!.length;
  const means: Float32Array[] = [];
  const deviations: Float32Array[] = [];
  for (let c = 0; c < chapters; c++) {
    const own = pages.slice(c * pagesPerChapter, (c + 1) * pagesPerChapter);
    const mean = new Float32Array(d);
    for (const page of own) for (let i = 0; i < d; i++) mean[i]! += page[i]! / own.length;
    means.push(mean);
    // Scaled so their covariance is the within-chapter covariance (n-1 correction).
    for (const page of own) deviations.push(Float32Array.from(page, (x, i) => (x - mean[i]!) * Math.sqrt(own.length / (own.length - 1))));
  }
  const mean = new Float32Array(d);
  for (const page of pages) for (let i = 0; i < d; i++) mean[i]! += page[i]! / pages.length;
  const between = level(means, Math.min(chapters - 2, 96));
  const within = level(deviations, 48);
  return { mean, between: between.level, within: within.level, rest: Math.sqrt((between.left + within.left) / d) };
}

function addComponents(into: Float32Array, level: Level, scale = 1): void {
  for (let c = 0; c < level.directions.length; c++) {
    const g = gaussian() * level.scales[c]! * scale;
    const direction = level.directions[c]!;
    for (let i = 0; i < into.length; i++) into[i]! += g * direction[i]!;
  }
}

function drawChapter(model: Model): Float32Array {
  const centre = Float32Array.from(model.mean);
  addComponents(centre, model.between);
  return centre;
}

/** Gaussian noise for the isotropic rest: a window at a random start in a fixed pool (windows at different starts are uncorrelated), 30x cheaper than fresh draws. */
const noisePool = Float32Array.from({ length: (1 << 20) + 2048 }, gaussian);
function addRest(into: Float32Array, sd: number): void {
  const start = Math.floor(random() * (1 << 20));
  for (let i = 0; i < into.length; i++) into[i]! += sd * noisePool[start + i]!;
}

function drawPage(model: Model, centre: Float32Array, into: Float32Array): void {
  into.set(centre);
  addComponents(into, model.within);
  addRest(into, model.rest);
  normalise(into);
}

/** Moves a vector as far as a real JPEG copy is from its original (cosine `target`). */
function drawCopy(model: Model, page: Float32Array, target: number): Float32Array {
  const step = new Float32Array(page.length);
  addComponents(step, model.within);
  addRest(step, model.rest);
  // Orthogonal to the page, then mixed in: cos(result, page) = target exactly.
  const along = dot(step, page);
  for (let i = 0; i < step.length; i++) step[i]! -= along * page[i]!;
  normalise(step);
  return normalise(Float32Array.from(page, (x, i) => target * x + Math.sqrt(1 - target * target) * step[i]!));
}

function topOneSimilarities(rows: Float32Array[]): number[] {
  return rows.map((a, i) => Math.max(...rows.map((b, j) => (i === j ? -2 : dot(a, b)))));
}

const summary = (v: number[]) => `p10 ${percentile(v, 0.1).toFixed(3)}  median ${percentile(v, 0.5).toFixed(3)}  p90 ${percentile(v, 0.9).toFixed(3)}`;

// ---- exact search ----------------------------------------------------------------------------

/** Exact top-k of every query over the matrix in one pass over the rows. */
function exactTopK(matrix: Matrix, queries: Float32Array[]): number[][] {
  const best = queries.map(() => ({ ids: new Int32Array(k).fill(-1), sims: new Float64Array(k).fill(-Infinity) }));
  for (let id = 0; id < matrix.n; id++) {
    const row = matrix.row(id);
    for (let q = 0; q < queries.length; q++) {
      const s = dot(row, queries[q]!);
      const b = best[q]!;
      if (s <= b.sims[k - 1]!) continue;
      let at = k - 1;
      while (at > 0 && b.sims[at - 1]! < s) {
        b.sims[at] = b.sims[at - 1]!;
        b.ids[at] = b.ids[at - 1]!;
        at--;
      }
      b.sims[at] = s;
      b.ids[at] = id;
    }
  }
  return best.map((b) => Array.from(b.ids));
}

const recall = (found: number[][], truth: number[][]) => {
  let hits = 0;
  found.forEach((ids, q) => {
    const want = new Set(truth[q]);
    hits += ids.filter((id) => want.has(id)).length;
  });
  return hits / (k * found.length);
};

/** Loads the snapshot in a new process: what a restart costs, and what the loaded index alone occupies. */
function loadInFreshProcess(base: string, dimension: number): { ms: number; rss: number } {
  const script = `
    const { VectorIndex } = await import(${JSON.stringify(new URL('../src/indexes/vector-index.js', import.meta.url).href)});
    const before = process.memoryUsage().rss;
    const start = performance.now();
    const index = VectorIndex.load(${JSON.stringify(base)}, 'bench', ${dimension});
    const ms = performance.now() - start;
    if (!index) throw new Error('snapshot did not load');
    console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss, before }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as { ms: number; rss: number };
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (values['engine-dir']) {
    const dir = values['engine-dir'];
    const meta = JSON.parse(readFileSync(join(dir, 'vector-index.json'), 'utf8')) as { ids: number[]; reduction?: { dimension: number; whiten: boolean } | null };
    console.log(`sagasu scale bench: the engine on ${dir} (${meta.ids.length} images); node ${process.version}`);
    // One open and close first: snapshots written by an earlier build are brought up to date
    // (e.g. the copy of the full vectors added later), so the measured opens load, not convert.
    const start = performance.now();
    const embedder = vectorsOnlyEmbedder('bench-vectors', 1280);
    const reduction = meta.reduction ? { reduction: { ...meta.reduction, fitAfter: 1 } } : {};
    await (await Sagasu.open({ dataDir: dir, ocr: false, embedder, vectorIndex: reduction })).close();
    console.log(`engine: opened and closed once with this build (snapshots up to date) in ${seconds(start).toFixed(1)} s`);
    // The close rewrote the snapshots (2 GiB at 1M): write them out now, so the disk is quiet while the engine is measured.
    execFileSync('sync');
    measureEngine(dir, meta.ids.length, meta.reduction ?? undefined);
    return;
  }
  console.log(`sagasu scale bench; node ${process.version}; sizes ${sizes.join(', ')}; dims ${dims.join(', ')}; M ${ms.join(', ')}; efConstruction ${efConstructions.join(', ')}${values.whiten ? '; whitened' : ''}`);
  const real = await realSet();
  const d = real.pages[0]!.length;
  let start = performance.now();
  const model = learnModel(real.pages);
  console.log(
    `model: between-chapter ${model.between.directions.length} components, within ${model.within.directions.length}, isotropic rest sd ${model.rest.toFixed(4)} per coordinate (learned in ${seconds(start).toFixed(1)} s)`,
  );
  const realPca = Pca.fit(real.pages, { dimension: 257, maxSamples: real.pages.length });
  const explained = (n: number) => {
    let s = 0;
    for (let c = 0; c < n; c++) s += realPca.variances[c]!;
    return (s / realPca.totalVariance).toFixed(3);
  };
  console.log(`real pages: variance explained by the top 16/64/128/256 components ${explained(16)}/${explained(64)}/${explained(128)}/${explained(256)} (of a ${real.pages.length}-sample set; larger collections have a longer tail)`);

  // Check: a drawn set of the same shape as the real one has a similar nearest-neighbour spread.
  const drawn: Float32Array[] = [];
  for (let c = 0; c < chapters; c++) {
    const centre = drawChapter(model);
    for (let p = 0; p < pagesPerChapter; p++) {
      const page = new Float32Array(d);
      drawPage(model, centre, page);
      drawn.push(page);
    }
  }
  const copyCos = real.queries.map((q, i) => dot(q, real.pages[i]!));
  console.log(`top-1 neighbour cosine, real pages  (${real.pages.length}): ${summary(topOneSimilarities(real.pages))}`);
  console.log(`top-1 neighbour cosine, drawn pages (${drawn.length}): ${summary(topOneSimilarities(drawn))}`);
  const randomPairs = (rows: Float32Array[]) => Array.from({ length: 2000 }, () => dot(rows[Math.floor(random() * rows.length)]!, rows[Math.floor(random() * rows.length)]!));
  console.log(`cosine of random pairs, real: ${summary(randomPairs(real.pages))}; drawn: ${summary(randomPairs(drawn))}`);
  console.log(`real JPEG copy to its original: ${summary(copyCos)}`);
  const copyNearestIsOriginal = real.queries.filter((q, i) => real.pages.every((p, j) => j === i || dot(q, p) < dot(q, real.pages[i]!))).length;
  console.log(`real copies whose nearest real page is their original: ${copyNearestIsOriginal}/${real.queries.length}`);

  for (const size of sizes) {
    console.log(`\n======== ${size} vectors (${d}-d full) ========`);
    start = performance.now();
    const full = new Matrix(size, d);
    real.pages.forEach((page, i) => full.data.set(page, i * d));
    let centre = drawChapter(model);
    for (let id = real.pages.length; id < size; id++) {
      if ((id - real.pages.length) % pagesPerChapter === 0) centre = drawChapter(model);
      drawPage(model, centre, full.row(id));
    }
    console.log(`drawn in ${seconds(start).toFixed(0)} s`);
    const target = percentile(copyCos, 0.5);
    const queries = [
      ...real.queries.slice(0, Math.ceil(queryCount / 2)),
      ...Array.from({ length: Math.floor(queryCount / 2) }, () => drawCopy(model, full.row(real.pages.length + Math.floor(random() * (size - real.pages.length))), target)),
    ];
    const realQueries = Math.ceil(queryCount / 2);
    start = performance.now();
    const fullTruth = exactTopK(full, queries);
    const bruteFull = seconds(start) * 1000 / queries.length;
    console.log(`exact search on full vectors (JS loop, ${queries.length} queries in one pass): ${bruteFull.toFixed(1)} ms per query`);

    for (const dimension of dims) {
      let stored = full;
      let pca: Pca | undefined;
      let projectMs = 0;
      if (dimension < d) {
        start = performance.now();
        const sample = Array.from({ length: Math.min(size, Number(values['fit-samples'])) }, (_, i) => full.row(Math.floor((i * size) / Math.min(size, Number(values['fit-samples'])))));
        pca = Pca.fit(sample, { dimension, whiten: values.whiten });
        console.log(`\n--- ${dimension}-d: PCA fitted on ${pca.samples} vectors in ${seconds(start).toFixed(1)} s; explains ${(pca.explainedVariance * 100).toFixed(1)}% of the variance`);
        start = performance.now();
        stored = new Matrix(size, dimension);
        for (let id = 0; id < size; id++) stored.data.set(pca.project(full.row(id)), id * dimension);
        projectMs = performance.now() - start;
        console.log(`projection: ${((projectMs * 1000) / size).toFixed(0)} µs per vector`);
      } else {
        console.log(`\n--- ${dimension}-d (no reduction)`);
      }
      const project = (q: Float32Array) => (pca ? pca.project(q) : q);
      const storedQueries = queries.map(project);
      start = performance.now();
      const storedTruth = exactTopK(stored, storedQueries);
      console.log(`exact search on stored vectors: recall@10 vs full-vector truth ${recall(storedTruth, fullTruth).toFixed(3)} (the reduction's own loss)`);
      const bruteTimes: number[] = [];
      for (const q of storedQueries.slice(0, 10)) {
        start = performance.now();
        exactTopK(stored, [q]);
        bruteTimes.push(performance.now() - start);
      }
      const bruteP50 = percentile(bruteTimes, 0.5);
      console.log(`brute force on stored vectors (JS loop, one query): p50 ${bruteP50.toFixed(1)} ms`);

      for (const m of values['skip-graph'] ? [] : ms) {
        for (const efConstruction of efConstructions) {
          global.gc?.();
          const rssBefore = process.memoryUsage().rss;
          const index = new VectorIndex('bench', dimension, { initialCapacity: size, m, efConstruction });
          start = performance.now();
          for (let id = 0; id < size; id++) index.add(id, stored.row(id));
          const buildMs = performance.now() - start;
          const perVector = (buildMs + projectMs) / size;
          console.log(
            `M ${m}, efConstruction ${efConstruction}: build ${(buildMs / 1000).toFixed(0)} s + projection ${(projectMs / 1000).toFixed(0)} s = ${(1000 / perVector).toFixed(0)} vectors/s; RSS +${mib(process.memoryUsage().rss - rssBefore)} (total ${mib(process.memoryUsage().rss)})`,
          );
          const dir = mkdtempSync(join(tmpdir(), 'sagasu-scale-'));
          start = performance.now();
          index.save(join(dir, 'vectors'));
          const saveMs = performance.now() - start;
          let pcaBytes = 0;
          if (pca) {
            const buffer = pca.toBuffer();
            pcaBytes = buffer.length;
            start = performance.now();
            Pca.fromBuffer(buffer);
          }
          const pcaLoadMs = pca ? performance.now() - start : 0;
          const bytes = readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0) + pcaBytes;
          const fresh = loadInFreshProcess(join(dir, 'vectors'), dimension);
          console.log(
            `snapshot: ${mib(bytes)} (PCA ${(pcaBytes / 1024).toFixed(0)} KiB), save ${saveMs.toFixed(0)} ms; load in a fresh process ${(fresh.ms + pcaLoadMs).toFixed(0)} ms, its RSS ${mib(fresh.rss)}`,
          );
          rmSync(dir, { recursive: true, force: true });

          console.log('efSearch   p50 ms   p95 ms   recall@10 full (real q / drawn q)   recall@10 stored   speed-up vs brute force');
          for (const ef of efs) {
            const tuned = new VectorIndex('bench', dimension, { efSearch: ef });
            // Reuse the built graph: only efSearch changes.
            (tuned as unknown as { hnsw: unknown }).hnsw = (index as unknown as { hnsw: unknown }).hnsw;
            (tuned as unknown as { live: unknown }).live = (index as unknown as { live: unknown }).live;
            const times: number[] = [];
            const found: number[][] = [];
            for (const query of queries) {
              const t = performance.now();
              // The engine's path: project the full query, then search.
              const hits = tuned.search(project(query), k);
              times.push(performance.now() - t);
              found.push(hits.map((hit) => hit.id));
            }
            const p50 = percentile(times, 0.5);
            const fullRecall = recall(found, fullTruth);
            const realRecall = recall(found.slice(0, realQueries), fullTruth.slice(0, realQueries));
            const drawnRecall = recall(found.slice(realQueries), fullTruth.slice(realQueries));
            console.log(
              `${String(ef).padStart(8)} ${p50.toFixed(2).padStart(8)} ${percentile(times, 0.95).toFixed(2).padStart(8)} ${fullRecall.toFixed(3).padStart(11)} (${realRecall.toFixed(3)} / ${drawnRecall.toFixed(3)})` +
                `${recall(found, storedTruth).toFixed(3).padStart(21)} ${(bruteP50 / p50).toFixed(0).padStart(15)}x`,
            );
            if (pca) rerankLine(tuned, ef, queries, project, full, fullTruth);
          }
          index.clear();
        }
      }
      if (values.engine) await engineAtScale(full, queries, fullTruth, pca ? { dimension, whiten: values.whiten, pca } : undefined);
    }
  }
}

/** Rows of the full matrix as 8-bit integers with one scale per row (what an 8-bit copy of the full vectors would hold). */
function int8Dot(row: Float32Array, query: Float32Array): number {
  let max = 0;
  for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]!));
  const scale = max / 127 || 1;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.round(row[i]! / scale) * query[i]!;
  return s * scale;
}

/** IEEE half precision of a value (round to nearest even on the 10-bit mantissa; what a float16 copy would hold). */
function toHalf(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const exponent = Math.max(-14, Math.floor(Math.log2(Math.abs(value))));
  const step = 2 ** (exponent - 10);
  const rounded = Math.round(value / step) * step;
  return Math.abs(rounded) > 65504 ? Math.sign(rounded) * Infinity : rounded;
}

function halfDot(row: Float32Array, query: Float32Array): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += toHalf(row[i]!) * query[i]!;
  return s;
}

/**
 * Search the reduced index for the engine's 50 candidates, then re-rank them by cosine on the full
 * vectors (float32, float16, and 8-bit per-row-scaled): what keeping full vectors beside a reduced graph buys.
 */
function rerankLine(index: VectorIndex, ef: number, queries: Float32Array[], project: (q: Float32Array) => Float32Array, full: Matrix, fullTruth: number[][]): void {
  const candidates = 50;
  const times: number[] = [];
  const byFloat: number[][] = [];
  const byInt8: number[][] = [];
  const byHalf: number[][] = [];
  let inCandidates = 0;
  for (const [q, query] of queries.entries()) {
    const t = performance.now();
    const ids = index.search(project(query), candidates).map((hit) => hit.id);
    const scored = ids.map((id) => ({ id, s: dot(full.row(id), query) })).sort((a, b) => b.s - a.s);
    times.push(performance.now() - t);
    byFloat.push(scored.slice(0, k).map((x) => x.id));
    byInt8.push(ids.map((id) => ({ id, s: int8Dot(full.row(id), query) })).sort((a, b) => b.s - a.s).slice(0, k).map((x) => x.id));
    byHalf.push(ids.map((id) => ({ id, s: halfDot(full.row(id), query) })).sort((a, b) => b.s - a.s).slice(0, k).map((x) => x.id));
    const got = new Set(ids);
    inCandidates += fullTruth[q]!.filter((id) => got.has(id)).length;
  }
  console.log(
    `${''.padStart(8)} re-rank of the first ${candidates} (efSearch ${Math.max(ef, candidates)}) on full vectors: p50 ${percentile(times, 0.5).toFixed(2)} ms (search + re-rank), ` +
      `recall@10 float32 ${recall(byFloat, fullTruth).toFixed(3)}, float16 ${recall(byHalf, fullTruth).toFixed(3)}, 8-bit ${recall(byInt8, fullTruth).toFixed(3)}; true top 10 among the ${candidates}: ${(inCandidates / (k * queries.length)).toFixed(3)}`,
  );
}

/** Text of the indexed image at row `i` (a third of the images have text): a unique number, two mid-frequency numbers and two words in every text. */
const pageText = (i: number) => (i % 3 === 0 ? `page ${i} words lighthouse ${i % 97} ${i % 1009}` : '');

/** Query text: an image's unique number, its two mid-frequency numbers (about n/291 and n/3027 postings) and two stop words of this collection. */
const queryText = (q: number, n: number) => {
  const i = (3 * ((q * 7919) % Math.floor(n / 3))) % n;
  return `lighthouse words ${i % 97} ${i % 1009} page ${i}`;
};

/**
 * The engine's own search-and-fuse at this size: the store holds the vectors, the engine builds
 * its indexes from it on a first open (timed here), snapshots them on close; then a fresh process
 * opens the engine as a restart would (start-up time, RSS of the engine alone) and runs the
 * queries through search (visual with the query and a "mirrored" vector, as an image query does
 * by default, + text + hash, k 10; no spatial verification: no pixels).
 */
async function engineAtScale(vectors: Matrix, queries: Float32Array[], fullTruth: number[][], reduction?: { dimension: number; whiten: boolean; pca: Pca }): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sagasu-scale-engine-'));
  mkdirSync(dataDir, { recursive: true });
  const modelId = 'bench-vectors';
  const dimension = vectors.d;
  const embedder = vectorsOnlyEmbedder(modelId, dimension);
  const vectorIndex = reduction ? { reduction: { dimension: reduction.dimension, whiten: reduction.whiten, fitAfter: 1, pca: reduction.pca } } : {};
  let start = performance.now();
  const store = SqliteStore.open(join(dataDir, 'sagasu.db'), { modelId, dimension });
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  store.transaction(() => {
    for (let i = 0; i < vectors.n; i++) {
      const id = store.insertImage({
        scope: 'local', sha256: hex(i, 64), phash: hex((i * 2654435761) >>> 0, 8) + hex((i * 40503) >>> 0, 8),
        width: 800, height: 1100, format: 'jpeg', bytes: 100_000, ocrText: pageText(i),
        ocrLines: [], ocrRegions: [], embedding: vectors.row(i), modelId, ocrId: 'bench',
        ...(regionsPerImage > 0 ? { regionEmbeddings: { layout: regionLayoutId(defaultRegionOptions.grids), vectors: regionVectors(vectors, i, regionsPerImage) } } : {}),
      });
      store.attachSource(id, 'local', { kind: 'file', path: `page-${i}.jpg`, absolutePath: `/bench/page-${i}.jpg` });
    }
  });
  store.close();
  console.log(`engine${reduction ? ` (${reduction.dimension}-d)` : ''}${regionsPerImage ? `, ${regionsPerImage} region vectors per image` : ''}: store filled in ${seconds(start).toFixed(1)} s; ${mib(statSync(join(dataDir, 'sagasu.db')).size)} on disk`);
  start = performance.now();
  const engine = await Sagasu.open({ dataDir, ocr: false, embedder, vectorIndex });
  console.log(`engine: first open (indexes built from the store) ${seconds(start).toFixed(1)} s`);
  start = performance.now();
  await engine.close();
  console.log(`engine: close (snapshots written) ${seconds(start).toFixed(1)} s`);
  const queryFile = join(dataDir, 'queries.f32');
  const block = new Float32Array(queries.length * dimension);
  queries.forEach((q, i) => block.set(q, i * dimension));
  writeFileSync(queryFile, Buffer.from(block.buffer));
  // Store ids are row + 1 (rows were inserted in order into an empty store).
  const truthFile = join(dataDir, 'truth.json');
  writeFileSync(truthFile, JSON.stringify(fullTruth.map((ids) => ids.map((row) => row + 1))));
  const sizes = readdirSync(dataDir).filter((f) => f.startsWith('vector-index') || f.startsWith('text-index') || f.startsWith('region-index')).map((f) => `${f} ${mib(statSync(join(dataDir, f)).size)}`);
  console.log(`engine: snapshots ${sizes.join(', ')}`);
  measureEngine(dataDir, vectors.n, reduction);
  if (values['keep-engine-dir']) console.log(`engine: data directory kept in ${dataDir} (measure it again with --engine-dir)`);
  else rmSync(dataDir, { recursive: true, force: true });
}

const regionsPerImage = Number(values.regions);

/** The engine's embedder in these runs: the vectors are given, never computed from pixels. */
function vectorsOnlyEmbedder(modelId: string, dimension: number): Embedder {
  return { modelId, dimension, embed: () => Promise.reject(new Error('not used')), close: async () => {} };
}

/** Region vectors of row i: 3/4 of its vector plus 1/4 of another row's, normalised (see --regions). */
function regionVectors(vectors: Matrix, i: number, count: number): Float32Array[] {
  const own = vectors.row(i);
  return Array.from({ length: count }, (_, r) => {
    const other = vectors.row((i * 7919 + (r + 1) * 104_729) % vectors.n);
    const mixed = own.map((v, d) => 0.75 * v + 0.25 * other[d]!);
    const norm = Math.hypot(...mixed) || 1;
    return mixed.map((v) => v / norm);
  });
}

/** The engine in fresh processes, at each --engine-ef and --rerank, on a data directory holding queries.f32 and truth.json. */
function measureEngine(dataDir: string, n: number, reduction: { dimension: number; whiten: boolean } | undefined): void {
  const modelId = 'bench-vectors';
  const queryFile = join(dataDir, 'queries.f32');
  const truthFile = join(dataDir, 'truth.json');
  const dimension = 1280;
  for (const efSearch of values['engine-ef'].split(',').map((v) => (v === 'auto' ? ('auto' as const) : Number(v)))) {
    for (const rerank of reduction ? list(values.rerank) : [0]) {
      const fresh = engineInFreshProcess(dataDir, queryFile, truthFile, {
        modelId, dimension, n, efSearch, rerank,
        reduction: reduction ? { dimension: reduction.dimension, whiten: reduction.whiten } : undefined,
      });
      console.log(
        `engine in a fresh process (efSearch ${efSearch}${reduction ? `, re-rank ${rerank} on full vectors` : ''}): open with snapshots ${(fresh.openMs / 1000).toFixed(2)} s; ` +
          `RSS after open ${mib(fresh.rssAfterOpen)}, peak ${mib(fresh.maxRss)} (engine alone, after the queries)`,
      );
      console.log(
        `  search-and-fuse (visual x2 + text + hash, k 10, ${fresh.times.length} queries): p50 ${percentile(fresh.times, 0.5).toFixed(2)} ms, p95 ${percentile(fresh.times, 0.95).toFixed(2)} ms; ` +
          `image-only queries p50 ${percentile(fresh.times.filter((_, q) => q % 2 === 1), 0.5).toFixed(2)} ms, with text p50 ${percentile(fresh.times.filter((_, q) => q % 2 === 0), 0.5).toFixed(2)} ms`,
      );
      console.log(
        `  visual source alone (one vector, k 10): p50 ${percentile(fresh.visualTimes, 0.5).toFixed(2)} ms; recall@10 against exact search on the full vectors ${fresh.visualRecall.toFixed(3)}`,
      );
      console.log(`  text source alone (queries with text): p50 ${percentile(fresh.textTimes, 0.5).toFixed(2)} ms; hash source alone: p50 ${percentile(fresh.hashTimes, 0.5).toFixed(2)} ms`);
    }
  }
}

/**
 * Opens the engine on `dataDir` in a new process (a restart), searches with every query in
 * `queryFile` (fused, timed), then with the visual source alone to measure its recall@10 against
 * `truthFile` (exact top 10 on the full vectors, as store ids).
 */
function engineInFreshProcess(
  dataDir: string,
  queryFile: string,
  truthFile: string,
  setting: { modelId: string; dimension: number; n: number; efSearch: number | 'auto'; rerank: number; reduction: { dimension: number; whiten: boolean } | undefined },
): { openMs: number; rssAfterOpen: number; maxRss: number; times: number[]; visualTimes: number[]; textTimes: number[]; hashTimes: number[]; visualRecall: number } {
  const script = `
    const { readFileSync } = await import('node:fs');
    const { Sagasu } = await import(${JSON.stringify(new URL('../src/sagasu.js', import.meta.url).href)});
    const setting = ${JSON.stringify(setting)};
    const queryText = ${queryText.toString()};
    const embedder = { modelId: setting.modelId, dimension: setting.dimension, embed: () => Promise.reject(new Error('not used')), close: async () => {} };
    const vectorIndex = { efSearch: setting.efSearch, ...(setting.reduction ? { reduction: { ...setting.reduction, fitAfter: 1, rerank: setting.rerank } } : {}) };
    const start = performance.now();
    const engine = await Sagasu.open({ dataDir: ${JSON.stringify(dataDir)}, ocr: false, embedder, vectorIndex });
    const openMs = performance.now() - start;
    const rssAfterOpen = process.memoryUsage().rss;
    const bytes = readFileSync(${JSON.stringify(queryFile)});
    const truth = JSON.parse(readFileSync(${JSON.stringify(truthFile)}, 'utf8'));
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const count = all.length / setting.dimension;
    const decoded = { image: { data: Buffer.alloc(3), width: 1, height: 1, channels: 3, original: { width: 1, height: 1, format: 'png', bytes: 1 } }, sha256: 'f'.repeat(64), phash: '0123456789abcdef' };
    const times = [];
    for (let q = 0; q < count; q++) {
      const embedding = all.slice(q * setting.dimension, (q + 1) * setting.dimension);
      const prepared = {
        decoded,
        ocr: { text: q % 2 === 0 ? queryText(q, setting.n) : '', lines: [] },
        embedding,
        // Another query's vector stands in for the mirrored image: the same second search an image query makes.
        mirroredEmbedding: all.slice(((q + 1) % count) * setting.dimension, (((q + 1) % count) + 1) * setting.dimension),
        timings: {},
      };
      const t = performance.now();
      const result = await engine.search({ prepared }, { k: 10 });
      times.push(performance.now() - t);
      if (result.hits.length === 0) throw new Error('no hits at scale');
    }
    const visualTimes = [];
    let found = 0;
    for (let q = 0; q < count; q++) {
      const prepared = { decoded, ocr: { text: '', lines: [] }, embedding: all.slice(q * setting.dimension, (q + 1) * setting.dimension), timings: {} };
      const t = performance.now();
      const result = await engine.search({ prepared }, { k: 10, sources: ['visual'], verify: false });
      visualTimes.push(performance.now() - t);
      const ids = new Set(result.hits.map((hit) => hit.imageId));
      found += truth[q].filter((id) => ids.has(id)).length;
    }
    // Each other source alone, on the queries that have text (the hash source scans every hash).
    const textTimes = [];
    const hashTimes = [];
    for (let q = 0; q < count; q += 2) {
      const prepared = { decoded, ocr: { text: queryText(q, setting.n), lines: [] }, embedding: all.slice(q * setting.dimension, (q + 1) * setting.dimension), timings: {} };
      let t = performance.now();
      await engine.search({ prepared }, { k: 10, sources: ['text'], verify: false });
      textTimes.push(performance.now() - t);
      t = performance.now();
      await engine.search({ prepared }, { k: 10, sources: ['hash'], verify: false });
      hashTimes.push(performance.now() - t);
    }
    // Not getrusage's maxRSS: Linux keeps it across exec, so a child would report its parent's peak.
    const maxRss = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    console.log(JSON.stringify({ openMs, rssAfterOpen, maxRss, times, visualTimes, textTimes, hashTimes, visualRecall: found / (10 * count) }));
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out) as { openMs: number; rssAfterOpen: number; maxRss: number; times: number[]; visualTimes: number[]; textTimes: number[]; hashTimes: number[]; visualRecall: number };
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
