/**
 * Tokenizer for OCR text in Japanese and Latin scripts, used the same way at index and query time.
 *
 * Japanese has no spaces and OCR drops or swaps characters, so CJK runs are cut into overlapping
 * character bigrams: one misread character spoils two bigrams, not the whole word. Before that,
 * text is folded so the misreadings tesseract makes most often cost nothing at all:
 * - NFKC (full-width Latin and digits, half-width katakana) and lower case;
 * - katakana to hiragana (へ/ヘ, り/リ, べ/ベ look the same; the script adds little to matching);
 * - small kana to full size (っ/つ, ゃ/や: the size is what OCR gets wrong);
 * - voicing marks dropped (が -> か, ぱ -> は: the marks are tiny and often lost or invented);
 * - look-alike kanji folded onto the kana they are confused with (口 -> ろ, 力 -> か, 工 -> え,
 *   二 -> に, 八 -> は, 卜 -> と, 夕 -> た), and 一 or a dash after Japanese to the long-vowel mark ー.
 * Latin text is split into words; stop words and single letters are dropped. Written here because
 * MiniSearch's default tokenizer keeps a whole CJK run as one term, and no maintained npm tokenizer
 * does both scripts with OCR in mind.
 */

/** Bumped whenever tokens change: an index built with other tokens must be rebuilt. */
export const tokenizerVersion = 2;

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

/**
 * Japanese bigrams (after folding) so frequent in any text that they tell pages apart no better
 * than "the": verb endings and particles glued together. Dropped for the same reason as English
 * stop words; a bigram index otherwise has a handful of terms that match nearly every page.
 */
export const japaneseStopBigrams: ReadonlySet<string> = new Set(['ます', 'てす', 'して', 'した', 'てい', 'いる', 'つて', 'つた', 'てし', 'まし']);

const SMALL_KANA: Record<string, string> = {
  ぁ: 'あ', ぃ: 'い', ぅ: 'う', ぇ: 'え', ぉ: 'お', っ: 'つ', ゃ: 'や', ゅ: 'ゆ', ょ: 'よ', ゎ: 'わ', ゕ: 'か', ゖ: 'け',
};

/** Characters OCR confuses with one another, mapped onto one of them (applied after katakana -> hiragana). */
const LOOK_ALIKES: Record<string, string> = {
  口: 'ろ', 力: 'か', 工: 'え', 二: 'に', 八: 'は', 卜: 'と', 夕: 'た', 一: 'ー', ゐ: 'い', ゑ: 'え',
};

// A dash after Japanese is a long-vowel mark OCR read as a dash; after Latin it is a hyphen and stays.
const DASH_AFTER_CJK = new RegExp(`(?<=${cjkClass})[-−‐―—~〜]`, 'gu');

const KATAKANA = /[\u30a1-\u30f6]/gu;
const VOICING_MARKS = /[\u3099\u309a]/gu;
const FOLDABLE = new RegExp(`[${Object.keys(SMALL_KANA).join('')}${Object.keys(LOOK_ALIKES).join('')}]`, 'gu');

/**
 * Folds text so visually confusable spellings become one: NFKC, lower case, katakana to hiragana,
 * small kana to full size, voicing marks removed, look-alikes unified (see the module comment).
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(KATAKANA, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60))
    .normalize('NFD')
    .replace(VOICING_MARKS, '')
    .normalize('NFC')
    .replace(FOLDABLE, (c) => SMALL_KANA[c] ?? LOOK_ALIKES[c] ?? c)
    .replace(DASH_AFTER_CJK, 'ー');
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
      for (let i = 0; i + 1 < chars.length; i++) {
        const bigram = chars[i]! + chars[i + 1]!;
        if (!japaneseStopBigrams.has(bigram)) tokens.push(bigram);
      }
    } else if (run.length >= 2 && !englishStopWords.has(run)) {
      tokens.push(run);
    }
  }
  return tokens;
}
