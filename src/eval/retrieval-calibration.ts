/**
 * Calibrated confidence for fused hits: the probability that a hit is the original, from a
 * logistic regression over per-source evidence (how similar, how far ahead of the next
 * candidate, how many query words matched, whether the hash agrees, where fusion ranked it).
 *
 * Fitted by the retrieval evaluation on a seeded half of its queries and judged on the other
 * half, never on the queries it was fitted on. The fitted model is plain JSON
 * (`CalibrationModel`), so the engine can load it and score hits with `calibratedConfidence`.
 */
import { SagasuError } from '../errors.js';
import type { FusedHit } from '../fusion/fuse.js';
import type { SpatialReason } from '../fusion/rerank.js';

/**
 * What a calibrated confidence is computed from: a fused list (best first, after spatial
 * re-ranking when there was one) with each hit's reasons.
 */
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
] as const;

/** 2 added the spatial verification features. */
export const calibrationModelVersion = 2;

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
  ];
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

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

export interface LogisticOptions {
  /** L2 penalty on the (standardised) weights. Default 1 (features are few and correlated; a mild prior keeps weights sane). */
  l2: number;
  /** Newton iterations at most. Default 50. */
  iterations: number;
}

export const defaultLogisticOptions: LogisticOptions = { l2: 1, iterations: 50 };

/**
 * Fits a logistic regression by Newton's method (IRLS) with an L2 penalty on the weights (not
 * the bias). Features are standardised first, so the penalty treats them alike.
 */
export function fitLogistic(
  samples: ReadonlyArray<readonly number[]>,
  labels: ReadonlyArray<boolean>,
  options: Partial<LogisticOptions> = {},
): Pick<CalibrationModel, 'mean' | 'scale' | 'weights' | 'bias'> {
  const { l2, iterations } = { ...defaultLogisticOptions, ...options };
  const n = samples.length;
  if (n === 0 || n !== labels.length) throw new SagasuError('INVALID_OPTION', `fitLogistic needs as many labels as samples (and some), got ${n} and ${labels.length}`);
  const d = samples[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const x of samples) for (let j = 0; j < d; j++) mean[j]! += x[j]! / n;
  for (const x of samples) for (let j = 0; j < d; j++) scale[j]! += (x[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const xs = samples.map((x) => [1, ...x.map((v, j) => (v - mean[j]!) / scale[j]!)]);
  const beta = new Array<number>(d + 1).fill(0);
  const positives = labels.filter(Boolean).length;
  beta[0] = Math.log((positives + 0.5) / (n - positives + 0.5));
  for (let iter = 0; iter < iterations; iter++) {
    const gradient = new Array<number>(d + 1).fill(0);
    const hessian = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    xs.forEach((x, i) => {
      let z = 0;
      for (let j = 0; j <= d; j++) z += beta[j]! * x[j]!;
      const p = sigmoid(z);
      const r = (labels[i] ? 1 : 0) - p;
      const w = Math.max(p * (1 - p), 1e-9);
      for (let a = 0; a <= d; a++) {
        gradient[a]! += r * x[a]!;
        for (let b = a; b <= d; b++) hessian[a]![b]! += w * x[a]! * x[b]!;
      }
    });
    for (let a = 0; a <= d; a++) {
      for (let b = 0; b < a; b++) hessian[a]![b] = hessian[b]![a]!;
      if (a > 0) {
        gradient[a]! -= l2 * beta[a]!;
        hessian[a]![a]! += l2;
      }
    }
    const step = solve(hessian, gradient);
    let change = 0;
    for (let j = 0; j <= d; j++) {
      beta[j]! += step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < 1e-8) break;
  }
  return { mean, scale, weights: beta.slice(1), bias: beta[0]! };
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small and symmetric positive definite here). */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / p;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return a.map((row, i) => (Math.abs(row[i]!) < 1e-12 ? 0 : row[n]! / row[i]!));
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
