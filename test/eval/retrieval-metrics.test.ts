import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atThreshold, chooseThreshold, median, rankOf, summarizeRanks, type ScoredAnswer } from '../../src/eval/retrieval-metrics.js';

describe('rankOf', () => {
  it('gives the 1-based rank of the expected identity, counting repeats once', () => {
    assert.equal(rankOf(['a', 'b', 'c'], 'a'), 1);
    assert.equal(rankOf(['a', 'a', 'b', 'c'], 'c'), 3);
  });
  it('gives 0 when the identity is not in the list', () => {
    assert.equal(rankOf(['a', 'b'], 'z'), 0);
    assert.equal(rankOf([], 'z'), 0);
  });
});

describe('summarizeRanks', () => {
  it('computes recall@1, recall@5 and MRR, with 0 meaning not found', () => {
    assert.deepEqual(summarizeRanks([1, 2, 6, 0]), { n: 4, recallAt1: 0.25, recallAt5: 0.5, mrr: (1 + 0.5 + 1 / 6) / 4 });
  });
  it('gives NaN metrics (not 0 or 1) for no queries', () => {
    const s = summarizeRanks([]);
    assert.equal(s.n, 0);
    assert.ok(Number.isNaN(s.recallAt1) && Number.isNaN(s.recallAt5) && Number.isNaN(s.mrr));
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });
});

const answers: ScoredAnswer[] = [
  { confidence: 0.9, correct: true, positive: true },
  { confidence: 0.6, correct: true, positive: true },
  { confidence: 0.7, correct: false, positive: true },
  { confidence: 0.2, correct: true, positive: true },
  { confidence: 0.8, correct: false, positive: false },
  { confidence: 0.3, correct: false, positive: false },
  { confidence: 0.1, correct: false, positive: false },
  { confidence: 0.05, correct: false, positive: false },
];

describe('atThreshold', () => {
  it('counts confident answers to not-indexed queries as false positives and splits indexed ones into right and wrong', () => {
    assert.deepEqual(atThreshold(answers, 0.5), {
      threshold: 0.5,
      falsePositiveRate: 0.25,
      acceptedRecall: 0.5,
      wrongAnswerRate: 0.25,
      precision: 2 / 4,
    });
  });
  it('accepts a confidence equal to the threshold', () => {
    assert.equal(atThreshold(answers, 0.9).acceptedRecall, 0.25);
  });
});

describe('chooseThreshold', () => {
  it('picks the lowest threshold that keeps the false-positive rate within the limit', () => {
    const t = chooseThreshold(answers, 0.25); // one of four negatives may pass: the 0.8 one
    assert.ok(t > 0.3 && t < 0.31, String(t));
    assert.equal(atThreshold(answers, t).falsePositiveRate, 0.25);
  });
  it('refuses every negative when the limit is 0', () => {
    const t = chooseThreshold(answers, 0);
    assert.ok(t > 0.8 && t < 0.81, String(t));
    assert.equal(atThreshold(answers, t).falsePositiveRate, 0);
  });
  it('is 0 when there are no negatives to refuse', () => {
    assert.equal(chooseThreshold(answers.filter((a) => a.positive), 0.05), 0);
  });
});
