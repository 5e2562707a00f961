/** The embedding stage: DecodedImage -> unit vector, in-process or in worker threads. */
export { TfjsEmbedder, defaultEmbedderOptions, type TfjsEmbedderOptions } from './tfjs-embedder.js';
export {
  WorkerPoolEmbedder,
  defaultWorkerPoolEmbedderOptions,
  type WorkerPoolEmbedderOptions,
  type WorkerPoolStats,
} from './worker-pool-embedder.js';
export { PREPROCESSING_BLUR_SIGMA, PREPROCESSING_VERSION, mobileNetV2ModelId, type Pooling } from './features.js';
export { MOBILENET_V2_CHANNELS, loadMobileNetV2, mobileNetV2LoadCount, nsfwjsVersion } from './mobilenet-v2.js';
export { activeBackend, loadTfjsRuntime, type ActiveBackend, type BackendRequest } from './tfjs-runtime.js';
export { averagePool, dot, gemPool, l2Norm, l2Normalize } from './pooling.js';
