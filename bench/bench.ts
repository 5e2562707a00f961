/**
 * Per-stage timings for indexing and querying the images in a folder.
 *
 *   npm run bench -- [folder] [--queries N] [--no-ocr] [--megapixels 1 [--copies 3]]
 *     [--concurrency 3] [--embed-workers 0] [--ingest-only] [--no-regions] [--scale-sizes 10000,100000,1000000 | --no-scale]
 *
 * Indexes every image under the folder (default: the project's fixtures) into a temporary data
 * directory, then queries with a cropped, re-compressed copy of each indexed image scaled to about
 * one megapixel (a typical posted picture), and prints median / p95 / mean per stage (decode,
 * OCR, embed, local features, search, fuse, spatial verification) plus ingest throughput with OCR
 * on and off, peak RSS, and the fraction of queries whose original came back first. OCR, embedding
 * and local features run at the same time, so stage times do not add up to the total.
 * With --megapixels, the images are first rescaled to about that many megapixels (JPEG q90, in a
 * temporary folder), `--copies` times each at slightly different sizes (distinct bytes, so each is
 * indexed): ingest is then measured on images of the size the targets name, with more samples.
 * Pipelined ingest also prints the CPU time it used per image (all threads of the process) and
 * the share of both cores it kept busy: the ceiling on images/s is cores / CPU per image.
 * --concurrency sets the images in flight, --embed-workers moves embedding to that many worker
 * threads, --ingest-only skips the one-at-a-time pass and the queries, --no-regions indexes
 * without region vectors (as `sagasu index --no-regions`).
 * Then, unless --no-scale, it runs the scale bench (bench/scale.ts) at --scale-sizes with the
 * engine's settings: search-and-fuse, recall@10 against brute force, brute-force speed, start-up
 * time and RSS at each size (about an hour with 1M; see the README). Other scale runs:
 * `npm run bench:scale` (its flags are listed at the top of bench/scale.ts).
 * A benchmark, not a test: it asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { TfjsEmbedder } from '../src/embedding/tfjs-embedder.js';
import { WorkerPoolEmbedder } from '../src/embedding/worker-pool-embedder.js';
import { TesseractOcrEngine } from '../src/ocr/tesseract-ocr-engine.js';
import { Sagasu, expandPaths, type StageTimings } from '../src/sagasu.js';
import { packageRoot } from '../src/paths.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    queries: { type: 'string', default: '50' },
    'no-ocr': { type: 'boolean', default: false },
    megapixels: { type: 'string', default: '0' },
    copies: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '3' },
    'embed-workers': { type: 'string', default: '0' },
    'ingest-only': { type: 'boolean', default: false },
    'no-regions': { type: 'boolean', default: false },
    'scale-sizes': { type: 'string', default: '10000,100000,1000000' },
    'no-scale': { type: 'boolean', default: false },
  },
});
const folder = positionals[0] ?? join(packageRoot, 'test', 'fixtures');
const maxQueries = Number(values.queries);

// The engine's fuseMs includes verifyMs (verification re-ranks the fused list): shown apart here.
const stages = ['decodeMs', 'ocrMs', 'embedMs', 'featuresMs', 'searchMs', 'fuseMs', 'verifyMs'] as const;
const stageValue = (s: StageTimings, stage: (typeof stages)[number]) =>
  stage === 'fuseMs' && typeof s.fuseMs === 'number' ? s.fuseMs - (s.verifyMs ?? 0) : s[stage];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))]!;
}

function table(title: string, samples: StageTimings[], totals: number[]): void {
  console.log(`\n${title} (${samples.length} images)`);
  console.log('stage                median ms    p95 ms   mean ms');
  const row = (name: string, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    console.log(`${name.padEnd(18)} ${percentile(sorted, 0.5).toFixed(1).padStart(11)} ${percentile(sorted, 0.95).toFixed(1).padStart(9)} ${mean.toFixed(1).padStart(9)}`);
  };
  for (const stage of stages) {
    const values = samples.map((s) => stageValue(s, stage)).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) row(stage === 'fuseMs' ? 'fuse (ex verify)' : stage.replace('Ms', ''), values);
  }
  const searchAndFuse = samples.filter((s) => typeof s.searchMs === 'number').map((s) => (s.searchMs ?? 0) + (s.fuseMs ?? 0));
  if (searchAndFuse.length > 0) row('search+fuse+verify', searchAndFuse);
  row('total', totals);
}

/** CPU time per image over every thread of the process, and how busy it kept the machine's cores. */
function cpuLine(used: NodeJS.CpuUsage, images: number, seconds: number): string {
  const cpuMs = (used.user + used.system) / 1000;
  const cores = availableParallelism();
  return `CPU ${(cpuMs / Math.max(1, images)).toFixed(0)} ms per image, ${((cpuMs / 1000 / seconds / cores) * 100).toFixed(0)}% of ${cores} cores (ceiling ${((cores * 1000 * images) / cpuMs).toFixed(2)} images/s)`;
}

async function main(): Promise<void> {
  let files = await expandPaths([folder]);
  if (files.length === 0) throw new Error(`no images under ${folder}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'sagasu-bench-'));
  const megapixels = Number(values.megapixels);
  let rescaledDir: string | undefined;
  if (megapixels > 0) {
    rescaledDir = mkdtempSync(join(tmpdir(), 'sagasu-bench-rescaled-'));
    mkdirSync(rescaledDir, { recursive: true });
    const rescaled: string[] = [];
    for (let copy = 0; copy < Number(values.copies); copy++) {
      for (const file of files) {
        const { width = 0, height = 0 } = await sharp(file).metadata();
        if (width < 8 || height < 8) continue;
        // Copies 2% apart in area: distinct bytes, about the same work.
        const scale = Math.sqrt((megapixels * 1e6 * (1 + 0.02 * copy)) / (width * height));
        const out = join(rescaledDir, `${basename(file, extname(file))}-${copy}.jpg`);
        await sharp(file).resize(Math.round(width * scale), Math.round(height * scale)).jpeg({ quality: 90 }).toFile(out);
        rescaled.push(out);
      }
    }
    files = rescaled;
  }
  let pixels = 0;
  for (const file of files) {
    const { width = 0, height = 0 } = await sharp(file).metadata();
    pixels += width * height;
  }
  console.log(
    `sagasu bench: ${files.length} images from ${folder}${megapixels > 0 ? ` rescaled to ~${megapixels} MP` : ''} (mean ${(pixels / files.length / 1e6).toFixed(2)} MP); ` +
      `node ${process.version}; OCR ${values['no-ocr'] ? 'off' : 'on'}; region vectors ${values['no-regions'] ? 'off' : 'on'}`,
  );
  const loadStart = performance.now();
  // One OCR pool and one model for both runs below, so the second measures warm workers.
  const ocr = values['no-ocr'] ? (false as const) : new TesseractOcrEngine();
  const embedWorkers = Number(values['embed-workers']);
  const embedder = embedWorkers > 0 ? new WorkerPoolEmbedder({ workers: embedWorkers }) : new TfjsEmbedder();
  const regionVectors = values['no-regions'] ? { regionVectors: false as const } : {};
  // Without --embed-workers the ingest engines make their own embedder, as `sagasu index` does
  // (in-process, with region windows in worker threads of their own); the model is shared in-thread.
  const ingestEmbedder = embedWorkers > 0 ? { embedder } : {};
  const engine = await Sagasu.open({ dataDir, ocr, embedder, ...regionVectors });
  // Warm up: worker start and model load are paid once per process, not per image.
  const warm = performance.now();
  await engine.search({ image: await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } }).png().toBuffer() });
  console.log(`open ${(warm - loadStart).toFixed(0)} ms; first query (model load + OCR workers start) ${(performance.now() - warm).toFixed(0)} ms`);

  const indexTimings: StageTimings[] = [];
  const indexTotals: number[] = [];
  const indexStart = performance.now();
  for (const file of values['ingest-only'] ? [] : files) {
    const began = performance.now();
    try {
      const result = await engine.addFile(file);
      if (result.status === 'added') {
        indexTimings.push(result.timings);
        indexTotals.push(performance.now() - began);
      }
    } catch (error) {
      console.log(`  skipped ${file}: ${(error as Error).message}`);
    }
  }
  const indexSeconds = (performance.now() - indexStart) / 1000;
  table('index, one image at a time', indexTimings, indexTotals);
  console.log(`throughput: ${(indexTimings.length / indexSeconds).toFixed(2)} images/s sequential`);

  const queryTimings: StageTimings[] = [];
  const queryTotals: number[] = [];
  // CPU of every thread of the process (OCR and embedding workers included) while one query runs.
  const queryCpu: number[] = [];
  let first = 0;
  const queried = values['ingest-only'] ? [] : files.slice(0, maxQueries);
  for (const file of queried) {
    const image = sharp(file);
    const { width = 0, height = 0 } = await image.metadata();
    if (width < 8 || height < 8) continue;
    // A crop of about 70% of the area, scaled to about 1 MP and re-compressed: a typical "posted again" query.
    const cropWidth = Math.floor(width * 0.85);
    const cropHeight = Math.floor(height * 0.8);
    const scale = Math.sqrt(1e6 / (cropWidth * cropHeight));
    const query = await sharp(file)
      .extract({ left: Math.floor(width * 0.1), top: Math.floor(height * 0.1), width: cropWidth, height: cropHeight })
      .resize(Math.round(cropWidth * scale), Math.round(cropHeight * scale))
      .jpeg({ quality: 75 })
      .toBuffer();
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    const result = await engine.search({ image: query }, { k: 10 });
    queryTotals.push(performance.now() - began);
    const cpuUsed = process.cpuUsage(cpuBefore);
    queryCpu.push((cpuUsed.user + cpuUsed.system) / 1000);
    queryTimings.push(result.timings);
    // Rescaled copies of one picture are the same picture: any of them first counts.
    const origin = (path: string | null | undefined) => (rescaledDir && path ? basename(path).replace(/-\d+\.jpg$/, '') : path);
    if (origin(result.hits[0]?.path) === origin(file)) first += 1;
  }
  if (queryTimings.length > 0) {
    table('query end to end (crop ~70% area scaled to ~1 MP, JPEG q75)', queryTimings, queryTotals);
    const cpuSorted = [...queryCpu].sort((a, b) => a - b);
    console.log(`CPU per query (all threads): median ${percentile(cpuSorted, 0.5).toFixed(0)} ms, p95 ${percentile(cpuSorted, 0.95).toFixed(0)} ms`);
    console.log(`original ranked first: ${first}/${queryTimings.length} (a sanity check, not an evaluation)`);
  }
  // Pipelined ingest as `sagasu index` does it: two images in flight (OCR pool of two workers, embedding meanwhile).
  const pipelinedDir = mkdtempSync(join(tmpdir(), 'sagasu-bench-pipelined-'));
  const pipelined = await Sagasu.open({ dataDir: pipelinedDir, ocr, ...ingestEmbedder, ...regionVectors });
  const concurrency = Number(values.concurrency);
  let cpu = process.cpuUsage();
  const summary = await pipelined.indexPaths(files, { concurrency });
  console.log(
    `\npipelined ingest (indexPaths, ${concurrency} in flight${embedWorkers > 0 ? `, ${embedWorkers} embedding workers` : ''}): ${summary.added} images in ${summary.seconds.toFixed(1)} s = ${(summary.added / summary.seconds).toFixed(2)} images/s (warm workers); ` +
      cpuLine(process.cpuUsage(cpu), summary.added, summary.seconds),
  );
  await pipelined.close();
  rmSync(pipelinedDir, { recursive: true, force: true });
  if (ocr) {
    // The same ingest without OCR: what the embedding alone costs.
    const noOcrDir = mkdtempSync(join(tmpdir(), 'sagasu-bench-no-ocr-'));
    const noOcr = await Sagasu.open({ dataDir: noOcrDir, ocr: false, ...ingestEmbedder, ...regionVectors });
    cpu = process.cpuUsage();
    const plain = await noOcr.indexPaths(files, { concurrency });
    console.log(
      `pipelined ingest with OCR off: ${plain.added} images in ${plain.seconds.toFixed(1)} s = ${(plain.added / plain.seconds).toFixed(2)} images/s; ` +
        cpuLine(process.cpuUsage(cpu), plain.added, plain.seconds),
    );
    await noOcr.close();
    rmSync(noOcrDir, { recursive: true, force: true });
  }

  const memory = process.memoryUsage();
  // maxRSS is in KiB; OCR workers are threads of this process, so they are included.
  console.log(`memory: rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB now, peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; heap ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`);
  await engine.close();
  if (ocr) await ocr.close();
  await embedder.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (rescaledDir) rmSync(rescaledDir, { recursive: true, force: true });
  if (!values['no-scale']) {
    console.log(`\nscale: node --expose-gc dist/bench/scale.js ${scaleArguments().join(' ')}`);
    execFileSync(process.execPath, ['--expose-gc', fileURLToPath(new URL('./scale.js', import.meta.url)), ...scaleArguments()], { stdio: 'inherit' });
  }
}

/** The engine's own settings at scale: PCA to 128-d once the collection is large, efSearch and re-rank as configured by default. */
function scaleArguments(): string[] {
  return ['--sizes', values['scale-sizes']!, '--dims', '128', '--skip-graph', '--engine'];
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
