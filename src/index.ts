/** The package entry (`import { Sagasu } from 'sagasu'`): the engine, its options and defaults, and the types a caller meets. */
export {
  Sagasu,
  defaultColourOptions,
  defaultSagasuOptions,
  defaultVerificationOptions,
  imageExtensions,
  readQueryFile,
  silentLogger,
  type AddInput,
  type AddResult,
  type AddStatus,
  type ColourOptions,
  type IndexPathsOptions,
  type IndexSummary,
  type Logger,
  type PreparedQuery,
  type SagasuOptions,
  type SearchHit,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
  type StageTimings,
  type VerificationOptions,
} from './sagasu.js';
export { SagasuError, isSagasuError, type SagasuErrorCode } from './errors.js';
export type { Box, DecodedImage, Embedder, OcrEngine, OcrLine, OcrRegion, OcrResult, OcrWord } from './types.js';
export { defaultFusionOptions, type FusionOptions, type SourceName, type SourceReason } from './fusion/fuse.js';
export type { SpatialReason } from './fusion/rerank.js';
export { defaultCalibrationModel } from './fusion/default-calibration.js';
export { parseCalibrationModel, type CalibrationModel } from './fusion/calibration.js';
export { defaultDecodeOptions } from './decoding/decode-image.js';
export { defaultOcrOptions, type OcrOptions, type OcrRunTrace } from './ocr/tesseract-ocr-engine.js';
export { defaultEmbedderOptions, type TfjsEmbedderOptions } from './embedding/tfjs-embedder.js';
export { defaultVectorIndexOptions, defaultRerankCandidates, defaultReductionFitAfter, type VectorIndexOptions, type VectorReduction } from './indexes/vector-index.js';
export { defaultRegionOptions, type RegionGrid, type RegionOptions } from './embedding/regions.js';
export { defaultDominantTextOptions, type DominantTextOptions } from './fusion/rerank.js';
