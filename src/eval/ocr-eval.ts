/**
 * OCR quality on annotated pages: character recall, precision and CER (defined in
 * ocr-metrics.ts) page by page, per title and overall, with seconds per page.
 *
 * The annotation format is the OpenMantra one (`annotation.json` in the folder given): a list of
 * titles `{ book_title, pages: [{ page_index, image_paths: { ja }, text: [{ x, y, w, h, text_ja }] }] }`,
 * image paths relative to the folder. The project's fixtures ship a tiny file in the same format
 * (test/fixtures/annotation.json) so the evaluation runs in CI without the real pages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../decoding/decode-image.js';
import { SagasuError } from '../errors.js';
import type { Box, DecodedImage, OcrEngine, OcrResult } from '../types.js';
import { type PageScore, type Rates, rates, scorePage } from './ocr-metrics.js';

export interface AnnotatedBox extends Box {
  /** Human transcription. */
  readonly text: string;
}

export interface AnnotatedPage {
  readonly title: string;
  readonly index: number;
  /** Absolute path of the image. */
  readonly file: string;
  readonly boxes: readonly AnnotatedBox[];
}

interface RawAnnotation {
  book_title: string;
  pages: { page_index: number; image_paths: { ja: string }; text: { x: number; y: number; w: number; h: number; text_ja: string }[] }[];
}

/** Reads `<dir>/annotation.json`. Throws NOT_FOUND / INVALID_OPTION with the reason when it cannot. */
export function loadAnnotatedPages(dir: string): AnnotatedPage[] {
  const file = join(dir, 'annotation.json');
  let raw: RawAnnotation[];
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as RawAnnotation[];
  } catch (cause) {
    throw new SagasuError('NOT_FOUND', `cannot read the annotation file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (!Array.isArray(raw)) throw new SagasuError('INVALID_OPTION', `${file} must hold a list of titles`);
  return raw.flatMap((title) =>
    title.pages.map((page) => ({
      title: title.book_title,
      index: page.page_index,
      file: join(dir, page.image_paths.ja),
      boxes: page.text.map((t) => ({ x: t.x, y: t.y, w: t.w, h: t.h, text: t.text_ja })),
    })),
  );
}

export interface PageEvaluation {
  readonly page: AnnotatedPage;
  readonly score: PageScore;
  /** Wall-clock seconds of `recognize` for this page. */
  readonly seconds: number;
  /**
   * CPU seconds this process (main thread and OCR worker threads) spent during `recognize`: less
   * sensitive than wall time to other programs loading the machine. Only meaningful at concurrency 1.
   */
  readonly cpuSeconds: number;
  readonly result: OcrResult;
}

export interface GroupSummary extends Rates {
  readonly pages: number;
  readonly truthChars: number;
  readonly medianSeconds: number;
  readonly meanSeconds: number;
  readonly medianCpuSeconds: number;
}

export interface OcrEvaluation {
  readonly pages: readonly PageEvaluation[];
  readonly byTitle: Readonly<Record<string, GroupSummary>>;
  readonly overall: GroupSummary;
  /** Wall-clock seconds of the whole run (pages may overlap when concurrency > 1). */
  readonly wallSeconds: number;
}

export interface OcrEvaluationOptions {
  /** Pages read at the same time. 1 (the default) makes seconds per page the latency of one call. */
  readonly concurrency: number;
  /** Called after each page, e.g. for progress output. */
  readonly onPage: ((evaluation: PageEvaluation, done: number, total: number) => void) | null;
}

export const defaultOcrEvaluationOptions: OcrEvaluationOptions = { concurrency: 1, onPage: null };

/** Decodes a page the way the engine does when indexing it. */
export async function decodePage(file: string): Promise<DecodedImage> {
  return (await decodeImage(readFileSync(file))).image;
}

/** Reads every page with `ocr` and scores it. */
export async function evaluateOcr(pages: readonly AnnotatedPage[], ocr: OcrEngine, options: Partial<OcrEvaluationOptions> = {}): Promise<OcrEvaluation> {
  const o = { ...defaultOcrEvaluationOptions, ...options };
  const results: PageEvaluation[] = new Array(pages.length);
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < pages.length) {
      const i = next++;
      const page = pages[i] as AnnotatedPage;
      const image = await decodePage(page.file);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const result = await ocr.recognize(image);
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const evaluation = { page, score: scorePage(page.boxes.map((b) => b.text), result.text), seconds, cpuSeconds, result };
      results[i] = evaluation;
      o.onPage?.(evaluation, ++done, pages.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const wallSeconds = (performance.now() - started) / 1000;
  const titles = [...new Set(pages.map((p) => p.title))];
  const byTitle: Record<string, GroupSummary> = {};
  for (const title of titles) byTitle[title] = summarize(results.filter((r) => r.page.title === title));
  return { pages: results, byTitle, overall: summarize(results), wallSeconds };
}

export function summarize(pages: readonly PageEvaluation[]): GroupSummary {
  const seconds = pages.map((p) => p.seconds);
  return {
    pages: pages.length,
    truthChars: pages.reduce((n, p) => n + p.score.truthChars, 0),
    ...rates(pages.map((p) => p.score)),
    medianSeconds: median(seconds),
    meanSeconds: seconds.length > 0 ? seconds.reduce((a, b) => a + b, 0) / seconds.length : 0,
    medianCpuSeconds: median(pages.map((p) => p.cpuSeconds)),
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
