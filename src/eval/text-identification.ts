/**
 * Text-only page identification: with every page's OCR text in a TextIndex, does the OCR text of a
 * speech-bubble-sized crop find its page?
 *
 * Queries are made from the annotation: pick a text box at random (seeded), add up to
 * `maxBoxes - 1` of its nearest neighbours whose centres lie within `neighbourDistance` pixels,
 * crop the union of their boxes plus `margin` pixels from the decoded page, read the crop with the
 * real OCR engine, and search. The rank of the page the crop came from is recorded (Infinity when
 * it is not in the results or the crop read nothing).
 */
import sharp from 'sharp';
import { TextIndex } from '../indexes/text-index.js';
import type { Box, DecodedImage, OcrEngine } from '../types.js';
import { type AnnotatedBox, type AnnotatedPage, decodePage, median } from './ocr-eval.js';
import { seededRandom } from '../random.js';

export interface IdentificationOptions {
  /** Queries made from each page. Default 2. */
  readonly queriesPerPage: number;
  /** At most this many neighbouring boxes per query. Default 2. */
  readonly maxBoxes: number;
  /** Neighbours farther than this (centre to centre, pixels) are not added. Default 160. */
  readonly neighbourDistance: number;
  /** Pixels added around the boxes' union. Default 16. */
  readonly margin: number;
  /** Seed of the query generator. Default 1. */
  readonly seed: number;
  /** Boxes whose transcription has fewer characters than this are not picked as the first box. Default 2. */
  readonly minChars: number;
}

export const defaultIdentificationOptions: IdentificationOptions = {
  queriesPerPage: 2,
  maxBoxes: 2,
  neighbourDistance: 160,
  margin: 16,
  seed: 1,
  minChars: 2,
};

export interface IdentificationQuery {
  readonly page: AnnotatedPage;
  readonly crop: Box;
  /** What the crop's transcriptions say (for reports). */
  readonly truth: string;
}

export interface IdentificationResult {
  readonly query: IdentificationQuery;
  readonly ocrText: string;
  /** 1-based rank of the right page; Infinity when not found. */
  readonly rank: number;
  readonly seconds: number;
}

export interface IdentificationReport {
  readonly results: readonly IdentificationResult[];
  readonly rank1: number;
  readonly rank5: number;
  readonly queries: number;
  /** Queries whose crop read no text at all. */
  readonly empty: number;
  readonly medianSeconds: number;
}

export { seededRandom };

const centre = (b: Box): [number, number] => [b.x + b.w / 2, b.y + b.h / 2];

/** Deterministic queries for the pages (see the module comment). */
export function makeQueries(pages: readonly AnnotatedPage[], sizes: ReadonlyMap<string, { width: number; height: number }>, options: Partial<IdentificationOptions> = {}): IdentificationQuery[] {
  const o = { ...defaultIdentificationOptions, ...options };
  const random = seededRandom(o.seed);
  const queries: IdentificationQuery[] = [];
  for (const page of pages) {
    const size = sizes.get(page.file);
    if (!size) continue;
    const candidates = page.boxes.filter((b) => [...b.text.replace(/[\s\p{P}\p{S}]/gu, '')].length >= o.minChars);
    const used = new Set<AnnotatedBox>();
    for (let q = 0; q < o.queriesPerPage && used.size < candidates.length; q++) {
      const free = candidates.filter((b) => !used.has(b));
      const first = free[Math.floor(random() * free.length)] as AnnotatedBox;
      const [cx, cy] = centre(first);
      const neighbours = page.boxes
        .filter((b) => b !== first)
        .map((b) => ({ b, d: Math.hypot(centre(b)[0] - cx, centre(b)[1] - cy) }))
        .filter((n) => n.d <= o.neighbourDistance)
        .sort((a, b) => a.d - b.d)
        .slice(0, Math.floor(random() * o.maxBoxes))
        .map((n) => n.b);
      const chosen = [first, ...neighbours];
      for (const b of chosen) used.add(b);
      const x0 = Math.max(0, Math.min(...chosen.map((b) => b.x)) - o.margin);
      const y0 = Math.max(0, Math.min(...chosen.map((b) => b.y)) - o.margin);
      const x1 = Math.min(size.width, Math.max(...chosen.map((b) => b.x + b.w)) + o.margin);
      const y1 = Math.min(size.height, Math.max(...chosen.map((b) => b.y + b.h)) + o.margin);
      if (x1 - x0 < 4 || y1 - y0 < 4) continue;
      queries.push({ page, crop: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, truth: chosen.map((b) => b.text).join(' / ') });
    }
  }
  return queries;
}

/** Cuts `box` out of a decoded image as a new DecodedImage. */
export async function cropImage(image: DecodedImage, box: Box): Promise<DecodedImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: box.x, top: box.y, width: box.w, height: box.h })
    .raw()
    .toBuffer();
  return { data, width: box.w, height: box.h, channels: 3, original: { width: box.w, height: box.h, format: 'raw', bytes: data.length } };
}

/**
 * Indexes `pageTexts` (page file -> OCR text) and runs the queries. The index is a plain TextIndex,
 * the one the engine uses for its text source.
 */
export async function evaluateTextIdentification(
  pages: readonly AnnotatedPage[],
  pageTexts: ReadonlyMap<string, string>,
  ocr: OcrEngine,
  options: Partial<IdentificationOptions> = {},
): Promise<IdentificationReport> {
  const index = new TextIndex();
  const ids = new Map<string, number>();
  pages.forEach((page, i) => {
    ids.set(page.file, i + 1);
    index.add({ id: i + 1, text: pageTexts.get(page.file) ?? '', names: '' });
  });
  const images = new Map<string, DecodedImage>();
  for (const page of pages) images.set(page.file, await decodePage(page.file));
  const queries = makeQueries(pages, images, options);
  const results: IdentificationResult[] = [];
  for (const query of queries) {
    const crop = await cropImage(images.get(query.page.file) as DecodedImage, query.crop);
    const t0 = performance.now();
    const { text } = await ocr.recognize(crop);
    const seconds = (performance.now() - t0) / 1000;
    const hits = index.search(text, { limit: 50 });
    const position = hits.findIndex((h) => h.id === ids.get(query.page.file));
    results.push({ query, ocrText: text, rank: position >= 0 ? position + 1 : Infinity, seconds });
  }
  const n = Math.max(1, results.length);
  return {
    results,
    queries: results.length,
    rank1: results.filter((r) => r.rank === 1).length / n,
    rank5: results.filter((r) => r.rank <= 5).length / n,
    empty: results.filter((r) => r.ocrText.trim() === '').length,
    medianSeconds: median(results.map((r) => r.seconds)),
  };
}
