import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import MiniSearch from 'minisearch';
import { TextIndex, type TextDocument, type TextHit } from '../../src/indexes/text-index.js';
import { tokenize } from '../../src/indexes/tokenize.js';
import { seededRandom } from '../../src/random.js';
import { scratchDir } from '../helpers/scratch.js';

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

  it('says which matched terms were found only through a fuzzy neighbour', () => {
    const hits = sampleIndex().search('bakfry midnight');
    assert.deepEqual(
      hits.map((hit) => [hit.id, hit.terms.sort(), hit.approximate]),
      [[2, ['bakfry', 'midnight'], ['bakfry']]],
    );
    const index = sampleIndex();
    index.add({ id: 4, text: 'bakfry', names: '' });
    // Found as itself in 4, only approximately in 2.
    assert.deepEqual(
      index.search('bakfry').map((hit) => [hit.id, hit.approximate]),
      [[4, []], [2, ['bakfry']]],
    );
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
    const dir = scratchDir('sagasu-text-');
    const index = sampleIndex();
    index.seq = 42;
    index.save(join(dir, 'text.json'));
    const loaded = TextIndex.load(join(dir, 'text.json'))!;
    assert.equal(loaded.seq, 42);
    assert.equal(loaded.count, 3);
    assert.deepEqual(loaded.search('bakery').map((hit) => hit.id), [2]);
  });

  it('returns undefined for a missing or damaged snapshot, so the caller rebuilds', () => {
    const dir = scratchDir('sagasu-text-');
    assert.equal(TextIndex.load(join(dir, 'none.bin')), undefined);
    // MiniSearch's JSON snapshot, as written before the compact index.
    writeFileSync(join(dir, 'old.json'), JSON.stringify({ version: 1, tokenizerVersion: 2, seq: 1, index: {} }));
    assert.equal(TextIndex.load(join(dir, 'old.json')), undefined);
    const index = sampleIndex();
    index.save(join(dir, 'good.bin'));
    const bytes = readFileSync(join(dir, 'good.bin'));
    writeFileSync(join(dir, 'truncated.bin'), bytes.subarray(0, bytes.length - 3));
    assert.equal(TextIndex.load(join(dir, 'truncated.bin')), undefined);
    writeFileSync(join(dir, 'longer.bin'), Buffer.concat([bytes, Buffer.alloc(4)]));
    assert.equal(TextIndex.load(join(dir, 'longer.bin')), undefined);
    const headerLength = bytes.readUInt32LE(4);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as { tokenizerVersion: number };
    const otherTokenizer = Buffer.from(JSON.stringify({ ...header, tokenizerVersion: header.tokenizerVersion + 1 }));
    const lead = Buffer.from(bytes.subarray(0, 8));
    lead.writeUInt32LE(otherTokenizer.length, 4);
    writeFileSync(join(dir, 'other-tokenizer.bin'), Buffer.concat([lead, otherTokenizer, bytes.subarray(8 + headerLength)]));
    assert.equal(TextIndex.load(join(dir, 'other-tokenizer.bin')), undefined);
    // A posting pointing past the last document: the file ends with the names field's slots, then its frequencies.
    const namesPostings = (header as unknown as { postings: number[] }).postings[1]!;
    const badSlot = Buffer.from(bytes);
    badSlot.writeInt32LE(1000, badSlot.length - 2 * namesPostings - 4);
    writeFileSync(join(dir, 'bad-slot.bin'), badSlot);
    assert.equal(TextIndex.load(join(dir, 'bad-slot.bin')), undefined);
    assert.deepEqual(TextIndex.load(join(dir, 'good.bin'))!.search('bakery').map((hit) => hit.id), [2]);
  });

  it('keeps documents added after a load, and removals, through another save', () => {
    const dir = scratchDir('sagasu-text-');
    sampleIndex().save(join(dir, 'text.bin'));
    const loaded = TextIndex.load(join(dir, 'text.bin'))!;
    loaded.add({ id: 7, text: 'LIGHTHOUSE KEEPER', names: '' });
    loaded.remove(2);
    loaded.save(join(dir, 'text.bin'));
    const again = TextIndex.load(join(dir, 'text.bin'))!;
    assert.equal(again.count, 3);
    assert.deepEqual(again.search('lighthouse keeper').map((hit) => hit.id), [7, 1]);
    assert.deepEqual(again.search('bakery'), []);
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

/** Documents drawn from a small vocabulary: Latin words (some misspelt, some with digits), numbers and Japanese. */
function randomDocuments(count: number, seed: number, firstId = 1): TextDocument[] {
  const random = seededRandom(seed);
  const words = ['lighthouse', 'bakery', 'midnight', 'keeper', 'harbour', 'chapter', 'volume', 'sunflower', 'ocean', 'stairs', 'lantern', 'window'];
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const misspell = (word: string) => {
    const at = Math.floor(random() * word.length);
    const replacement = random() < 0.3 ? String(Math.floor(random() * 10)) : pick([...'abcdefghijklmnopqrstuvwxyz']);
    return word.slice(0, at) + replacement + word.slice(at + 1);
  };
  const japanese = ['夢の翼は蝋で固めてある', 'コーヒーが飲みたい', '灯台守の夜', '深夜のパン屋'];
  const term = () => {
    const roll = random();
    if (roll < 0.5) return pick(words);
    if (roll < 0.7) return misspell(pick(words));
    if (roll < 0.85) return String(Math.floor(random() * 400));
    return pick(japanese).slice(0, 2 + Math.floor(random() * 5));
  };
  return Array.from({ length: count }, (_, i) => ({
    id: firstId + i,
    text: Array.from({ length: 1 + Math.floor(random() * 12) }, term).join(' '),
    names: random() < 0.3 ? `page-${Math.floor(random() * 50)} ${pick(words)}` : '',
  }));
}

type ReferenceHit = Omit<TextHit, 'approximate'>;

/** MiniSearch set up as this project's text index was before the compact one: the reference ranking. */
function miniSearchHits(documents: TextDocument[], query: string, options: { fuzzy?: number; namesBoost?: number } = {}): ReferenceHit[] {
  const { fuzzy = 0.2, namesBoost = 0.5 } = options;
  const index = new MiniSearch<TextDocument>({ idField: 'id', fields: ['text', 'names'], storeFields: [], tokenize, processTerm: (term: string) => term });
  index.addAll(documents);
  const terms = [...new Set(tokenize(query))];
  if (terms.length === 0) return [];
  return index
    .search(
      { combineWith: 'OR', queries: terms },
      {
        combineWith: 'OR',
        boost: { text: 1, names: namesBoost },
        fuzzy: (term: string) => (term.length >= 5 && !/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(term) && !/\p{N}/u.test(term) ? fuzzy : false),
        prefix: false,
      },
    )
    .map((result) => ({ id: result.id as number, score: result.score, terms: result.queryTerms }));
}

/** Same documents, same scores (to rounding), same matched terms; ranked by score. */
function assertSameHits(actual: TextHit[], expected: ReferenceHit[], query: string): void {
  assert.deepEqual(
    actual.map((hit) => hit.id).sort((a, b) => a - b),
    expected.map((hit) => hit.id).sort((a, b) => a - b),
    `documents for "${query}"`,
  );
  const reference = new Map(expected.map((hit) => [hit.id, hit]));
  for (const hit of actual) {
    const other = reference.get(hit.id)!;
    assert.ok(Math.abs(hit.score - other.score) <= 1e-9 * Math.max(1, other.score), `score of ${hit.id} for "${query}": ${hit.score} vs ${other.score}`);
    assert.deepEqual([...hit.terms].sort(), [...other.terms].sort(), `terms of ${hit.id} for "${query}"`);
  }
  for (let i = 1; i < actual.length; i++) assert.ok(actual[i - 1]!.score >= actual[i]!.score, `ranked by score for "${query}"`);
}

describe('TextIndex.search ranking', () => {
  const documents = randomDocuments(400, 7);
  const queries = randomDocuments(60, 8).map((document) => document.text);
  queries.push('lighthouse', 'lighthuose keeper', 'bakery1', 'b4kery', 'sunfl0wer chapter', '夢の翼', 'page 12');
  // No work limit and no collection stop words: MiniSearch has neither.
  const options = { maxPostings: Infinity, maxTermShare: 1 };

  it('ranks as MiniSearch does (BM25+, field boost, fuzzy weights, matched-term multiplier)', () => {
    const index = new TextIndex(options);
    for (const document of documents) index.add(document);
    for (const query of queries) assertSameHits(index.search(query, { limit: 1000 }), miniSearchHits(documents, query), query);
  });

  it('ranks the same with part of the postings merged (saved and loaded) and part added since', () => {
    const dir = scratchDir('sagasu-text-');
    const first = new TextIndex(options);
    for (const document of documents.slice(0, 250)) first.add(document);
    first.save(join(dir, 'text.bin'));
    const index = TextIndex.load(join(dir, 'text.bin'), options)!;
    for (const document of documents.slice(250)) index.add(document);
    for (const query of queries) assertSameHits(index.search(query, { limit: 1000 }), miniSearchHits(documents, query), query);
  });

  it('with other fuzzy and names settings too', () => {
    const index = new TextIndex({ ...options, fuzzy: 0.35, namesBoost: 2 });
    for (const document of documents) index.add(document);
    for (const query of queries) assertSameHits(index.search(query, { limit: 1000 }), miniSearchHits(documents, query, { fuzzy: 0.35, namesBoost: 2 }), query);
  });

  it('scores with removed documents gone entirely, before and after they are merged away', () => {
    const many = randomDocuments(3000, 9);
    const index = new TextIndex(options);
    for (const document of many) index.add(document);
    const removed = new Set(many.filter((_, i) => i % 5 === 0).map((document) => document.id));
    // 600 removals: under the 1,000 that trigger a merge.
    for (const id of removed) index.remove(id);
    let kept = many.filter((document) => !removed.has(document.id));
    for (const query of queries.slice(0, 20)) assertSameHits(index.search(query, { limit: 5000 }), miniSearchHits(kept, query), query);
    // 700 more: past 1,000 and a tenth of the slots, so dead documents are merged away.
    const more = new Set(kept.filter((_, i) => i % 3 === 1).map((document) => document.id));
    for (const id of more) index.remove(id);
    kept = kept.filter((document) => !more.has(document.id));
    assert.equal(index.count, kept.length);
    for (const query of queries.slice(0, 20)) assertSameHits(index.search(query, { limit: 5000 }), miniSearchHits(kept, query), query);
  });
});
