/**
 * Character-level OCR metrics against human transcriptions.
 *
 * Both sides are first reduced to the characters that carry meaning: NFKC (full/half width
 * folded), lower-cased, then whitespace, punctuation (\p{P}) and symbols (\p{S}) removed. Long
 * vowel marks (ー) and iteration marks (々) are letters here and stay.
 *
 * - **Character recall** of a page: the size of the multiset intersection of the ground-truth
 *   characters (all text boxes of the page together) and the OCR characters (the whole OCR text),
 *   divided by the number of ground-truth characters. Order-free, so it measures how much of the
 *   text was read at all, not whether it came out in reading order.
 * - **Character precision**: the same intersection divided by the number of OCR characters (how
 *   much of what OCR produced is real text; garbage read into drawings lowers it).
 * - **CER** (character error rate) of a page: for each ground-truth text box, the smallest edit
 *   distance (Levenshtein, unit costs) between the box's characters and any contiguous substring
 *   of the page's OCR characters (lines concatenated in the engine's reading order), summed over
 *   the boxes and divided by the number of ground-truth characters. A box that was not read at
 *   all costs its full length; a box read with one wrong character costs 1. Text read where no
 *   box is does not count against CER (precision shows it).
 */

const DROPPED = /[\s\p{P}\p{S}]/gu;

/** The characters a metric compares: NFKC, lower case, no whitespace/punctuation/symbols. */
export function metricCharacters(text: string): string[] {
  return [...text.normalize('NFKC').toLowerCase().replace(DROPPED, '')];
}

/** Size of the multiset intersection of two character lists. */
export function multisetIntersection(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const c of b) counts.set(c, (counts.get(c) ?? 0) + 1);
  let shared = 0;
  for (const c of a) {
    const n = counts.get(c) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(c, n - 1);
    }
  }
  return shared;
}

/** Levenshtein distance between `needle` and the best-matching substring of `haystack` (semi-global alignment). */
export function substringEditDistance(needle: readonly string[], haystack: readonly string[]): number {
  if (needle.length === 0) return 0;
  // dp over needle positions; a match may start anywhere in the haystack, so row 0 is all zeros.
  let previous = new Array<number>(haystack.length + 1).fill(0);
  let current = new Array<number>(haystack.length + 1).fill(0);
  for (let i = 1; i <= needle.length; i++) {
    current[0] = i;
    for (let j = 1; j <= haystack.length; j++) {
      const substitute = (previous[j - 1] as number) + (needle[i - 1] === haystack[j - 1] ? 0 : 1);
      current[j] = Math.min(substitute, (previous[j] as number) + 1, (current[j - 1] as number) + 1);
    }
    [previous, current] = [current, previous];
  }
  let best = needle.length;
  for (const v of previous) if (v < best) best = v;
  return best;
}

export interface PageScore {
  /** Ground-truth characters (after metricCharacters). */
  readonly truthChars: number;
  /** OCR characters (after metricCharacters). */
  readonly ocrChars: number;
  /** Multiset intersection size. */
  readonly matchedChars: number;
  /** Summed best-substring edit distances of the boxes. */
  readonly editDistance: number;
}

/** Scores one page: `boxes` are the transcriptions of its text boxes, `ocrText` the engine's text. */
export function scorePage(boxes: readonly string[], ocrText: string): PageScore {
  const ocr = metricCharacters(ocrText);
  const truthPerBox = boxes.map(metricCharacters);
  const truth = truthPerBox.flat();
  return {
    truthChars: truth.length,
    ocrChars: ocr.length,
    matchedChars: multisetIntersection(truth, ocr),
    editDistance: truthPerBox.reduce((sum, box) => sum + substringEditDistance(box, ocr), 0),
  };
}

export interface Rates {
  readonly recall: number;
  readonly precision: number;
  readonly cer: number;
}

/** Micro-averaged rates over pages (sums of counts, then ratios), so long pages weigh more. */
export function rates(pages: readonly PageScore[]): Rates {
  let truth = 0;
  let ocr = 0;
  let matched = 0;
  let edits = 0;
  for (const p of pages) {
    truth += p.truthChars;
    ocr += p.ocrChars;
    matched += p.matchedChars;
    edits += p.editDistance;
  }
  return { recall: truth > 0 ? matched / truth : 0, precision: ocr > 0 ? matched / ocr : 0, cer: truth > 0 ? edits / truth : 0 };
}
