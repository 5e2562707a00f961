import sharp from 'sharp';
import { SagasuError } from '../errors.js';
import type { DecodedImage } from '../types.js';
import { loadOpenCv, type CvMat, type OpenCv } from './opencv.js';

/**
 * Local features (ORB keypoints and their 256-bit binary descriptors) of one image, and the
 * spatial verification that compares two sets of them.
 *
 * Global descriptors (one CNN vector, a perceptual hash) summarise the whole picture, so a crop,
 * a single panel, a photo of a screen or a screenshot with bars around it moves them far from
 * the original. Local features survive all of these: when many of them match and agree on one
 * geometric transform (a RANSAC homography), the two pictures show the same page. OpenCV does
 * the detection, matching and RANSAC; what is written here is the encoding for the store and
 * the plausibility rules for a homography, which no library decides for this use.
 */
export interface LocalFeatures {
  /** Size of the greyscale image the keypoints were found in. */
  readonly width: number;
  readonly height: number;
  /** x, y of each keypoint, interleaved. */
  readonly points: Float32Array;
  /** 32 bytes per keypoint (ORB). */
  readonly descriptors: Uint8Array;
}

export interface LocalFeatureOptions {
  /** Keypoints kept per image (the strongest). Default 1000. */
  maxFeatures?: number;
  /** The image is scaled so its longer side is at most this. Default 1024. */
  maxSide?: number;
  /** A smaller image is enlarged (at most 4x) so its longer side reaches this. Default 640. */
  minSide?: number;
  /**
   * Spread the keypoints over the image: `oversample` × maxFeatures candidates are detected, each
   * cell of a `grid` × `grid` division keeps its strongest up to an equal share of maxFeatures, and
   * the strongest of the rest fill what is left. ORB's strongest corners crowd into screentone and
   * dense text, so a quiet panel of a page kept next to none of them and a query made of that panel
   * had nothing to match. `false` keeps the strongest maxFeatures wherever they are.
   * Default { grid: 8, oversample: 3 }.
   */
  spread?: { grid: number; oversample: number } | false;
}

export const defaultLocalFeatureOptions: Required<LocalFeatureOptions> = {
  maxFeatures: 1000,
  maxSide: 1024,
  minSide: 640,
  spread: { grid: 8, oversample: 3 },
};

/**
 * Recorded with each stored feature set: features from another extractor are not compared. The
 * spread (see LocalFeatureOptions) changes which keypoints are kept, not what a descriptor means,
 * so feature sets stored before it stay comparable under the same id.
 */
export const localFeaturesId = 'orb-640-1024-v2';

const descriptorBytes = 32;

/** The options with their defaults, or INVALID_OPTION naming the first one that is out of range. */
export function resolveLocalFeatureOptions(options: LocalFeatureOptions = {}): Required<LocalFeatureOptions> {
  const resolved = { ...defaultLocalFeatureOptions, ...options };
  for (const name of ['maxFeatures', 'maxSide', 'minSide'] as const) {
    const value = resolved[name];
    if (!(Number.isInteger(value) && value >= 1)) throw new SagasuError('INVALID_OPTION', `${name} must be a whole number >= 1 (got ${JSON.stringify(value)})`);
  }
  const { spread } = resolved;
  if (spread !== false && !(typeof spread === 'object' && spread !== null && Number.isInteger(spread.grid) && spread.grid >= 1 && Number.isInteger(spread.oversample) && spread.oversample >= 1)) {
    throw new SagasuError('INVALID_OPTION', `spread needs a whole grid >= 1 and a whole oversample >= 1 (got ${JSON.stringify(spread)})`);
  }
  return resolved;
}

export async function extractLocalFeatures(image: DecodedImage, options: LocalFeatureOptions & { mirrored?: boolean } = {}): Promise<LocalFeatures> {
  const { maxFeatures, maxSide, minSide, spread } = resolveLocalFeatureOptions(options);
  // ORB describes 31-px patches over an 8-level pyramid: a 250-px product shot or a thumbnail
  // leaves almost no room for either, so small images are enlarged first.
  const longer = Math.max(image.width, image.height);
  const target = longer > maxSide ? maxSide : longer < minSide ? Math.min(minSide, longer * 4) : longer;
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).greyscale();
  if (options.mirrored) pipeline = pipeline.flop();
  const { data, info } = await pipeline
    .resize({ width: target, height: target, fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cv = await loadOpenCv();
  const owned: Array<{ delete(): void }> = [];
  try {
    const mat = new cv.Mat(info.height, info.width, cv.CV_8UC1);
    owned.push(mat);
    mat.data.set(data.subarray(0, info.width * info.height));
    const orb = new cv.ORB(spread ? maxFeatures * spread.oversample : maxFeatures);
    const detected = new cv.KeyPointVector();
    const descriptors = new cv.Mat();
    const mask = new cv.Mat();
    owned.push(orb, detected, descriptors, mask);
    let keypoints = detected;
    if (spread) {
      orb.detect(mat, detected, mask);
      keypoints = new cv.KeyPointVector();
      owned.push(keypoints);
      for (const index of spreadKeypoints(detected, info.width, info.height, maxFeatures, spread.grid)) keypoints.push_back(detected.get(index));
      // Describes only the kept keypoints (it may drop one too close to the border, hence the count below).
      orb.compute(mat, keypoints, descriptors);
    } else {
      orb.detectAndCompute(mat, mask, keypoints, descriptors);
    }
    const count = descriptors.rows === 0 ? 0 : keypoints.size();
    const points = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) {
      const { pt } = keypoints.get(i);
      points[2 * i] = pt.x;
      points[2 * i + 1] = pt.y;
    }
    return { width: info.width, height: info.height, points, descriptors: Uint8Array.from(descriptors.data.subarray(0, count * descriptorBytes)) };
  } catch (error) {
    throw new SagasuError('VERIFY_FAILED', `local features could not be extracted: ${(error as Error).message}`, { cause: error });
  } finally {
    for (const item of owned) item.delete();
  }
}

/**
 * Indices of at most `keep` keypoints, in detection order: per grid cell the strongest up to an
 * equal share, then the strongest of the rest. Written here because OpenCV's own bucketing
 * (GridAdaptedFeatureDetector) is gone from OpenCV 3 on and not in the wasm build.
 */
export function spreadKeypoints(keypoints: KeyPointList, width: number, height: number, keep: number, grid: number): number[] {
  const count = keypoints.size();
  if (count <= keep) return Array.from({ length: count }, (_, index) => index);
  const byCell = new Map<number, Array<{ index: number; response: number }>>();
  for (let index = 0; index < count; index++) {
    const { pt, response } = keypoints.get(index);
    const cell = Math.min(grid - 1, Math.floor((pt.y / height) * grid)) * grid + Math.min(grid - 1, Math.floor((pt.x / width) * grid));
    let list = byCell.get(cell);
    if (!list) byCell.set(cell, (list = []));
    list.push({ index, response });
  }
  const share = Math.floor(keep / (grid * grid));
  const chosen = new Set<number>();
  const rest: Array<{ index: number; response: number }> = [];
  for (const list of byCell.values()) {
    list.sort((a, b) => b.response - a.response || a.index - b.index);
    for (const [rank, item] of list.entries()) (rank < share ? chosen.add(item.index) : rest.push(item));
  }
  rest.sort((a, b) => b.response - a.response || a.index - b.index);
  for (const item of rest) {
    if (chosen.size >= keep) break;
    chosen.add(item.index);
  }
  return [...chosen].sort((a, b) => a - b);
}

interface KeyPointList {
  size(): number;
  get(index: number): { pt: { x: number; y: number }; response: number };
}

const encodingVersion = 1;

/** Layout: u8 version, u16 width, u16 height, u32 count, count × (f32 x, f32 y), count × 32 bytes. */
export function encodeLocalFeatures(features: LocalFeatures): Buffer {
  const count = features.points.length / 2;
  const buffer = Buffer.alloc(9 + count * 8 + count * descriptorBytes);
  buffer.writeUInt8(encodingVersion, 0);
  buffer.writeUInt16LE(features.width, 1);
  buffer.writeUInt16LE(features.height, 3);
  buffer.writeUInt32LE(count, 5);
  Buffer.from(features.points.buffer, features.points.byteOffset, count * 8).copy(buffer, 9);
  Buffer.from(features.descriptors.buffer, features.descriptors.byteOffset, count * descriptorBytes).copy(buffer, 9 + count * 8);
  return buffer;
}

export function decodeLocalFeatures(buffer: Buffer): LocalFeatures {
  const count = buffer.length >= 9 ? buffer.readUInt32LE(5) : -1;
  if (buffer.length < 9 || buffer.readUInt8(0) !== encodingVersion || buffer.length !== 9 + count * (8 + descriptorBytes)) {
    throw new SagasuError('STORE_VERSION', 'stored local features are damaged or of an unknown version');
  }
  // Copies, so the arrays are aligned and do not keep the row's buffer alive.
  const points = new Float32Array(count * 2);
  Buffer.from(points.buffer).set(buffer.subarray(9, 9 + count * 8));
  const descriptors = Uint8Array.from(buffer.subarray(9 + count * 8));
  return { width: buffer.readUInt16LE(1), height: buffer.readUInt16LE(3), points, descriptors };
}

export interface VerifyOptions {
  /** Lowe's ratio test: a match counts when its distance is below this share of the second best. Default 0.8. */
  ratio?: number;
  /** Largest Hamming distance (of 256 bits) of a match. Default 64. */
  maxDistance?: number;
  /** RANSAC reprojection threshold, in pixels of the candidate's feature image. Default 6. */
  reprojectionThreshold?: number;
  /** Fewest inliers that count as a verified match. Default 12. */
  minInliers?: number;
  /**
   * How the homography is estimated from the matches (OpenCV's `findHomography` method):
   * `'ransac'` (classic RANSAC), `'rho'` (PROSAC-based, matches given best first) or
   * `'usac-accurate'` (USAC with local optimisation). Default 'ransac'.
   */
  estimator?: HomographyEstimator;
  /**
   * Most samples the estimator draws before it gives up (OpenCV's `maxIters`). A right match
   * stops after a few dozen (its inliers are many); a wrong candidate with scattered matches uses
   * them all, so this bounds what a check of a wrong candidate costs. Default 1000 (OpenCV's is
   * 2000): at 0.995 confidence it still finds a transform whose inliers are 27% of the matches
   * (the lowest share of a right match in the evaluation) 99.7% of the time; measured with an
   * unbounded time budget, the evaluation's rankings were the same as with 2000. RANSAC on a
   * wrong candidate's scattered matches costs time in proportion: ~43 ms at 2000, ~11 at 500.
   */
  maxIterations?: number;
}

export type HomographyEstimator = 'ransac' | 'rho' | 'usac-accurate';

/** OpenCV's own default, passed only because `maxIters` comes before it in the binding's arguments. */
const estimatorConfidence = 0.995;

const estimatorMethods: Record<HomographyEstimator, (cv: OpenCv) => number> = {
  ransac: (cv) => cv.RANSAC,
  rho: (cv) => cv.RHO,
  'usac-accurate': (cv) => cv.USAC_ACCURATE,
};

export const defaultVerifyOptions: Required<VerifyOptions> = {
  ratio: 0.8,
  maxDistance: 64,
  reprojectionThreshold: 6,
  minInliers: 12,
  estimator: 'ransac',
  maxIterations: 1000,
};

/** The options with their defaults, or INVALID_OPTION naming the first one that is out of range. */
export function resolveVerifyOptions(options: VerifyOptions = {}): Required<VerifyOptions> {
  const resolved = { ...defaultVerifyOptions, ...options };
  const { ratio, maxDistance, reprojectionThreshold, minInliers, estimator, maxIterations } = resolved;
  const refuse = (what: string, value: unknown) => {
    throw new SagasuError('INVALID_OPTION', `${what} (got ${JSON.stringify(value)})`);
  };
  if (!Object.hasOwn(estimatorMethods, estimator)) refuse(`unknown homography estimator, use ${Object.keys(estimatorMethods).join(', ')}`, estimator);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) refuse('maxIterations must be a whole number >= 1', maxIterations);
  if (!(typeof ratio === 'number' && ratio > 0 && ratio <= 1)) refuse('ratio must be a number in (0, 1]', ratio);
  if (!(typeof maxDistance === 'number' && maxDistance >= 0)) refuse('maxDistance must be a number >= 0', maxDistance);
  if (!(typeof reprojectionThreshold === 'number' && reprojectionThreshold > 0 && Number.isFinite(reprojectionThreshold))) {
    refuse('reprojectionThreshold must be a finite number > 0', reprojectionThreshold);
  }
  // A homography needs 4 matches: fewer could never be told from chance.
  if (!(Number.isInteger(minInliers) && minInliers >= 4)) refuse('minInliers must be a whole number >= 4', minInliers);
  return resolved;
}

export interface Verification {
  /** Matches that agree with the homography found. */
  inliers: number;
  /** Matches that passed the ratio test (before RANSAC). */
  matches: number;
  /** inliers >= minInliers and the transform is plausible. */
  verified: boolean;
}

/**
 * Matches the query's features to a candidate's and counts the matches one plausible
 * homography explains. Plausible: it keeps orientation (no mirror: mirrored queries are
 * verified with mirrored features), scales by 1/8..8 and is close to affine. Random matches on
 * screentone or repeated glyphs do reach a dozen RANSAC inliers, but with a degenerate or
 * folding transform; the rule removed them on the evaluation's unindexed pages.
 */
export async function verifyLocalFeatures(query: LocalFeatures, candidate: LocalFeatures, options: VerifyOptions = {}): Promise<Verification> {
  const { ratio, maxDistance, reprojectionThreshold, minInliers, estimator, maxIterations } = resolveVerifyOptions(options);
  const method = estimatorMethods[estimator];
  const none: Verification = { inliers: 0, matches: 0, verified: false };
  const queryCount = query.points.length / 2;
  const candidateCount = candidate.points.length / 2;
  if (queryCount < 4 || candidateCount < 4) return none;
  const cv = await loadOpenCv();
  const owned: Array<{ delete(): void }> = [];
  try {
    const queryMat = descriptorMat(cv, query.descriptors, queryCount);
    const candidateMat = descriptorMat(cv, candidate.descriptors, candidateCount);
    const matcher = new cv.BFMatcher(cv.NORM_HAMMING, false);
    const pairs = new cv.DMatchVectorVector();
    owned.push(queryMat, candidateMat, matcher, pairs);
    matcher.knnMatch(queryMat, candidateMat, pairs, 2);
    const kept: Array<{ queryIdx: number; trainIdx: number; distance: number }> = [];
    for (let i = 0; i < pairs.size(); i++) {
      const pair = pairs.get(i);
      if (pair.size() >= 2) {
        const best = pair.get(0);
        const second = pair.get(1);
        if (best.distance <= maxDistance && best.distance < ratio * second.distance) kept.push({ queryIdx: best.queryIdx, trainIdx: best.trainIdx, distance: best.distance });
      }
      pair.delete();
    }
    // RHO draws its samples from the best matches first (PROSAC); the others sample uniformly.
    if (estimator === 'rho') kept.sort((a, b) => a.distance - b.distance || a.queryIdx - b.queryIdx);
    const from: number[] = [];
    const to: number[] = [];
    for (const { queryIdx, trainIdx } of kept) {
      from.push(query.points[2 * queryIdx]!, query.points[2 * queryIdx + 1]!);
      to.push(candidate.points[2 * trainIdx]!, candidate.points[2 * trainIdx + 1]!);
    }
    const matches = kept.length;
    if (matches < Math.max(4, minInliers)) return { ...none, matches };
    const fromMat = cv.matFromArray(matches, 1, cv.CV_32FC2, from);
    const toMat = cv.matFromArray(matches, 1, cv.CV_32FC2, to);
    const inlierMask = new cv.Mat();
    owned.push(fromMat, toMat, inlierMask);
    const homography = cv.findHomography(fromMat, toMat, method(cv), reprojectionThreshold, inlierMask, maxIterations, estimatorConfidence);
    owned.push(homography);
    if (homography.empty() || !plausibleHomography(homography.data64F)) return { ...none, matches };
    let inliers = 0;
    for (let i = 0; i < inlierMask.rows; i++) inliers += inlierMask.data[i]! ? 1 : 0;
    return { inliers, matches, verified: inliers >= minInliers };
  } catch (error) {
    throw new SagasuError('VERIFY_FAILED', `local features could not be compared: ${(error as Error).message}`, { cause: error });
  } finally {
    for (const item of owned) item.delete();
  }
}

/** h: the 3×3 homography, row-major. */
export function plausibleHomography(h: ArrayLike<number>): boolean {
  const determinant = h[0]! * h[4]! - h[1]! * h[3]!;
  const scale = Math.sqrt(Math.abs(determinant));
  return determinant > 0 && scale > 1 / 8 && scale < 8 && Math.abs(h[6]!) < 0.002 && Math.abs(h[7]!) < 0.002;
}

function descriptorMat(cv: OpenCv, descriptors: Uint8Array, count: number): CvMat {
  const mat = new cv.Mat(count, descriptorBytes, cv.CV_8U);
  mat.data.set(descriptors.subarray(0, count * descriptorBytes));
  return mat;
}
