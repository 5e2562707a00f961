import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuse, type RankedList, type SourceName } from '../../src/fusion/fuse.js';

const list = (source: SourceName, ids: number[]): RankedList => ({ source, hits: ids.map((id, i) => ({ id, score: 100 - i })) });

describe('fuse', () => {
  it('scores by weighted reciprocal rank and keeps each source as a reason', () => {
    const fused = fuse([list('visual', [1, 2]), list('text', [2, 3])], { k: 10, weights: { visual: 1, text: 2 } });
    assert.deepEqual(
      fused.map((hit) => ({ id: hit.id, score: +hit.score.toFixed(6), sources: Object.keys(hit.reasons).sort() })),
      [
        { id: 2, score: +(1 / 12 + 2 / 11).toFixed(6), sources: ['text', 'visual'] },
        { id: 3, score: +(2 / 12).toFixed(6), sources: ['text'] },
        { id: 1, score: +(1 / 11).toFixed(6), sources: ['visual'] },
      ],
    );
    assert.deepEqual(fused[0]!.reasons.text, { rank: 1, score: 100, contribution: 2 / 11 });
    assert.deepEqual(fused[0]!.reasons.visual, { rank: 2, score: 99, contribution: 1 / 12 });
  });

  it('passes each hit\'s detail through to its reason', () => {
    const fused = fuse([{ source: 'text', hits: [{ id: 5, score: 3, detail: { matched: ['light'] } }] }]);
    assert.deepEqual(fused[0]!.reasons.text?.detail, { matched: ['light'] });
  });

  it('counts an id only at its first rank within one list', () => {
    const fused = fuse([list('visual', [1, 1, 2])], { k: 0 });
    assert.deepEqual(fused.map((hit) => [hit.id, hit.score]), [[1, 1], [2, 0.5]]);
  });

  it('breaks ties by id so the order is stable', () => {
    const fused = fuse([list('visual', [7]), list('text', [3])]);
    assert.deepEqual(fused.map((hit) => hit.id), [3, 7]);
  });

  it('rejects a negative k', () => {
    assert.throws(() => fuse([], { k: -1 }), /^Error: sagasu: fusion k must be a finite number >= 0, got -1$/);
  });
});

describe('fuse (properties)', () => {
  const source = fc.constantFrom<SourceName>('visual', 'text', 'hash');
  const ids = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 15 });
  const lists = fc.uniqueArray(fc.record({ source, ids }), { selector: (l) => l.source, maxLength: 3 }).map((ls) => ls.map((l) => list(l.source, l.ids)));
  const options = fc.record({
    k: fc.integer({ min: 0, max: 100 }),
    weights: fc.record({ visual: fc.double({ min: 0.1, max: 5, noNaN: true }), text: fc.double({ min: 0.1, max: 5, noNaN: true }), hash: fc.double({ min: 0.1, max: 5, noNaN: true }) }),
  });

  it('returns each id of the input exactly once, sorted by score', () => {
    fc.assert(
      fc.property(lists, options, (input, opts) => {
        const fused = fuse(input, opts);
        const expected = new Set(input.flatMap((l) => l.hits.map((h) => h.id)));
        assert.deepEqual(new Set(fused.map((h) => h.id)), expected);
        assert.equal(fused.length, expected.size);
        for (let i = 1; i < fused.length; i++) assert.ok(fused[i - 1]!.score >= fused[i]!.score);
      }),
    );
  });

  it('gives each hit the sum of its reasons\' contributions', () => {
    fc.assert(
      fc.property(lists, options, (input, opts) => {
        for (const hit of fuse(input, opts)) {
          const sum = Object.values(hit.reasons).reduce((total, reason) => total + reason!.contribution, 0);
          assert.ok(Math.abs(sum - hit.score) < 1e-12);
        }
      }),
    );
  });

  it('does not depend on the order of the lists', () => {
    fc.assert(
      fc.property(lists, options, (input, opts) => {
        const a = fuse(input, opts).map((h) => [h.id, h.score.toFixed(9)]);
        const b = fuse([...input].reverse(), opts).map((h) => [h.id, h.score.toFixed(9)]);
        assert.deepEqual(new Map(a as Array<[number, string]>), new Map(b as Array<[number, string]>));
      }),
    );
  });

  it('ranks first an id that is first in every list', () => {
    fc.assert(
      fc.property(lists, options, fc.integer({ min: 100, max: 200 }), (input, opts, top) => {
        fc.pre(input.length > 0);
        const withTop = input.map((l) => ({ ...l, hits: [{ id: top, score: 1 }, ...l.hits] }));
        assert.equal(fuse(withTop, opts)[0]!.id, top);
      }),
    );
  });

  it('never lowers a hit\'s score when a source that found it gains weight', () => {
    fc.assert(
      fc.property(lists, options, fc.double({ min: 0, max: 3, noNaN: true }), (input, opts, extra) => {
        fc.pre(input.length > 0);
        const boosted = input[0]!.source;
        const before = new Map(fuse(input, opts).map((h) => [h.id, h.score]));
        const after = fuse(input, { ...opts, weights: { ...opts.weights, [boosted]: opts.weights[boosted] + extra } });
        for (const hit of after) assert.ok(hit.score >= before.get(hit.id)! - 1e-12);
      }),
    );
  });
});
