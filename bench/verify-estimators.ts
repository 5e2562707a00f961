/**
 * What one spatial-verification check costs with each homography estimator. The query is a
 * re-compressed 60% crop of the first picture of a folder; it is checked against every picture
 * of the folder (one match, the rest not), and the median time per check is printed per
 * estimator, with the inliers found against the right picture and the most found against a
 * wrong one (a verified wrong one would be a false match).
 *
 *   npm run build && node dist/bench/verify-estimators.js [data/samples/gallery] [--rounds 5]
 *
 * A benchmark, not a test: it asserts nothing. Quality is measured by `sagasu eval`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../src/decoding/decode-image.js';
import { extractLocalFeatures, verifyLocalFeatures, type HomographyEstimator, type LocalFeatures } from '../src/verification/local-features.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '5' } } });
const folder = positionals[0] ?? 'data/samples/gallery';
const rounds = Number(values.rounds);

async function main(): Promise<void> {
  const files = readdirSync(folder).filter((name) => /\.(jpe?g|png|webp)$/i.test(name)).sort();
  if (files.length < 2) throw new Error(`need at least two pictures in ${folder}`);
  const candidates: LocalFeatures[] = [];
  for (const name of files) candidates.push(await extractLocalFeatures((await decodeImage(readFileSync(join(folder, name)))).image));
  const first = readFileSync(join(folder, files[0]!));
  const { width = 0, height = 0 } = await sharp(first).metadata();
  const crop = await sharp(first)
    .extract({ left: Math.round(width * 0.1), top: Math.round(height * 0.15), width: Math.round(width * 0.75), height: Math.round(height * 0.8) })
    .jpeg({ quality: 60 })
    .toBuffer();
  const query = await extractLocalFeatures((await decodeImage(crop)).image);
  console.log(`${files.length} pictures in ${folder}; query ${query.points.length / 2} features; ${rounds} rounds`);
  for (const estimator of ['ransac', 'rho', 'usac-accurate'] as HomographyEstimator[]) {
    const times: number[] = [];
    let right = 0;
    let wrong = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [index, candidate] of candidates.entries()) {
        const began = performance.now();
        const result = await verifyLocalFeatures(query, candidate, { estimator });
        times.push(performance.now() - began);
        if (index === 0) right = result.inliers;
        else wrong = Math.max(wrong, result.verified ? result.inliers : 0);
      }
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
    console.log(`${estimator.padEnd(14)} per check: median ${at(0.5)} ms, p95 ${at(0.95)} ms; inliers with the right picture ${right}, most verified with a wrong one ${wrong}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
