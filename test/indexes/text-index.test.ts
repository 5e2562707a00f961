import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TextIndex } from '../../src/indexes/text-index.js';

function sampleIndex(): TextIndex {
  const index = new TextIndex();
  index.add({ id: 1, text: 'WHERE IS THE LIGHTHOUSE', names: 'page-01.png' });
  index.add({ id: 2, text: 'MIDNIGHT BAKERY OPENS', names: 'page-02.png' });
  index.add({ id: 3, text: '夢の翼は蝋で固めてある', names: '' });
  return index;
}

describe('TextIndex.search', () => {
  it('finds a document by one of its words, with the matched term', () => {
    const hits = sampleIndex().search('lighthouse');
    assert.deepEqual(hits.map((hit) => [hit.id, hit.terms]), [[1, ['lighthouse']]]);
  });

  it('finds Japanese text from a fragment through shared bigrams', () => {
    const hits = sampleIndex().search('蝋で固め');
    assert.equal(hits[0]?.id, 3);
    // Terms are in folded form (voicing marks dropped, see tokenize.ts).
    assert.deepEqual(hits[0]?.terms.sort(), ['て固', '固め', '蝋て'].sort());
  });

  it('finds Japanese text whose query was read with OCR confusions (katakana/hiragana, small kana, look-alikes)', () => {
    const index = sampleIndex();
    index.add({ id: 4, text: 'コーヒーが飲みたいっ', names: '' });
    const hits = index.search('コ一ヒ-か飲みたいつ');
    assert.equal(hits[0]?.id, 4);
    assert.deepEqual(hits[0]?.terms.sort(), ['こー', 'ーひ', 'ひー', 'ーか', 'か飲', '飲み', 'みた', 'たい', 'いつ'].sort());
  });

  it('survives one misread letter in a long Latin word (fuzzy)', () => {
    assert.equal(sampleIndex().search('BAKFRY')[0]?.id, 2);
  });

  it('matches numbers exactly: one digit away is another page', () => {
    const index = sampleIndex();
    index.add({ id: 4, text: 'CHAPTER 10452', names: '' });
    index.add({ id: 5, text: 'ORDER AB1234', names: '' });
    assert.deepEqual(index.search('10453').map((hit) => hit.id), []);
    assert.deepEqual(index.search('10452').map((hit) => hit.id), [4]);
    assert.deepEqual(index.search('AB1235').map((hit) => hit.id), []);
  });

  it('ranks the document sharing more words first', () => {
    const hits = sampleIndex().search('midnight lighthouse bakery');
    assert.deepEqual(hits.map((hit) => hit.id), [2, 1]);
  });

  it('searches file names and captions too', () => {
    assert.equal(sampleIndex().search('page 02')[0]?.id, 2);
  });

  it('returns nothing for stop words alone and respects the filter', () => {
    assert.deepEqual(sampleIndex().search('the is'), []);
    assert.deepEqual(sampleIndex().search('lighthouse bakery', { filter: (id) => id !== 1 }).map((hit) => hit.id), [2]);
  });
});

describe('TextIndex.add and remove', () => {
  it('replaces a document added again under the same id, and forgets a removed one', () => {
    const index = sampleIndex();
    index.add({ id: 1, text: 'completely different words', names: '' });
    assert.deepEqual(index.search('lighthouse'), []);
    assert.equal(index.search('different')[0]?.id, 1);
    assert.equal(index.remove(1), true);
    assert.equal(index.remove(1), false);
    assert.deepEqual(index.search('different'), []);
    assert.equal(index.count, 2);
  });
});

describe('TextIndex.save and load', () => {
  it('round-trips documents and the change sequence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sagasu-text-'));
    const index = sampleIndex();
    index.seq = 42;
    index.save(join(dir, 'text.json'));
    const loaded = TextIndex.load(join(dir, 'text.json'))!;
    assert.equal(loaded.seq, 42);
    assert.equal(loaded.count, 3);
    assert.deepEqual(loaded.search('bakery').map((hit) => hit.id), [2]);
  });

  it('returns undefined for a missing or damaged snapshot, so the caller rebuilds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sagasu-text-'));
    assert.equal(TextIndex.load(join(dir, 'none.json')), undefined);
    writeFileSync(join(dir, 'bad.json'), '{"version": 1, "tokenizerVer');
    assert.equal(TextIndex.load(join(dir, 'bad.json')), undefined);
    writeFileSync(join(dir, 'old.json'), JSON.stringify({ version: 1, tokenizerVersion: 0, seq: 1, index: {} }));
    assert.equal(TextIndex.load(join(dir, 'old.json')), undefined);
  });
});

describe('TextIndex.search work limit', () => {
  it('drops the most common query terms past the postings budget, keeping the rare ones that identify the page', () => {
    const index = new TextIndex({ maxPostings: 50 });
    for (let id = 1; id <= 200; id++) index.add({ id, text: `common everywhere page${id}`, names: '' });
    index.add({ id: 999, text: 'common everywhere lighthouse keeper', names: '' });
    const hits = index.search('common everywhere lighthouse keeper');
    assert.equal(hits[0]?.id, 999);
    assert.deepEqual(hits[0]?.terms.sort(), ['keeper', 'lighthouse']);
    assert.equal(hits.length, 1, 'the common terms were not searched');
  });

  it('keeps the two rarest terms even when each alone is over the budget', () => {
    const index = new TextIndex({ maxPostings: 10 });
    for (let id = 1; id <= 100; id++) index.add({ id, text: id <= 60 ? 'alpha beta' : 'alpha gamma', names: '' });
    const hits = index.search('alpha beta gamma', { limit: 200 });
    assert.equal(hits.length, 100, 'every document holds beta or gamma');
    assert.ok(hits.every((hit) => hit.terms.length === 1 && ['beta', 'gamma'].includes(hit.terms[0]!)), 'alpha was not searched');
  });
});

describe('TextIndex.search stop words', () => {
  it('does not search a term found in more than a fifth of a large collection', () => {
    const index = new TextIndex();
    for (let id = 1; id <= 1000; id++) index.add({ id, text: id % 4 === 0 ? `everywhere p${id}` : `p${id}`, names: '' });
    assert.deepEqual(index.search('everywhere'), []);
    assert.deepEqual(index.search('everywhere p8').map((hit) => [hit.id, hit.terms]), [[8, ['p8']]]);
  });
});
