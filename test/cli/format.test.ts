import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHitsText, hitToJson } from '../../src/cli/format.js';
import type { SearchHit } from '../../src/sagasu.js';

const hit: SearchHit = {
  imageId: 7,
  path: '/gallery/lemon.jpg',
  score: 0.2,
  reasons: {
    visual: { rank: 1, score: 0.85, contribution: 0.16666666, detail: { similarity: 0.88, colour: 0.9 } },
    text: { rank: 2, score: 3.2, contribution: 0.5714, detail: { matched: ['lemon'] } },
  },
  sources: [],
  ocrText: 'LEMON',
  confidence: 0.91,
};

describe('formatHitsText', () => {
  it('prints each hit with its confidence and plain reasons: the cosine similarity and how close the colours are', () => {
    assert.equal(
      formatHitsText('query.jpg', [hit], 'LEMON', 0.77),
      'query: query.jpg\n  read: LEMON\n   1. /gallery/lemon.jpg  confidence 0.91  (score 0.2)\n      looks alike #1 (similarity 0.88, colours 0.9) · words #2 (lemon)\n\n',
    );
  });

  it('says when no hit is confident', () => {
    assert.match(formatHitsText('q.png', [{ ...hit, confidence: 0.3 }], '', 0.77), /no confident match \(confidence below 0\.77\); the closest candidates:/);
  });
});

describe('hitToJson', () => {
  it('keeps the stable contract (path, score, reasons) and flattens each reason with its details', () => {
    assert.deepEqual(hitToJson(hit, 0.77), {
      path: '/gallery/lemon.jpg',
      score: 0.2,
      confidence: 0.91,
      confident: true,
      reasons: {
        visual: { rank: 1, score: 0.85, contribution: 0.166667, similarity: 0.88, colour: 0.9 },
        text: { rank: 2, score: 3.2, contribution: 0.5714, matched: ['lemon'] },
      },
      imageId: 7,
    });
  });
});
