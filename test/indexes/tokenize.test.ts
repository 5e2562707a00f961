import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeText, tokenize, tokenizerVersion } from '../../src/indexes/tokenize.js';

describe('tokenize', () => {
  it('splits Latin text into lower-case words and drops stop words and single letters', () => {
    assert.deepEqual(tokenize('The Quick brown fox, jumps over a lazy dog!'), ['quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog']);
  });

  it('cuts Japanese runs into overlapping character bigrams', () => {
    assert.deepEqual(tokenize('探し物は'), ['探し', 'し物', '物は']);
  });

  it('keeps a lone CJK character as a unigram', () => {
    assert.deepEqual(tokenize('夢'), ['夢']);
  });

  it('separates mixed scripts at the script boundary', () => {
    assert.deepEqual(tokenize('SAGASU探す2026年'), ['sagasu', '探す', '2026', '年']);
  });

  it('folds full-width Latin and half-width katakana (NFKC), then katakana to hiragana without voicing marks', () => {
    assert.deepEqual(tokenize('ＳＡＧＡＳＵ ｻｶﾞｽ'), ['sagasu', 'さか', 'かす']);
    assert.equal(normalizeText('ＡＢＣ'), 'abc');
  });

  it('gives the same tokens for spellings OCR confuses: script, small kana, voicing, look-alike kanji, dashes', () => {
    assert.deepEqual(tokenize('ガッコウ'), tokenize('かつこう'));
    assert.deepEqual(tokenize('コーヒー'), tokenize('コ一ヒ-'));
    assert.deepEqual(tokenize('ロカエニハトタ'), tokenize('口力工二八卜夕'));
    assert.deepEqual(tokenize('べんきょう'), tokenize('ベんきよう'));
    assert.deepEqual(tokenize('コーヒー'), ['こー', 'ーひ', 'ひー']);
  });

  it('keeps a hyphen between Latin words and digits a separator', () => {
    assert.deepEqual(tokenize('t-shirt 2026-01'), ['shirt', '2026', '01']);
  });

  it('drops the Japanese bigrams that occur in nearly every text', () => {
    assert.deepEqual(tokenize('ありがとうございます'), ['あり', 'りか', 'かと', 'とう', 'うこ', 'こさ', 'さい', 'いま']);
    assert.deepEqual(tokenize('しています'), ['いま']);
  });

  it('returns nothing for punctuation and spaces', () => {
    assert.deepEqual(tokenize(' 、。!? -- '), []);
  });

  it('is versioned so old index snapshots are rebuilt', () => {
    assert.equal(tokenizerVersion, 2);
  });
});
