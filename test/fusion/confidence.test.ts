import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heuristicConfidence } from '../../src/fusion/confidence.js';

const reason = (detail: Record<string, unknown>) => ({ rank: 1, score: 0, contribution: 0, detail });

describe('heuristicConfidence', () => {
  it('is 1 for identical bytes and 0 with no evidence', () => {
    assert.equal(heuristicConfidence({ reasons: { hash: reason({ distance: 0, exact: true }) }, queryTerms: 0 }), 1);
    assert.equal(heuristicConfidence({ reasons: {}, queryTerms: 0 }), 0);
  });

  it('maps visual similarity linearly from 0.85 (0) to 0.97 (1)', () => {
    const at = (similarity: number) => heuristicConfidence({ reasons: { visual: reason({ similarity }) }, queryTerms: 0 });
    assert.equal(at(0.8), 0);
    assert.ok(Math.abs(at(0.91) - 0.5) < 1e-9);
    assert.equal(at(0.99), 1);
  });

  it('counts the share of query terms matched (at most 6), discounted when only one matched', () => {
    const text = (matched: string[], queryTerms: number) => heuristicConfidence({ reasons: { text: reason({ matched }) }, queryTerms });
    assert.equal(text(['a', 'b'], 2), 1);
    assert.equal(text(['a', 'b'], 4), 0.5);
    assert.equal(text(['a', 'b', 'c'], 12), 0.5);
    assert.ok(Math.abs(text(['a'], 1) - 2 / 3) < 1e-9);
  });

  it('combines sources by noisy-OR', () => {
    const both = heuristicConfidence({ reasons: { visual: reason({ similarity: 0.91 }), text: reason({ matched: ['a', 'b', 'c'] }) }, queryTerms: 6 });
    assert.ok(Math.abs(both - (1 - 0.5 * 0.5)) < 1e-9);
  });
});
