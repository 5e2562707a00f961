import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FusedHit } from '../../src/fusion/fuse.js';
import { rerankByVerification, type SpatialReason } from '../../src/fusion/rerank.js';

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
