/**
 * Calibrated confidence for fused hits: the probability that a hit is the original, from a
 * logistic regression over per-source evidence (how similar, how far ahead of the next
 * candidate, how many query words matched, whether the hash agrees, where fusion ranked it,
 * how many local features agree).
 *
 * The engine scores hits with a fitted model (`CalibrationModel`, plain JSON); fitting it is the
 * retrieval evaluation's job (src/eval/retrieval-calibration.ts), on a seeded half of its
 * queries, judged on the other half.
 */
import { SagasuError } from '../errors.js';
import type { FusedHit } from './fuse.js';
import type { SpatialReason } from './rerank.js';

export type FusedLike = ReadonlyArray<Pick<FusedHit, 'score'> & { reasons: FusedHit['reasons'] & { spatial?: SpatialReason } }>;

export const calibrationFeatureNames = [
  'visualSimilarity',
  'visualMargin',
  'visualRankInverse',
  'textMatchedShare',
  'textMatchedLog',
  'textScoreShare',
  'textRankInverse',
  'hashCloseness',
  'fusedRankInverse',
  'fusedScoreShare',
  'queryTermsLog',
  'visualTextAgree',
  'spatialInliersLog',
  'spatialVerified',
  'spatialLeadLog',
  'colourMismatch',
] as const;

/** 2 added the spatial verification features; 3 the colour mismatch. */
export const calibrationModelVersion = 3;

export interface CalibrationModel {
  version: typeof calibrationModelVersion;
  features: string[];
  /** Standardisation applied before the weights: (x - mean) / scale. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
  /** Confidence below which the answer is "no confident match". */
  threshold: number;
  /** How it was fitted (queries, seed, false-positive target), for the record. */
  fittedOn?: Record<string, unknown>;
}

const similarityOf = (hit: FusedLike[number]): number | undefined => {
  const s = hit.reasons.visual?.detail?.similarity ?? hit.reasons.visual?.score;
  return typeof s === 'number' ? s : undefined;
};

const matchedOf = (hit: FusedLike[number]): number => {
  const m = hit.reasons.text?.detail?.matched;
  return Array.isArray(m) ? m.length : 0;
};

/**
 * The evidence for hit `index` of a fused list, as numbers in the order of
 * `calibrationFeatureNames`. `queryTerms` is the number of distinct terms the text query had.
 */
export function calibrationFeatures(hits: FusedLike, index: number, queryTerms: number): number[] {
  const hit = hits[index];
  if (!hit) throw new SagasuError('INVALID_OPTION', `no hit at index ${index} (the list has ${hits.length})`);
  let otherSimilarity = 0;
  let otherText = 0;
  let otherFused = 0;
  let otherInliers = 0;
  hits.forEach((other, i) => {
    if (i === index) return;
    otherSimilarity = Math.max(otherSimilarity, similarityOf(other) ?? 0);
    otherInliers = Math.max(otherInliers, other.reasons.spatial?.inliers ?? 0);
    otherText = Math.max(otherText, other.reasons.text?.score ?? 0);
    otherFused = Math.max(otherFused, other.score);
  });
  const similarity = similarityOf(hit) ?? 0;
  const colour = hit.reasons.visual?.detail?.colour;
  const visualRank = hit.reasons.visual?.rank;
  const textRank = hit.reasons.text?.rank;
  const textScore = hit.reasons.text?.score ?? 0;
  const matched = matchedOf(hit);
  const inliers = hit.reasons.spatial?.inliers ?? 0;
  const hashDetail = hit.reasons.hash?.detail as { distance?: number; exact?: boolean } | undefined;
  const hashCloseness = hit.reasons.hash ? (hashDetail?.exact ? 1 : Math.max(0, 1 - (hashDetail?.distance ?? 64) / 16)) : 0;
  return [
    similarity,
    similarity - otherSimilarity,
    visualRank ? 1 / visualRank : 0,
    queryTerms > 0 ? Math.min(1, matched / Math.min(8, queryTerms)) : 0,
    Math.log1p(matched),
    textScore > 0 ? textScore / (textScore + otherText) : 0,
    textRank ? 1 / textRank : 0,
    hashCloseness,
    1 / (index + 1),
    hit.score > 0 ? hit.score / (hit.score + otherFused) : 0,
    Math.log1p(queryTerms),
    visualRank === 1 && textRank === 1 ? 1 : 0,
    // Hits that were not verified (beyond the verified head, or no features) count as 0 inliers.
    Math.log1p(inliers),
    hit.reasons.spatial?.verified ? 1 : 0,
    Math.log1p(inliers) - Math.log1p(otherInliers),
    // Two packs of one brand share logo and layout (dozens of inliers) but not their colours; no
    // colour compared (a query without colour, a hit beyond the re-ordered head) is no evidence.
    typeof colour === 'number' ? 1 - colour : 0,
  ];
}

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** The model's probability for one feature vector. */
export function predictConfidence(model: CalibrationModel, features: readonly number[]): number {
  if (features.length !== model.weights.length) {
    throw new SagasuError('INVALID_OPTION', `calibration expects ${model.weights.length} features, got ${features.length}`);
  }
  let z = model.bias;
  for (let j = 0; j < features.length; j++) z += model.weights[j]! * ((features[j]! - model.mean[j]!) / model.scale[j]!);
  return sigmoid(z);
}

/** Calibrated confidence (0-1) of hit `index` of a fused list. */
export function calibratedConfidence(model: CalibrationModel, hits: FusedLike, index: number, queryTerms: number): number {
  return predictConfidence(model, calibrationFeatures(hits, index, queryTerms));
}

/** Checks a model read from JSON before it is trusted. */
export function parseCalibrationModel(json: unknown): CalibrationModel {
  const model = json as CalibrationModel;
  if (!model || model.version !== calibrationModelVersion) {
    throw new SagasuError('INVALID_OPTION', `calibration model version ${String(model?.version)} is not supported (expected ${calibrationModelVersion})`);
  }
  const d = calibrationFeatureNames.length;
  const ok =
    Array.isArray(model.features) &&
    model.features.join(',') === calibrationFeatureNames.join(',') &&
    [model.mean, model.scale, model.weights].every((v) => Array.isArray(v) && v.length === d && v.every(Number.isFinite)) &&
    Number.isFinite(model.bias) &&
    Number.isFinite(model.threshold);
  if (!ok) throw new SagasuError('INVALID_OPTION', `calibration model does not match the ${d} features ${calibrationFeatureNames.join(', ')}`);
  return model;
}
