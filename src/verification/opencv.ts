import { createRequire } from 'node:module';
import { SagasuError } from '../errors.js';

/**
 * The few OpenCV (compiled to wasm, @techstark/opencv-js) calls spatial verification makes,
 * typed narrowly: the package's own typings describe the browser build and do not compile
 * cleanly under strict NodeNext.
 */
export interface CvMat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data64F: Float64Array;
  empty(): boolean;
  delete(): void;
}
interface CvKeyPoint {
  pt: { x: number; y: number };
  response: number;
}
interface CvVector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}
interface CvDMatch {
  queryIdx: number;
  trainIdx: number;
  distance: number;
}
export interface OpenCv {
  CV_8UC1: number;
  CV_8U: number;
  CV_32FC2: number;
  NORM_HAMMING: number;
  RANSAC: number;
  RHO: number;
  USAC_ACCURATE: number;
  Mat: new (rows?: number, cols?: number, type?: number) => CvMat;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): CvMat;
  ORB: new (nfeatures: number) => {
    detectAndCompute(image: CvMat, mask: CvMat, keypoints: CvVector<CvKeyPoint>, descriptors: CvMat): void;
    detect(image: CvMat, keypoints: CvVector<CvKeyPoint>, mask: CvMat): void;
    compute(image: CvMat, keypoints: CvVector<CvKeyPoint>, descriptors: CvMat): void;
    delete(): void;
  };
  KeyPointVector: new () => CvVector<CvKeyPoint> & { push_back(item: CvKeyPoint): void };
  BFMatcher: new (norm: number, crossCheck: boolean) => { knnMatch(query: CvMat, train: CvMat, matches: CvVector<CvVector<CvDMatch>>, k: number): void; delete(): void };
  DMatchVectorVector: new () => CvVector<CvVector<CvDMatch>>;
  findHomography(src: CvMat, dst: CvMat, method: number, threshold: number, mask: CvMat, maxIters?: number, confidence?: number): CvMat;
}

let loading: Promise<OpenCv> | undefined;

/** Loads OpenCV once per process (about 0.3 s and 10 MB of wasm), on first use. */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const module = require('@techstark/opencv-js') as OpenCv & { onRuntimeInitialized?: () => void; then?: unknown };
      if (typeof module.Mat !== 'function') {
        await new Promise<void>((resolveReady) => {
          module.onRuntimeInitialized = () => resolveReady();
        });
      }
      // Emscripten gives the module a `then` that resolves to the module itself: returned from an
      // async function it would be awaited again and again, forever. It is not needed once ready.
      delete module.then;
      return module;
    } catch (error) {
      loading = undefined;
      throw new SagasuError('VERIFY_FAILED', `cannot load OpenCV (@techstark/opencv-js): ${(error as Error).message}`, { cause: error });
    }
  })();
  return loading;
}
