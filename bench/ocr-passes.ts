/**
 * Where does OCR time go, and what does it allow? Reads each image with one OCR slot, one image
 * at a time, and prints every kind of tesseract run (the whole image, or one text block or speech
 * bubble read as a single block, horizontally or vertically): runs per image, milliseconds per
 * run and per image, and the pixels tesseract was given. Then the CPU per image of the whole
 * OCR step (all threads: the tesseract workers are threads of this process) and the ingest rate
 * it alone would allow on this machine's cores if nothing else were done to an image.
 *
 *   npm run build && node dist/bench/ocr-passes.js [folder] [--megapixels 1] [--limit 8]
 *     [--ocr-options '{"blockCrop":{"targetCharSize":30}}']
 *
 * The first image is read once before measuring (the workers' first run loads the languages).
 * A slot's horizontal and vertical workers run at the same time, so a run's milliseconds are its
 * own thread's time only when the machine has a core for each; on 2 cores, read it with the CPU line.
 * A benchmark, not a test: it asserts nothing.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchImages, median } from './bench-images.js';
import { decodeImage } from '../src/decoding/decode-image.js';
import { type OcrOptions, type OcrRunTrace, TesseractOcrEngine } from '../src/ocr/tesseract-ocr-engine.js';
import { packageRoot } from '../src/paths.js';
import type { DecodedImage } from '../src/types.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    megapixels: { type: 'string', default: '1' },
    limit: { type: 'string', default: '8' },
    'ocr-options': { type: 'string', default: '{}' },
  },
});
const folder = positionals[0] ?? join(packageRoot, 'data', 'samples', 'gallery');

const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const megapixels = Number(values.megapixels);
  const images: DecodedImage[] = [];
  for (const bytes of await benchImages(folder, Number(values.limit), megapixels)) images.push((await decodeImage(bytes)).image);
  const runs: OcrRunTrace[] = [];
  const options = JSON.parse(values['ocr-options']) as Partial<OcrOptions>;
  const ocr = new TesseractOcrEngine({ ...options, workers: 1, trace: (run) => runs.push(run) });
  await ocr.start();
  await ocr.recognize(images[0]!);
  runs.length = 0;
  const cpu: number[] = [];
  const wall: number[] = [];
  let characters = 0;
  for (const image of images) {
    const before = process.cpuUsage();
    const started = performance.now();
    const result = await ocr.recognize(image);
    wall.push(performance.now() - started);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
    characters += result.text.replace(/\s/g, '').length;
  }
  await ocr.close();

  const n = images.length;
  console.log(`OCR of ${n} images from ${folder} (${megapixels > 0 ? `${megapixels} MP` : 'as they are'}), one slot, one image at a time; ${(characters / n).toFixed(0)} characters read per image`);
  console.log('tesseract run                     runs/image  ms/run (median)  ms/image  pixels/run (median)  lines/run');
  const kinds = new Map<string, OcrRunTrace[]>();
  for (const run of runs) {
    const key = `${run.target} ${run.orientation}`;
    const list = kinds.get(key);
    if (list) list.push(run);
    else kinds.set(key, [run]);
  }
  const rows = [...kinds].map(([key, list]) => ({ key, list, ms: sum(list.map((r) => r.ms)) })).sort((a, b) => b.ms - a.ms);
  for (const { key, list, ms } of rows) {
    console.log(
      `${key.padEnd(32)}  ${(list.length / n).toFixed(1).padStart(10)}  ${median(list.map((r) => r.ms)).toFixed(1).padStart(15)}  ${(ms / n).toFixed(0).padStart(8)}  ${median(list.map((r) => r.pixels)).toFixed(0).padStart(19)}  ${(sum(list.map((r) => r.lines)) / list.length).toFixed(2).padStart(9)}`,
    );
  }
  const tesseract = sum(runs.map((r) => r.ms)) / n;
  const cpuPerImage = sum(cpu) / n;
  const cores = availableParallelism();
  console.log(`all tesseract runs: ${tesseract.toFixed(0)} ms per image (both workers' runs added up)`);
  console.log(`OCR per image: wall ${median(wall).toFixed(0)} ms median, CPU ${cpuPerImage.toFixed(0)} ms mean (all threads; finding regions, cropping and PNG encoding included)`);
  console.log(`OCR alone allows at most ${((cores * 1000) / cpuPerImage).toFixed(2)} images/s on ${cores} cores, with nothing else done to an image`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
