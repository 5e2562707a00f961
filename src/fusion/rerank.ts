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
