/**
 * Turning tesseract's raw lines into what the text index should see: CJK spacing removed,
 * garbage dropped, and the lines of several passes (horizontal, vertical, per bubble) merged
 * so each piece of text appears once, in its best reading.
 */
import type { Box, OcrLine, OcrWord } from '../types.js';

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u3000-\\u303f\\u30fc\\uff01-\\uff60';
const CJK_SPACE = new RegExp(`(?<=[${CJK}])\\s+(?=[${CJK}])`, 'gu');
const HAS_CJK = new RegExp(`[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]`, 'u');
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/gu;

/** True when the text holds at least one Han, Hiragana or Katakana character. */
export const hasCjk = (text: string): boolean => HAS_CJK.test(text);

/** Letters and digits in the text: what a reading is worth, punctuation and noise aside. */
export const letterCount = (text: string): number => text.match(LETTER_OR_DIGIT)?.length ?? 0;

/**
 * Normalises one line: trims, collapses runs of whitespace, and removes the spaces tesseract puts
 * between CJK characters (Japanese has no spaces between words).
 */
export function cleanText(text: string): string {
  return text.replace(/\s+/gu, ' ').trim().replace(CJK_SPACE, '');
}

export interface LineFilter {
  /** Lines under this confidence (0-100) are dropped. */
  readonly minConfidence: number;
}

/**
 * Whether a cleaned line is worth keeping: confident enough, and not lone punctuation or a stray
 * Latin letter (tesseract reads those into hatching and outlines). A single CJK character can be a
 * whole word, so it stays when read confidently.
 */
export function isMeaningful(text: string, confidence: number, filter: LineFilter): boolean {
  if (confidence < filter.minConfidence) return false;
  const letters = letterCount(text);
  if (letters === 0) return false;
  if (letters === 1) return hasCjk(text) && confidence >= Math.max(filter.minConfidence, 80);
  return true;
}

/** How well a pass read a region: confident, letter-weighted, and rewarding long lines. */
export function readingScore(lines: readonly { text: string; confidence: number }[]): number {
  // Reading text in the wrong direction gives many 1-2 character lines at high confidence;
  // dividing by the line count makes the direction that yields longer lines win.
  if (lines.length === 0) return 0;
  let sum = 0;
  for (const l of lines) sum += l.confidence * letterCount(l.text);
  return sum / lines.length;
}

export const area = (b: Box): number => b.w * b.h;

/** Intersection area over the smaller box's area: 1 when one box lies inside the other. */
export function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const smaller = Math.min(area(a), area(b));
  return smaller > 0 ? (w * h) / smaller : 0;
}

/**
 * Merges candidate lines from several passes: the best reading (confidence x letters) of each
 * spot wins, and lines overlapping an already kept line by more than `maxOverlap` are dropped.
 * Output is in reading order: lines of one region (a bubble; 0 = outside bubbles) stay together,
 * regions ordered top to bottom, then left to right.
 */
export function mergeLines(candidates: readonly (OcrLine & { region: number })[], maxOverlap = 0.5): OcrLine[] {
  const ranked = [...candidates].sort(
    (a, b) => b.confidence * Math.min(letterCount(b.text), 8) - a.confidence * Math.min(letterCount(a.text), 8) || b.confidence - a.confidence,
  );
  const kept: (OcrLine & { region: number })[] = [];
  for (const line of ranked) {
    if (kept.some((k) => overlap(k.box, line.box) > maxOverlap)) continue;
    kept.push(line);
  }
  const anchors = new Map<number, Box>();
  for (const line of kept) {
    const a = anchors.get(line.region);
    if (line.region !== 0 && (!a || line.box.y < a.y)) anchors.set(line.region, line.box);
  }
  const anchor = (l: OcrLine & { region: number }): Box => (l.region === 0 ? l.box : (anchors.get(l.region) as Box));
  // Region numbers are 1-based here (0 = whole image) and become 0-based indices into OcrResult.regions.
  return kept.sort((a, b) => readingOrder(a, b, anchor)).map(({ region, ...line }) => (region > 0 ? { ...line, region: region - 1 } : line));
}

/** Region by region (top to bottom); within one, horizontal lines top to bottom, vertical columns right to left. */
function readingOrder(a: OcrLine & { region: number }, b: OcrLine & { region: number }, anchor: (l: OcrLine & { region: number }) => Box): number {
  if (a.region !== b.region || a.region === 0) {
    const pa = anchor(a);
    const pb = anchor(b);
    if (pa !== pb) return pa.y - pb.y || pa.x - pb.x;
  }
  if (a.orientation !== b.orientation) return a.orientation === 'horizontal' ? -1 : 1;
  if (a.orientation === 'vertical') return b.box.x + b.box.w - (a.box.x + a.box.w) || a.box.y - b.box.y;
  return a.box.y - b.box.y || a.box.x - b.box.x;
}

/** Moves a box from a scaled crop back into image coordinates, clamped to the image. */
export function mapBox(b: Box, scale: number, offsetX: number, offsetY: number, width: number, height: number): Box {
  const x = Math.max(0, Math.min(width, Math.floor(b.x / scale) + offsetX));
  const y = Math.max(0, Math.min(height, Math.floor(b.y / scale) + offsetY));
  const x1 = Math.max(x, Math.min(width, Math.ceil((b.x + b.w) / scale) + offsetX));
  const y1 = Math.max(y, Math.min(height, Math.ceil((b.y + b.h) / scale) + offsetY));
  return { x, y, w: x1 - x, h: y1 - y };
}

export function cleanWords(words: readonly OcrWord[]): OcrWord[] {
  return words.map((w) => ({ ...w, text: cleanText(w.text) })).filter((w) => w.text.length > 0);
}

/**
 * Keeps the confident words of a line whose overall confidence is too low: tesseract gives a line
 * the confidence of its worst word, so one unreadable glyph (a character cut by the crop, a sound
 * effect) would otherwise throw away the well-read rest. Returns null when fewer than two letters
 * remain. Confidence of the result: the letter-weighted mean of the kept words.
 */
export function confidentWords(words: readonly OcrWord[], minConfidence: number): { text: string; confidence: number; words: OcrWord[] } | null {
  const kept = words.filter((w) => w.confidence >= minConfidence && letterCount(w.text) > 0);
  const letters = kept.reduce((n, w) => n + letterCount(w.text), 0);
  if (letters < 2) return null;
  const confidence = kept.reduce((n, w) => n + w.confidence * letterCount(w.text), 0) / letters;
  return { text: cleanText(kept.map((w) => w.text).join(' ')), confidence: Math.round(confidence * 10) / 10, words: kept };
}
