import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FusedHit } from '../../src/fusion/fuse.js';
import { defaultDominantTextOptions, promoteDominantText, rerankByVerification, type SpatialReason, type VerifiedHit } from '../../src/fusion/rerank.js';

const hit = (id: number, score: number, exact?: boolean): FusedHit => ({
  id,
  score,
  reasons: exact === undefined ? { visual: { rank: id, score: 0.9, contribution: score } } : { hash: { rank: 1, score: 64, contribution: score, detail: { distance: 0, exact } } },
});
const checked = (inliers: number, verified = inliers >= 12): SpatialReason => ({ inliers, matches: inliers * 2, verified });

describe('rerankByVerification', () => {
  it('puts verified candidates first, most inliers first, and keeps the rest in fused order', () => {
    const fused = [hit(1, 0.05), hit(2, 0.04), hit(3, 0.03), hit(4, 0.02), hit(5, 0.01)];
    const ranked = rerankByVerification(fused, new Map([[1, checked(3)], [3, checked(40)], [4, checked(120)]]));
    assert.deepEqual(ranked.map((h) => h.id), [4, 3, 1, 2, 5]);
    assert.deepEqual(ranked.map((h) => h.reasons.spatial?.rank), [1, 2, undefined, undefined, undefined]);
    assert.deepEqual(ranked[2]!.reasons.spatial, { inliers: 3, matches: 6, verified: false });
  });

  it('keeps identical bytes first even when a copy has more inliers', () => {
    const ranked = rerankByVerification([hit(7, 0.02), hit(8, 0.03, true)], new Map([[7, checked(300)], [8, checked(0, false)]]));
    assert.deepEqual(ranked.map((h) => h.id), [8, 7]);
  });

  it('breaks ties in inliers by fused score, then id', () => {
    const ranked = rerankByVerification([hit(1, 0.01), hit(2, 0.03), hit(3, 0.03)], new Map([[1, checked(20)], [2, checked(20)], [3, checked(20)]]));
    assert.deepEqual(ranked.map((h) => h.id), [2, 3, 1]);
  });

  it('returns the fused order unchanged, without spatial reasons, when nothing was checked', () => {
    const fused = [hit(1, 0.05), hit(2, 0.04)];
    const ranked = rerankByVerification(fused, new Map());
    assert.deepEqual(ranked, fused);
  });

  it('does not change the fused hits it was given', () => {
    const fused = [hit(1, 0.05), hit(2, 0.04)];
    const before = structuredClone(fused);
    rerankByVerification(fused, new Map([[2, checked(50)]]));
    assert.deepEqual(fused, before);
  });
});

describe('promoteDominantText', () => {
  /** A hit verified with `inliers`, and/or found by the text source at `textRank` with `bm25` and these matched terms. */
  const found = (id: number, options: { inliers?: number; textRank?: number; bm25?: number; matched?: number; exact?: boolean }): VerifiedHit => ({
    id,
    score: 0.1,
    reasons: {
      ...(options.textRank === undefined
        ? {}
        : { text: { rank: options.textRank, score: options.bm25 ?? 10, contribution: 0.1, detail: { matched: Array.from({ length: options.matched ?? 1 }, (_, i) => `t${i}`) } } }),
      ...(options.inliers === undefined ? {} : { spatial: { inliers: options.inliers, matches: 60, verified: options.inliers >= 12 } }),
      ...(options.exact ? { hash: { rank: 1, score: 64, contribution: 0.1, detail: { distance: 0, exact: true } } } : {}),
    },
  });

  it('puts a text hit first that matches most of a long query far better than any other image, and says so', () => {
    const hits = [found(1, { inliers: 30 }), found(2, { inliers: 0, textRank: 1, bm25: 800, matched: 12 }), found(3, { textRank: 2, bm25: 130, matched: 5 })];
    const ranked = promoteDominantText(hits, 14);
    assert.deepEqual(ranked.map((h) => h.id), [2, 1, 3]);
    assert.equal(ranked[0]!.reasons.text?.detail?.['dominant'], true);
    assert.equal(hits[1]!.reasons.text?.detail?.['dominant'], undefined);
  });

  it('leaves the order alone for a short query, a weak or close text match, a conclusive verification or identical bytes', () => {
    const order = (hits: VerifiedHit[], terms: number) => promoteDominantText(hits, terms).map((h) => h.id);
    const dominant = () => found(2, { textRank: 1, bm25: 800, matched: 12 });
    const runnerUp = found(3, { textRank: 2, bm25: 130, matched: 5 });
    assert.deepEqual(order([found(1, { inliers: 30 }), dominant(), runnerUp], 3), [1, 2, 3]);
    assert.deepEqual(order([found(1, { inliers: 30 }), found(2, { textRank: 1, bm25: 800, matched: 7 }), runnerUp], 14), [1, 2, 3]);
    assert.deepEqual(order([found(1, { inliers: 30 }), found(2, { textRank: 1, bm25: 300, matched: 12 }), runnerUp], 14), [1, 2, 3]);
    assert.deepEqual(order([found(1, { inliers: 80 }), dominant(), runnerUp], 14), [1, 2, 3]);
    assert.deepEqual(order([found(1, { exact: true }), dominant(), runnerUp], 14), [1, 2, 3]);
    // Already first: nothing to do, nothing marked.
    const alone = promoteDominantText([dominant(), runnerUp], 14);
    assert.deepEqual([alone.map((h) => h.id), alone[0]!.reasons.text?.detail?.['dominant']], [[2, 3], undefined]);
  });

  it('promotes over the default thresholds exactly at their edges', () => {
    const { minQueryTerms, minMatchedShare, minScoreRatio } = defaultDominantTextOptions;
    const hits = [found(1, { inliers: 79 }), found(2, { textRank: 1, bm25: minScoreRatio * 100, matched: Math.ceil(minMatchedShare * minQueryTerms) }), found(3, { textRank: 2, bm25: 100 })];
    assert.deepEqual(promoteDominantText(hits, minQueryTerms).map((h) => h.id), [2, 1, 3]);
  });
});
