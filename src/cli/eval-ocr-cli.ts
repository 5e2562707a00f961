import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { type GroupSummary, evaluateOcr, loadAnnotatedPages } from '../eval/ocr-eval.js';
import { evaluateTextIdentification } from '../eval/text-identification.js';
import { type OcrOptions, TesseractOcrEngine } from '../ocr/index.js';
import { jsonObject } from './options.js';

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface EvalOcrOptions {
  titles?: string;
  limit?: number;
  concurrency: number;
  identify: boolean;
  queriesPerPage: number;
  seed: number;
  json?: string;
  pages: boolean;
  ocrOptions?: Partial<OcrOptions>;
}


function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000.');
  return n;
}

const pct = (x: number): string => (x * 100).toFixed(1).padStart(5);

function row(name: string, s: GroupSummary): string {
  return `${name.padEnd(16)} ${String(s.pages).padStart(5)} ${String(s.truthChars).padStart(6)}  ${pct(s.recall)}  ${pct(s.precision)}  ${pct(s.cer)}  ${s.medianSeconds.toFixed(2).padStart(6)}  ${s.meanSeconds.toFixed(2).padStart(6)}  ${s.medianCpuSeconds.toFixed(2).padStart(6)}\n`;
}

/**
 * `sagasu eval-ocr <dir>`: OCR quality against human transcriptions (character recall, precision,
 * CER; see src/eval/ocr-metrics.ts) page by page, per title and overall, seconds per page, and
 * text-only page identification from speech-bubble crops.
 */
export function registerEvalOcrCommand(program: Command, output: Output): void {
  program
    .command('eval-ocr')
    .description('measure OCR quality on pages with transcriptions (a folder holding annotation.json)')
    .argument('<dir>', 'folder with annotation.json (OpenMantra format) and the page images')
    .option('--titles <names>', 'comma-separated titles to evaluate (default: all)')
    .option('--limit <n>', 'at most n pages per title', wholeNumber)
    .option('--concurrency <n>', 'pages read at once (1 = seconds per page is the latency of one call)', wholeNumber, 1)
    .option('--no-identify', 'skip the page-identification test')
    .option('--queries-per-page <n>', 'identification queries made from each page', wholeNumber, 2)
    .option('--seed <n>', 'seed of the identification queries', wholeNumber, 1)
    .option('--no-pages', 'do not print the per-page lines')
    .option('--json <file>', 'also write the full report (with OCR text) to this file')
    .option('--ocr-options <json>', 'OCR engine options to measure instead of the defaults (see OcrOptions), e.g. \'{"maxSide":1200}\'', jsonObject<Partial<OcrOptions>>)
    .action(async (dir: string, options: EvalOcrOptions) => {
      let pages = loadAnnotatedPages(dir);
      if (options.titles) {
        const wanted = new Set(options.titles.split(',').map((t) => t.trim()));
        pages = pages.filter((p) => wanted.has(p.title));
      }
      if (options.limit) {
        const limit = options.limit;
        const seen = new Map<string, number>();
        pages = pages.filter((p) => {
          const n = (seen.get(p.title) ?? 0) + 1;
          seen.set(p.title, n);
          return n <= limit;
        });
      }
      const ocr = new TesseractOcrEngine({ ...options.ocrOptions, workers: Math.min(2, options.concurrency) });
      try {
        await ocr.start();
        if (options.pages) output.out('page                                 chars  recall  prec    CER    sec  cpu s\n');
        const evaluation = await evaluateOcr(pages, ocr, {
          concurrency: options.concurrency,
          onPage: (e) => {
            if (!options.pages) return;
            const s = e.score;
            const name = `${e.page.title}/${e.page.index}`.padEnd(36);
            const recall = s.truthChars ? s.matchedChars / s.truthChars : 0;
            const precision = s.ocrChars ? s.matchedChars / s.ocrChars : 0;
            const cer = s.truthChars ? s.editDistance / s.truthChars : 0;
            output.out(`${name} ${String(s.truthChars).padStart(5)}  ${pct(recall)}  ${pct(precision)}  ${pct(cer)}  ${e.seconds.toFixed(2)}  ${e.cpuSeconds.toFixed(2)}\n`);
          },
        });
        output.out('\ngroup            pages  chars  recall%  prec%  CER%   med s  mean s  med cpu s\n');
        for (const [title, summary] of Object.entries(evaluation.byTitle)) output.out(row(title, summary));
        output.out(row('overall', evaluation.overall));
        output.out(`wall ${evaluation.wallSeconds.toFixed(1)} s for ${evaluation.pages.length} pages at concurrency ${options.concurrency}\n`);

        let identification: Awaited<ReturnType<typeof evaluateTextIdentification>> | null = null;
        if (options.identify) {
          const texts = new Map(evaluation.pages.map((e) => [e.page.file, e.result.text]));
          identification = await evaluateTextIdentification(pages, texts, ocr, { queriesPerPage: options.queriesPerPage, seed: options.seed });
          output.out(
            `\nidentification: ${identification.queries} bubble queries, rank-1 ${pct(identification.rank1)}%, rank-5 ${pct(identification.rank5)}%, ` +
              `${identification.empty} read nothing, median ${identification.medianSeconds.toFixed(2)} s per query\n`,
          );
        }
        if (options.json) {
          const report = {
            ocrEngine: ocr.id,
            overall: evaluation.overall,
            byTitle: evaluation.byTitle,
            wallSeconds: evaluation.wallSeconds,
            pages: evaluation.pages.map((e) => ({
              title: e.page.title,
              index: e.page.index,
              file: e.page.file,
              ...e.score,
              seconds: e.seconds,
              cpuSeconds: e.cpuSeconds,
              text: e.result.text,
              regions: e.result.regions ?? [],
            })),
            identification: identification && {
              queries: identification.queries,
              rank1: identification.rank1,
              rank5: identification.rank5,
              empty: identification.empty,
              medianSeconds: identification.medianSeconds,
              results: identification.results.map((r) => ({ file: r.query.page.file, crop: r.query.crop, truth: r.query.truth, ocrText: r.ocrText, rank: Number.isFinite(r.rank) ? r.rank : null })),
            },
          };
          writeFileSync(options.json, JSON.stringify(report, null, 1));
        }
      } finally {
        await ocr.close();
      }
    });
}
