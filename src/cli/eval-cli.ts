import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { SourceName } from '../fusion/fuse.js';
import { allQueryTypes, type QueryType } from '../eval/retrieval-queries.js';
import { formatReport, reportToJson, runRetrievalEval } from '../eval/retrieval-eval.js';
import { jsonObject, nonNegativeNumber, weightList } from './options.js';
import type { SagasuOptions } from '../sagasu.js';

interface EvalCliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY?: boolean;
}

interface EvalCliOptions {
  engineOptions?: Partial<SagasuOptions>;
  types?: QueryType[];
  limit?: number;
  typeLimit?: Partial<Record<QueryType, number>>;
  seed: string;
  holdout: number;
  ocr: boolean;
  rrfK?: number;
  weights?: Partial<Record<SourceName, number>>;
  maxFpRate: number;
  sweep?: boolean;
  json?: boolean;
  report?: string;
  calibrationOut?: string;
  workDir?: string;
  keep?: boolean;
  concurrency: number;
}

function typeList(value: string): QueryType[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(allQueryTypes as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown query type "${name}" (${allQueryTypes.join(', ')}).`);
  }
  return names as QueryType[];
}

function typeLimitList(value: string): Partial<Record<QueryType, number>> {
  const limits: Partial<Record<QueryType, number>> = {};
  for (const part of value.split(',')) {
    const [name, number] = part.split('=').map((s) => s.trim());
    const n = Number(number);
    if (!(allQueryTypes as readonly string[]).includes(name ?? '') || !Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`expected type=count pairs like store-photo=120, got "${part}".`);
    }
    limits[name as QueryType] = n;
  }
  return limits;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1.');
  return n;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('must be a number from 0 up to (not including) 1.');
  return n;
}

/**
 * Adds `sagasu eval`: the retrieval evaluation (see src/eval/retrieval-eval.ts). Prints the
 * tables (or `--json`); `--report` writes the full JSON with every query's ranked lists.
 */
export function registerEvalCommand(program: Command, output: EvalCliOutput): void {
  program
    .command('eval')
    .description('measure retrieval: index a gallery in a temporary folder, query it with transformed copies of its images, print recall@1/@5 and MRR per query type and source')
    .argument('<galleries...>', 'gallery folders: any folder of images, a manga folder with annotation.json, a products folder with classes.csv, or a folder holding manga/ and products/')
    .option('--types <list>', `query types to run (default all): ${allQueryTypes.join(',')}`, typeList)
    .option('--limit <n>', 'at most n queries per collection and type (a seeded sample) for a quick run', wholeNumber)
    .option('--type-limit <list>', 'per-type limits overriding --limit, e.g. store-photo=120', typeLimitList)
    .option('--seed <value>', 'seed of query generation, held-out images and the calibration split', '1')
    .option('--holdout <share>', 'share of each collection left out of the index to measure false positives', share, 0.1)
    .option('--no-ocr', 'skip OCR (the text source then has only file names)')
    .option('--rrf-k <n>', 'reciprocal rank fusion constant of the engine under test', nonNegativeNumber)
    .option('--weights <list>', 'fusion weights of the engine under test, e.g. visual=1,text=1,hash=2', weightList)
    .option('--max-fp-rate <share>', 'false-positive rate allowed when choosing the confidence threshold', share, 0.05)
    .option('--sweep', 'also rank every query with a grid of fusion settings (k, text and hash weights) and print the best')
    .option('--json', 'print the report as one JSON object instead of tables')
    .option('--report <file>', 'write the full JSON report, with every query\'s ranked lists, to this file')
    .option('--calibration-out <file>', 'write the fitted calibration model (JSON) to this file')
    .option('--work-dir <dir>', 'where the temporary index and query images go (default: a new folder under the OS temp dir)')
    .option('--keep', 'keep the work folder afterwards')
    .option('--concurrency <n>', 'queries searched at once', wholeNumber, 1)
    .option('--engine-options <json>', 'engine options to measure instead of the defaults (see SagasuOptions), e.g. \'{"embedder":{"pooling":"gem"}}\'', jsonObject<Partial<SagasuOptions>>)
    .action(async (galleries: string[], options: EvalCliOptions) => {
      let lastLine = '';
      const report = await runRetrievalEval({
        galleries,
        ...(options.types ? { types: options.types } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
        ...(options.typeLimit ? { typeLimits: options.typeLimit } : {}),
        ...(options.report ? { recordsLog: `${options.report}.records.jsonl` } : {}),
        seed: /^\d+$/.test(options.seed) ? Number(options.seed) : options.seed,
        holdout: options.holdout,
        ocr: options.ocr,
        fusion: { ...(options.rrfK !== undefined ? { k: options.rrfK } : {}), ...(options.weights ? { weights: options.weights } : {}) },
        maxFalsePositiveRate: options.maxFpRate,
        sweep: Boolean(options.sweep),
        ...(options.workDir ? { workDir: options.workDir } : {}),
        keep: Boolean(options.keep),
        concurrency: options.concurrency,
        ...(options.engineOptions ? { engine: options.engineOptions } : {}),
        onProgress: ({ stage, done, total }) => {
          // A line per tenth on logs; a live counter on a terminal.
          const line = `${stage === 'index' ? 'indexing' : 'querying'} ${done}/${total}`;
          if (output.isTTY) output.err(`\r${line}${done === total ? '\n' : ''}`);
          else if (done === total || done % Math.max(1, Math.ceil(total / 10)) === 0) {
            if (line !== lastLine) output.err(line + '\n');
          }
          lastLine = line;
        },
      });
      if (options.report) writeFileSync(options.report, reportToJson(report, { records: true }) + '\n');
      if (options.calibrationOut && report.calibration) writeFileSync(options.calibrationOut, JSON.stringify(report.calibration.model, null, 2) + '\n');
      output.out(options.json ? reportToJson(report) + '\n' : formatReport(report));
      if (report.workDir) output.err(`work folder kept: ${report.workDir ?? ''}\n`);
    });
}
