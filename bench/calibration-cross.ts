/**
 * Fits the calibrated confidence on one saved evaluation and judges it on another (a run of
 * another seed: other query transforms, other held-out images), without the engine. `sagasu
 * eval` judges its model on the other half of the same run; this is the stricter check of the
 * model the engine ships, whose threshold must hold on queries it was not fitted on.
 *
 *   node dist/bench/calibration-cross.js --fit <seed-1 report> [--fit <seed-2 report> ...] --judge <seed-3 report> [--out model.json] [--max-fp-rate 0.05]
 *
 * Reports are `sagasu eval --report <file>` files (or their `.records.jsonl` logs). Prints, on
 * the judged run: the false-positive rate at the fitted threshold, the right answers accepted,
 * the wrong answers accepted, per row; and the same figures for the model shipped in
 * src/fusion/default-calibration.ts, for comparison.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultFusionOptions } from '../src/fusion/fuse.js';
import { defaultCalibrationModel } from '../src/fusion/default-calibration.js';
import { calibratedAnswer, fitCalibration, readSavedRun, reportRows, type QueryRecord, type RecordedRun } from '../src/eval/retrieval-eval.js';
import { atThreshold, chooseThreshold, type ScoredAnswer } from '../src/eval/retrieval-metrics.js';
import type { CalibrationModel } from '../src/eval/retrieval-calibration.js';

const { values } = parseArgs({
  options: {
    fit: { type: 'string', multiple: true },
    judge: { type: 'string' },
    out: { type: 'string' },
    'max-fp-rate': { type: 'string', default: '0.05' },
    'hits-per-query': { type: 'string', default: '3' },
    l2: { type: 'string', default: '1' },
  },
});
if (!values.fit?.length || !values.judge) {
  console.error('usage: calibration-cross --fit <report> [--fit <report> ...] --judge <report> [--out model.json] [--max-fp-rate 0.05]');
  process.exit(2);
}

type Run = RecordedRun & { records: QueryRecord[] };

/** A saved run without the queries that failed (they have no lists to replay). */
function load(file: string): Run {
  const { images, records } = readSavedRun(file);
  return { images, records: records.filter((r) => !r.error) };
}

const fusion = defaultFusionOptions;
const maxFalsePositiveRate = Number(values['max-fp-rate']);
// Several fit runs are pooled; each keeps its own image ids.
const fitRuns = values.fit.map(load);
const judgeRun = load(values.judge);

const fit = fitCalibration(fitRuns, { maxFalsePositiveRate, fusion, hitsPerQuery: Number(values['hits-per-query']), l2: Number(values.l2) });
if (!fit) throw new Error('the fit runs have no right or no wrong hits to learn from');
const { model } = fit;
model.fittedOn = { queries: fit.queries, hits: fit.hits, maxFalsePositiveRate, fusion };

function answers(run: Run, m: CalibrationModel): Array<{ record: QueryRecord; answer: ScoredAnswer }> {
  return run.records.map((record) => ({ record, answer: calibratedAnswer(record, run.images, m, fusion) }));
}

function describe(name: string, m: CalibrationModel) {
  const judged = answers(judgeRun, m);
  const all = atThreshold(judged.map((j) => j.answer), m.threshold);
  const negatives = judged.filter((j) => !j.answer.positive);
  const positives = judged.filter((j) => j.answer.positive);
  console.log(`${name}: threshold ${m.threshold.toFixed(4)}`);
  // A held-out image makes a query of every type, so its queries are answered or refused together.
  const heldOut = new Set(negatives.map((j) => j.record.expected));
  const answeredImages = new Set(negatives.filter((j) => j.answer.confidence >= m.threshold).map((j) => j.record.expected));
  console.log(`  held-out images with any confident answer: ${answeredImages.size}/${heldOut.size}${answeredImages.size ? ` (${[...answeredImages].map((e) => e.split('/').pop()).join(', ')})` : ''}`);
  console.log(
    `  judged run: not-indexed answered ${negatives.filter((j) => j.answer.confidence >= m.threshold).length}/${negatives.length} (${(all.falsePositiveRate * 100).toFixed(1)}%), ` +
      `right accepted ${positives.filter((j) => j.answer.correct && j.answer.confidence >= m.threshold).length}/${positives.length} (${(all.acceptedRecall * 100).toFixed(1)}%), ` +
      `wrong accepted ${(all.wrongAnswerRate * 100).toFixed(1)}%, precision ${all.precision.toFixed(3)}`,
  );
  // The threshold that would have held the rate on the judged run: how far the fitted one is off.
  const ideal = chooseThreshold(judged.map((j) => j.answer), maxFalsePositiveRate);
  const atIdeal = atThreshold(judged.map((j) => j.answer), ideal);
  console.log(`  (on the judged run, the threshold for ${maxFalsePositiveRate * 100}% would be ${ideal.toFixed(4)}: right accepted ${(atIdeal.acceptedRecall * 100).toFixed(1)}%)`);
  for (const row of reportRows(judgeRun.records)) {
    if (row.type.includes('/')) continue;
    const inRow = positives.filter((j) => j.record.collection === row.collection && j.record.type === row.type);
    const negRow = negatives.filter((j) => j.record.collection === row.collection && j.record.type === row.type);
    const accepted = inRow.filter((j) => j.answer.correct && j.answer.confidence >= m.threshold).length;
    const right = inRow.filter((j) => j.answer.correct).length;
    const fp = negRow.filter((j) => j.answer.confidence >= m.threshold).length;
    console.log(`  ${`${row.collection}:${row.type}`.padEnd(26)} right at 1 ${String(right).padStart(3)}/${String(inRow.length).padEnd(3)} accepted ${String(accepted).padStart(3)}   not-indexed answered ${fp}/${negRow.length}`);
  }
}

console.log(`fitted on ${fit.queries} queries (${fit.hits} hits) of ${values.fit.join(', ')}; judged on ${judgeRun.records.length} of ${values.judge}`);
describe('fitted model', model);
try {
  describe('shipped model', defaultCalibrationModel);
} catch (error) {
  console.log(`shipped model: not comparable (${(error as Error).message})`);
}
if (values.out) writeFileSync(values.out, JSON.stringify(model, null, 2) + '\n');
