/**
 * Pure helpers that turn a CNN feature map into one vector. They run in plain JS on the
 * model's last conv map (7x7x1280 for MobileNetV2 at 224 px: ~63k floats, well under 1 ms),
 * which keeps them exact, testable without a model, and identical in every backend.
 */

/**
 * Generalised-mean pooling over the spatial positions of a channels-last feature map:
 * `out[c] = (mean_i max(x[i,c], eps)^p)^(1/p)`. p = 1 is average pooling; large p approaches
 * max pooling. Values are clamped to `eps` first, as in the GeM paper (Radenović et al.),
 * because the power mean needs x >= 0; after a ReLU the clamp only touches exact zeros.
 *
 * @param map channels-last values, length `positions * channels`
 * @example gemPool(Float32Array.of(1, 2, 3, 4), 2, 2, 1) // => [2, 3] (average over 2 positions)
 */
export function gemPool(map: Float32Array, positions: number, channels: number, p: number, eps = 1e-6): Float32Array {
  if (!Number.isInteger(positions) || !Number.isInteger(channels) || positions <= 0 || channels <= 0) {
    throw new RangeError(`sagasu: gemPool needs positive integer positions and channels (got ${positions}, ${channels})`);
  }
  if (map.length !== positions * channels) {
    throw new RangeError(`sagasu: gemPool expected ${positions * channels} values, got ${map.length}`);
  }
  if (!(p > 0) || !Number.isFinite(p)) throw new RangeError(`sagasu: gemPool power must be a positive finite number (got ${p})`);
  // Accumulate in float64: summing 49 cubes in float32 loses visible precision.
  const sums = new Float64Array(channels);
  for (let i = 0; i < positions; i++) {
    const row = i * channels;
    for (let c = 0; c < channels; c++) {
      const x = Math.max(map[row + c]!, eps);
      sums[c]! += p === 1 ? x : p === 3 ? x * x * x : Math.pow(x, p);
    }
  }
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const mean = sums[c]! / positions;
    out[c] = p === 1 ? mean : Math.pow(mean, 1 / p);
  }
  return out;
}

/**
 * Average pooling over spatial positions (what the network's own AveragePooling2D + Flatten do),
 * without the eps clamp of {@link gemPool}.
 */
export function averagePool(map: Float32Array, positions: number, channels: number): Float32Array {
  if (map.length !== positions * channels || positions <= 0 || channels <= 0) {
    throw new RangeError(`sagasu: averagePool expected ${positions * channels} values, got ${map.length}`);
  }
  const sums = new Float64Array(channels);
  for (let i = 0; i < positions; i++) {
    const row = i * channels;
    for (let c = 0; c < channels; c++) sums[c]! += map[row + c]!;
  }
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) out[c] = sums[c]! / positions;
  return out;
}

/** Euclidean norm, accumulated in float64. */
export function l2Norm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  return Math.sqrt(sum);
}

/**
 * A new vector with norm 1 pointing the same way. A zero (or non-finite) vector has no
 * direction: it is returned as a copy unchanged, and callers that need a unit vector must check.
 *
 * @example l2Normalize(Float32Array.of(3, 4)) // => [0.6, 0.8]
 */
export function l2Normalize(vector: ArrayLike<number>): Float32Array {
  const norm = l2Norm(vector);
  const out = Float32Array.from(vector);
  if (norm === 0 || !Number.isFinite(norm)) return out;
  for (let i = 0; i < out.length; i++) out[i] = vector[i]! / norm;
  return out;
}

/** Dot product; the cosine similarity of two L2-normalised vectors. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`sagasu: dot of vectors of length ${a.length} and ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
