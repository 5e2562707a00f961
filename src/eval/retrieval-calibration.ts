/**
 * Fitting the calibrated confidence (src/fusion/calibration.ts): a logistic regression fitted
 * by the retrieval evaluation on a seeded half of its queries and judged on the other half,
 * never on the queries it was fitted on.
 */
import { SagasuError } from '../errors.js';
import { sigmoid, type CalibrationModel } from '../fusion/calibration.js';

export {
  calibratedConfidence,
  calibrationFeatureNames,
  calibrationFeatures,
  calibrationModelVersion,
  parseCalibrationModel,
  predictConfidence,
  type CalibrationModel,
  type FusedLike,
} from '../fusion/calibration.js';

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
