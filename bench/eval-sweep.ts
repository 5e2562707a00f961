/**
 * Re-analyses a saved retrieval evaluation without the engine: metrics, calibration and a fusion
 * sweep, from the per-query ranked lists `sagasu eval --report <file>` keeps.
 *
 *   node dist/bench/eval-sweep.js <report.json | report.json.records.jsonl> [--rrf-k 60] [--weights visual=1,text=1,hash=2] [--json]
 *
 * The `.records.jsonl` log is written while the evaluation runs, so even an interrupted run can
 * be analysed. Prints the same tables as `sagasu eval --sweep`.
 */
import { parseArgs } from 'node:util';
import { defaultFusionOptions, type SourceName } from '../src/fusion/fuse.js';
import { analyseRecords, formatReport, readSavedRun, reportToJson, type RetrievalReport } from '../src/eval/retrieval-eval.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'rrf-k': { type: 'string' }, weights: { type: 'string' }, json: { type: 'boolean', default: false }, seed: { type: 'string', default: '1' }, 'max-fp-rate': { type: 'string', default: '0.05' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: eval-sweep <report.json | records.jsonl> [--rrf-k n] [--weights visual=1,text=1,hash=2] [--json]');
  process.exit(2);
}

const { records, images, report: saved } = readSavedRun(file);
const base: Partial<RetrievalReport> = saved ?? {};

const weights = { ...defaultFusionOptions.weights, ...base.settings?.fusion?.weights };
for (const part of values.weights?.split(',') ?? []) {
  const [name, n] = part.split('=');
  weights[name as SourceName] = Number(n);
}
const fusion = { k: values['rrf-k'] !== undefined ? Number(values['rrf-k']) : (base.settings?.fusion?.k ?? defaultFusionOptions.k), weights };
const seed = /^\d+$/.test(values.seed!) ? Number(values.seed) : values.seed!;
const maxFalsePositiveRate = Number(values['max-fp-rate']);
const report: RetrievalReport = {
  version: 1,
  createdAt: base.createdAt ?? new Date().toISOString(),
  settings: { ...(base.settings ?? { galleries: [file], types: [], limit: null, typeLimits: {}, holdout: NaN, ocr: true }), seed, fusion, maxFalsePositiveRate } as RetrievalReport['settings'],
  indexed: base.indexed ?? { images: Object.keys(images).length, seconds: NaN, failed: 0, heldOut: NaN },
  queries: {
    total: records.length,
    positive: records.filter((r) => r.positive).length,
    negative: records.filter((r) => !r.positive).length,
    failed: records.filter((r) => r.error).length,
    skipped: base.queries?.skipped ?? 0,
  },
  images,
  ...analyseRecords(records, images, { seed, maxFalsePositiveRate, fusion, sweep: true }),
};
process.stdout.write(values.json ? reportToJson(report) + '\n' : formatReport(report, { sweepRows: 20 }));
