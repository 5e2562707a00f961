/**
 * Re-analyses a saved retrieval evaluation without the engine: metrics, calibration and a fusion
 * sweep, from the per-query ranked lists `sagasu eval --report <file>` keeps.
 *
 *   node dist/bench/eval-sweep.js <report.json | report.json.records.jsonl> [--rrf-k 60] [--weights visual=1,text=1,hash=2] [--json]
 *
 * The `.records.jsonl` log is written while the evaluation runs, so even an interrupted run can
 * be analysed. Prints the same tables as `sagasu eval --sweep`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultFusionOptions, type SourceName } from '../src/fusion/fuse.js';
import { analyseRecords, formatReport, reportToJson, type QueryRecord, type RetrievalReport } from '../src/eval/retrieval-eval.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'rrf-k': { type: 'string' }, weights: { type: 'string' }, json: { type: 'boolean', default: false }, seed: { type: 'string', default: '1' }, 'max-fp-rate': { type: 'string', default: '0.05' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: eval-sweep <report.json | records.jsonl> [--rrf-k n] [--weights visual=1,text=1,hash=2] [--json]');
  process.exit(2);
}

let records: QueryRecord[];
let images: Record<number, string[]>;
let base: Partial<RetrievalReport> = {};
const text = readFileSync(file, 'utf8');
if (file.endsWith('.jsonl')) {
  const lines = text.split('\n').filter((l) => l.trim());
  images = (JSON.parse(lines[0]!) as { images: Record<number, string[]> }).images;
  records = lines.slice(1).map((l) => JSON.parse(l) as QueryRecord);
} else {
  base = JSON.parse(text) as RetrievalReport;
  if (!base.records) throw new Error(`${file} has no records (write it with sagasu eval --report)`);
  records = base.records;
  images = base.images!;
}
// JSON turned NaN timings into null.
for (const r of records) if (typeof r.ms !== 'number') r.ms = NaN;

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
