/**
 * Tokenizer for OCR text in Japanese and Latin scripts.
 *
 * Japanese has no spaces and OCR drops or swaps characters, so CJK runs are cut into overlapping
 * character bigrams: one misread character spoils two bigrams, not the whole word. Latin text is
 * split into words. Written here because MiniSearch's default tokenizer keeps a whole CJK run as
 * one term, and no maintained npm tokenizer does both scripts with OCR in mind.
 */

/** Bumped whenever tokens change: an index built with other tokens must be rebuilt. */
export const tokenizerVersion = 1;

const cjkClass = '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}ー々〆ヵヶ]';
const cjk = new RegExp(cjkClass, 'u');
// A CJK run, or a run of other letters and digits that stops where CJK starts.
const tokenPattern = new RegExp(`${cjkClass}+|(?:(?!${cjkClass})[\\p{L}\\p{N}])+`, 'gu');

/** Very common English words: they match nearly every page and slow queries down. */
export const englishStopWords: ReadonlySet<string> = new Set(
  (
    'a an and are as at be but by for from has have he her his i if in into is it its me my no not of on or ' +
    'our she so that the their them then there they this to was we were what when which who will with you your'
  ).split(' '),
);

/** NFKC folds full-width Latin and half-width katakana into their usual forms; then lower case. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

export function isCjk(term: string): boolean {
  return cjk.test(term);
}

export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const [run] of normalizeText(text).matchAll(tokenPattern)) {
    if (isCjk(run[0]!)) {
      const chars = [...run];
      if (chars.length === 1) tokens.push(run);
      for (let i = 0; i + 1 < chars.length; i++) tokens.push(chars[i]! + chars[i + 1]!);
    } else if (run.length >= 2 && !englishStopWords.has(run)) {
      tokens.push(run);
    }
  }
  return tokens;
}
