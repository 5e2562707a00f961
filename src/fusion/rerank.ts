import type { FusedHit } from './fuse.js';

/** Spatial verification of one candidate, as shown in its reasons. */
export interface SpatialReason {
  /** Query features matched to this image's that one plausible homography explains ("63 matching points"). */
  inliers: number;
  /** Matches that passed the ratio test, before geometry. */
  matches: number;
  /** inliers reached the threshold: the two pictures show the same thing. */
  verified: boolean;
  /** Matched against the mirrored query. */
  mirrored?: boolean;
  /** 1-based rank among the verified candidates, when verified. */
  rank?: number;
}

export type VerifiedHit = FusedHit & { reasons: FusedHit['reasons'] & { spatial?: SpatialReason } };

/**
 * Re-ranks a fused list with spatial verification. Identical bytes (an exact hash hit) stay
 * first; then every verified candidate, most inliers first; then the rest in fused order.
 * Verification outranks fusion because geometric agreement of dozens of local features is far
 * stronger evidence than rank agreement between global descriptors; an unverified candidate is
 * not demoted below other unverified ones, since a textureless or heavily altered original may
 * simply have too few features to match.
 */
export function rerankByVerification(fused: readonly FusedHit[], verifications: ReadonlyMap<number, SpatialReason>): VerifiedHit[] {
  const withReasons: VerifiedHit[] = fused.map((hit) => {
    const spatial = verifications.get(hit.id);
    return spatial ? { ...hit, reasons: { ...hit.reasons, spatial: { ...spatial } } } : hit;
  });
  const exact = (hit: VerifiedHit) => (hit.reasons.hash?.detail as { exact?: boolean } | undefined)?.exact === true;
  const verified = withReasons
    .filter((hit) => !exact(hit) && hit.reasons.spatial?.verified)
    .sort((a, b) => b.reasons.spatial!.inliers - a.reasons.spatial!.inliers || b.score - a.score || a.id - b.id);
  verified.forEach((hit, i) => {
    hit.reasons.spatial!.rank = i + 1;
  });
  const exactHits = withReasons.filter(exact);
  const first = new Set([...exactHits, ...verified]);
  return [...exactHits, ...verified, ...withReasons.filter((hit) => !first.has(hit))];
}

/** When the words alone settle which image it is (see {@link promoteDominantText}). */
export interface DominantTextOptions {
  /** The query must have at least this many distinct terms (a word or two match many pages by chance). */
  minQueryTerms: number;
  /** The text source's first hit must match at least this share of them... */
  minMatchedShare: number;
  /** ...and score (BM25) at least this many times the text source's second hit. */
  minScoreRatio: number;
  /** A first hit spatially verified with at least this many inliers is conclusive and stays first. */
  conclusiveInliers: number;
}

/**
 * Chosen by replaying the 1,213 query records of a full `sagasu eval` run on ../shared/eval
 * (fused R@1 of speech-bubble crops 0.71 -> 0.77, no other query type changed; 4 / 2.5 / 80 and
 * 6 terms, or a ratio of 4, gave the same or less).
 */
export const defaultDominantTextOptions: DominantTextOptions = {
  minQueryTerms: 4,
  minMatchedShare: 0.6,
  minScoreRatio: 2.5,
  conclusiveInliers: 80,
};

/**
 * Puts the text source's first hit first when its words settle the question: most of a long
 * query's terms matched, far more strongly than on any other image. Spatial verification
 * otherwise wins, and on a speech-bubble crop it can be wrong: the same glyph shapes repeat on
 * every page of a manga, and a wrong page gets 12-48 "inliers" while the right one has its whole
 * line of text. Identical bytes and a conclusive verification stay first. The promoted hit's
 * text reason says `dominant: true`.
 */
export function promoteDominantText(hits: readonly VerifiedHit[], queryTerms: number, options: DominantTextOptions = defaultDominantTextOptions): VerifiedHit[] {
  const first = hits.find((hit) => hit.reasons.text?.rank === 1);
  if (!first || queryTerms < options.minQueryTerms || hits[0] === first) return [...hits];
  const matched = first.reasons.text!.detail?.['matched'];
  const second = hits.find((hit) => hit.reasons.text?.rank === 2)?.reasons.text?.score ?? 0;
  if (!Array.isArray(matched) || matched.length < options.minMatchedShare * queryTerms || first.reasons.text!.score < options.minScoreRatio * second) return [...hits];
  const leader = hits[0]!;
  if ((leader.reasons.hash?.detail as { exact?: boolean } | undefined)?.exact === true) return [...hits];
  if (leader.reasons.spatial?.verified && leader.reasons.spatial.inliers >= options.conclusiveInliers) return [...hits];
  const promoted: VerifiedHit = { ...first, reasons: { ...first.reasons, text: { ...first.reasons.text!, detail: { ...first.reasons.text!.detail, dominant: true } } } };
  return [promoted, ...hits.filter((hit) => hit !== first)];
}
