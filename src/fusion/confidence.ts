import type { FusedHit } from './fuse.js';

/**
 * How sure sagasu is that a hit is the original of the query, 0..1.
 *
 * A first, hand-set rule (not yet calibrated on an evaluation): each source's evidence is turned
 * into a probability-like figure and they are combined by noisy-OR (1 - product of (1 - c)), so
 * one strong source is enough and two weak ones add up.
 * - hash: identical bytes 1; a near duplicate falls from 1 at distance 0 to 0.6 at distance 8 (the default limit);
 * - visual: cosine similarity from 0 at 0.85 to 1 at 0.97 (MobileNetV2 features of unrelated
 *   pictures of the same kind often reach 0.8);
 * - text: the share of the query's terms found (counting at most 6 terms), times 2/3 when only one
 *   term matched (one word is weak evidence).
 */
export interface ConfidenceInput {
  reasons: FusedHit['reasons'];
  /** Number of distinct terms in the text query. */
  queryTerms: number;
}

const clamp = (value: number) => Math.min(1, Math.max(0, value));

export function heuristicConfidence({ reasons, queryTerms }: ConfidenceInput): number {
  const parts: number[] = [];
  const hash = reasons.hash?.detail as { distance?: number; exact?: boolean } | undefined;
  if (hash) parts.push(hash.exact ? 1 : clamp(1 - (hash.distance ?? 64) / 20));
  const similarity = reasons.visual?.detail?.similarity;
  if (typeof similarity === 'number') parts.push(clamp((similarity - 0.85) / 0.12));
  const matched = reasons.text?.detail?.matched;
  if (Array.isArray(matched) && queryTerms > 0) {
    const share = clamp(matched.length / Math.min(6, queryTerms));
    parts.push(share * Math.min(1, (matched.length + 1) / 3));
  }
  return 1 - parts.reduce((miss, c) => miss * (1 - c), 1);
}
