import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeText, tokenize } from '../../src/indexes/tokenize.js';

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

  it('folds full-width Latin and half-width katakana (NFKC)', () => {
    assert.deepEqual(tokenize('ＳＡＧＡＳＵ ｻｶﾞｽ'), ['sagasu', 'サガ', 'ガス']);
    assert.equal(normalizeText('ＡＢＣ'), 'abc');
  });

  it('returns nothing for punctuation and spaces', () => {
    assert.deepEqual(tokenize(' 、。!? -- '), []);
  });
});
