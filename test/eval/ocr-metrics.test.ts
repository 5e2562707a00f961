import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricCharacters, multisetIntersection, rates, scorePage, substringEditDistance } from '../../src/eval/ocr-metrics.js';

describe('metricCharacters', () => {
  it('keeps letters and digits only, NFKC-folded and lower-cased', () => {
    assert.deepEqual(metricCharacters('おぉ...なるほど！ ＡＢ c-1'), ['お', 'ぉ', 'な', 'る', 'ほ', 'ど', 'a', 'b', 'c', '1']);
  });

  it('keeps the long vowel mark and the iteration mark', () => {
    assert.deepEqual(metricCharacters('コーヒー々'), ['コ', 'ー', 'ヒ', 'ー', '々']);
  });
});

describe('multisetIntersection', () => {
  it('counts shared characters as many times as both sides hold them', () => {
    assert.equal(multisetIntersection([...'ああいう'], [...'あいいえ']), 2);
  });
});

describe('substringEditDistance', () => {
  it('is 0 when the needle occurs anywhere in the haystack', () => {
    assert.equal(substringEditDistance([...'固めて'], [...'蝋で固めてある']), 0);
  });

  it('counts one substitution and one deletion', () => {
    assert.equal(substringEditDistance([...'夢の翼は'], [...'xx夢ら翼xx']), 2);
  });

  it('costs the whole needle when nothing was read', () => {
    assert.equal(substringEditDistance([...'abc'], []), 3);
  });
});

describe('scorePage and rates', () => {
  it('scores a page against its boxes and averages over characters', () => {
    const page = scorePage(['夢の翼は', '蝋で固めてある'], '夢の翼は\n蝋で固めて ゴミ');
    assert.deepEqual(page, { truthChars: 11, ocrChars: 11, matchedChars: 9, editDistance: 2 });
    const empty = scorePage(['あい'], '');
    assert.deepEqual(rates([page, empty]), { recall: 9 / 13, precision: 9 / 11, cer: 4 / 13 });
  });
});
