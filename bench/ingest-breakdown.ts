/**
 * Where does an image's indexing CPU go? Runs each step the engine takes for one image on its
 * own, one after another, and prints the median CPU (all threads of the process: the tesseract
 * workers are threads of it) per step, next to one whole `Sagasu.add` of the same image.
 * Ingest is CPU-bound on 2 cores (98% of both in `npm run bench`), so images/s is at most
 * 2 cores / CPU per image: this says which step the target of 4 images/s would have to come from.
 *
 *   npm run build && node dist/bench/ingest-breakdown.js [folder] [--megapixels 1] [--limit 8]
 *
 * Steps run in-process and one at a time (the engine overlaps them and embeds the region windows
 * in a worker thread), so their sum is a little under an `add`'s CPU, not its wall time.
 * A benchmark, not a test: it asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cropDecoded } from '../src/decoding/content-area.js';
import { decodeImage } from '../src/decoding/decode-image.js';
import { colourSignature } from '../src/embedding/colour.js';
import { defaultRegionOptions, regionWindows } from '../src/embedding/regions.js';
import { TfjsEmbedder } from '../src/embedding/tfjs-embedder.js';
import { TesseractOcrEngine } from '../src/ocr/tesseract-ocr-engine.js';
import { packageRoot } from '../src/paths.js';
import { Sagasu } from '../src/sagasu.js';
import { extractLocalFeatures } from '../src/verification/local-features.js';
import { benchImages, median } from './bench-images.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    megapixels: { type: 'string', default: '1' },
    limit: { type: 'string', default: '8' },
  },
});
const folder = positionals[0] ?? join(packageRoot, 'data', 'samples', 'gallery');

async function cpuOf(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

async function main(): Promise<void> {
  const inputs = await benchImages(folder, Number(values.limit), Number(values.megapixels));
  const ocr = new TesseractOcrEngine();
  const embedder = new TfjsEmbedder();
  await Promise.all([ocr.start(), embedder.warmUp()]);
  const steps = new Map<string, number[]>();
  const windowCounts: number[] = [];
  const record = (name: string, ms: number) => steps.set(name, [...(steps.get(name) ?? []), ms]);
  // One round to warm every kernel and worker, then the measured rounds.
  for (const [round, bytes] of [inputs[0]!, ...inputs].entries()) {
    const measured = round > 0;
    let decoded!: Awaited<ReturnType<typeof decodeImage>>;
    const decodeMs = await cpuOf(async () => (decoded = await decodeImage(bytes)));
    const image = decoded.image;
    let boxes: Awaited<ReturnType<typeof regionWindows>>['boxes'] = [];
    const windowsMs = await cpuOf(async () => ({ boxes } = await regionWindows(image, defaultRegionOptions)));
    if (measured) windowCounts.push(boxes.length);
    let windows: Awaited<ReturnType<typeof cropDecoded>>[] = [];
    const figures: [string, number][] = [
      ['decode + hashes', decodeMs],
      ['OCR (tesseract threads included)', await cpuOf(() => ocr.recognize(image))],
      ['whole-image embedding', await cpuOf(() => embedder.embed(image))],
      ['region windows: placed (panels found or grids)', windowsMs],
      ['region windows: crop', await cpuOf(async () => (windows = await Promise.all(boxes.map((box) => cropDecoded(image, box)))))],
      ['region windows: embed (batches of 4, resize included)', await cpuOf(() => embedder.embedMany(windows))],
      ['ORB features', await cpuOf(() => extractLocalFeatures(image))],
      ['colour signatures (image + windows)', await cpuOf(async () => boxes.map((box) => colourSignature(image, box)).concat(colourSignature(image)))],
    ];
    if (measured) for (const [name, ms] of figures) record(name, ms);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sagasu-ingest-breakdown-'));
  const engine = await Sagasu.open({ dataDir, ocr, embedder });
  const adds: number[] = [];
  for (const [round, bytes] of [inputs[0]!, ...inputs].entries()) {
    const ms = await cpuOf(() => engine.add({ bytes, source: { kind: 'file', path: `image-${round}.jpg`, absolutePath: join(dataDir, `image-${round}.jpg`) } }));
    if (round > 0) adds.push(ms);
  }
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
  await Promise.all([ocr.close(), embedder.close()]);

  console.log(`ingest CPU per image, ${inputs.length} images of ~${values.megapixels} MP from ${folder}; node ${process.version}`);
  console.log('step                                                   median CPU ms   share of the sum');
  const sum = [...steps.values()].reduce((total, list) => total + median(list), 0);
  for (const [name, list] of steps) {
    console.log(`${name.padEnd(55)} ${median(list).toFixed(0).padStart(13)}   ${((median(list) / sum) * 100).toFixed(0).padStart(15)}%`);
  }
  console.log(`region windows per image: median ${median(windowCounts)} (${Math.min(...windowCounts)}-${Math.max(...windowCounts)}; fewer on pages cut into panels)`);
  console.log(`${'sum of the steps'.padEnd(55)} ${sum.toFixed(0).padStart(13)}`);
  console.log(`${'one Sagasu.add (the steps overlapped, + store and indexes)'.padEnd(55)} ${median(adds).toFixed(0).padStart(13)}`);
  console.log(`at that CPU, 2 cores index at most ${((2 * 1000) / median(adds)).toFixed(2)} images/s`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
