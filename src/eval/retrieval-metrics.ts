/**
 * Retrieval metrics over ranked answers: recall@k (the right identity among the first k) and
 * mean reciprocal rank (1/rank of the right identity, 0 when it is not returned).
 */

/** 1-based rank of `expected` in `ranked` (identities, best first), or 0 when absent. Repeats count once. */
export function rankOf(ranked: readonly string[], expected: string): number {
  const seen = new Set<string>();
  for (const id of ranked) {
    if (seen.has(id)) continue;
    seen.add(id);
    if (id === expected) return seen.size;
  }
  return 0;
}

export interface RankSummary {
  /** Number of queries. */
  n: number;
  recallAt1: number;
  recallAt5: number;
  mrr: number;
}

/** Summarises ranks (0 = not found). Empty input gives NaN metrics, never a fake 0 or 1. */
export function summarizeRanks(ranks: readonly number[]): RankSummary {
  const n = ranks.length;
  if (n === 0) return { n, recallAt1: NaN, recallAt5: NaN, mrr: NaN };
  let at1 = 0;
  let at5 = 0;
  let rr = 0;
  for (const rank of ranks) {
    if (rank === 1) at1++;
    if (rank >= 1 && rank <= 5) at5++;
    if (rank >= 1) rr += 1 / rank;
  }
  return { n, recallAt1: at1 / n, recallAt5: at5 / n, mrr: rr / n };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One answer judged at a confidence threshold. */
export interface ScoredAnswer {
  /** Confidence of the top hit (0 when there was no hit). */
  confidence: number;
  /** Whether the top hit is the right identity (always false for a query whose original is not indexed). */
  correct: boolean;
  /** Whether the query's original is indexed. */
  positive: boolean;
}

export interface ThresholdPoint {
  threshold: number;
  /** Share of not-indexed queries that still got a confident answer. */
  falsePositiveRate: number;
  /** Share of indexed queries whose confident answer is right. */
  acceptedRecall: number;
  /** Share of indexed queries given a confident wrong answer. */
  wrongAnswerRate: number;
  /** Right answers among all confident answers (NaN when none). */
  precision: number;
}

/** How answers fare when those below `threshold` become "no confident match". */
export function atThreshold(answers: readonly ScoredAnswer[], threshold: number): ThresholdPoint {
  let negatives = 0;
  let negativesAnswered = 0;
  let positives = 0;
  let right = 0;
  let wrong = 0;
  for (const a of answers) {
    const answered = a.confidence >= threshold;
    if (!a.positive) {
      negatives++;
      if (answered) negativesAnswered++;
    } else {
      positives++;
      if (answered && a.correct) right++;
      if (answered && !a.correct) wrong++;
    }
  }
  const answeredTotal = right + wrong + negativesAnswered;
  return {
    threshold,
    falsePositiveRate: negatives ? negativesAnswered / negatives : NaN,
    acceptedRecall: positives ? right / positives : NaN,
    wrongAnswerRate: positives ? wrong / positives : NaN,
    precision: answeredTotal ? right / answeredTotal : NaN,
  };
}

/** Thresholds 0, 0.05, ..., 1 (rounded so they print cleanly). */
export const defaultThresholds: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100);

/**
 * The lowest threshold whose false-positive rate is at most `maxFalsePositiveRate` (the lowest
 * keeps the most right answers). Candidates are the answers' own confidences, so the choice is
 * exact on these answers. With no negatives it is 0; when even the most confident negative must
 * be refused it lies just above that confidence (possibly above 1: never answer).
 */
export function chooseThreshold(answers: readonly ScoredAnswer[], maxFalsePositiveRate: number): number {
  const negatives = answers.filter((a) => !a.positive).map((a) => a.confidence).sort((a, b) => b - a);
  if (negatives.length === 0) return 0;
  // Allow at most floor(rate * n) negatives at or above the threshold.
  const allowed = Math.floor(maxFalsePositiveRate * negatives.length + 1e-9);
  if (allowed >= negatives.length) return 0;
  const limit = negatives[allowed]!; // the first negative that must be refused
  // Just above it; ties with it are refused too.
  return nextUp(limit);
}

function nextUp(value: number): number {
  return value + Math.max(1e-6, Math.abs(value) * 1e-9);
}
