import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { cropDecoded, findContentArea } from './decoding/content-area.js';
import { decodeImage, type DecodeOptions, type DecodedWithHashes } from './decoding/decode-image.js';
import { SagasuError, isSagasuError } from './errors.js';
import { heuristicConfidence } from './fusion/confidence.js';
import { defaultCalibrationModel } from './fusion/default-calibration.js';
import { calibratedConfidence, parseCalibrationModel, type CalibrationModel } from './fusion/calibration.js';
import { tokenize } from './indexes/tokenize.js';
import { fuse, type FusedHit, type FusionOptions, type RankedList, type SourceName } from './fusion/fuse.js';
import { HashIndex, defaultHashSearchOptions } from './indexes/hash-index.js';
import { ScopeMap } from './indexes/scope-map.js';
import { TextIndex, type TextHit, type TextIndexOptions } from './indexes/text-index.js';
import { VectorIndex, defaultReductionFitAfter, type VectorIndexOptions, type VectorReduction } from './indexes/vector-index.js';
import { SqliteStore, sourceKey, sourceName, type ImageRecord, type IndexRow, type SourceInput, type SourceRecord } from './store/sqlite-store.js';
import { TfjsEmbedder, type TfjsEmbedderOptions } from './embedding/tfjs-embedder.js';
import { WorkerPoolEmbedder, type WorkerPoolEmbedderOptions } from './embedding/worker-pool-embedder.js';
import { defaultRegionOptions, maxRegions, regionIn, regionLayoutId, regionWindows, validateRegionOptions, type RegionOptions } from './embedding/regions.js';
import { dot } from './embedding/pooling.js';
import { colourMatch, colourSignature, colourSignatureId, noColour, packColourSignatures } from './embedding/colour.js';
import { TesseractOcrEngine, type OcrOptions } from './ocr/tesseract-ocr-engine.js';
import type { Box, DecodedImage, Embedder, OcrEngine, OcrResult } from './types.js';
import { promoteDominantText, rerankByVerification, type SpatialReason, type VerifiedHit } from './fusion/rerank.js';
import {
  decodeLocalFeatures,
  encodeLocalFeatures,
  extractLocalFeatures,
  localFeaturesId,
  resolveLocalFeatureOptions,
  resolveVerifyOptions,
  verifyLocalFeatures,
  type LocalFeatureOptions,
  type LocalFeatures,
  type VerifyOptions,
} from './verification/local-features.js';

/** Receives non-fatal problems (a snapshot rebuilt, a slow stage). Replace it to route them elsewhere. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

export interface SagasuOptions {
  /** Where the store and index snapshots live. Default `./data`. */
  dataDir?: string;
  /** Scope of records added and searched when a call names none. Default `local`. */
  scope?: string;
  /**
   * Reads text in images: an OcrEngine, options for the default tesseract.js engine
   * (English + Japanese, horizontal and vertical), or `false` to turn the text path off (then
   * `--text` still searches file names and captions). Default: the tesseract.js engine.
   */
  ocr?: OcrEngine | false | Partial<OcrOptions>;
  /**
   * Turns images into vectors: an Embedder, or options for the default MobileNetV2 embedder
   * (with `workers: n` for a pool of n worker threads). Its modelId and dimension are recorded
   * with the store. Default: in-process MobileNetV2 on TensorFlow.js.
   */
  embedder?: Embedder | (TfjsEmbedderOptions & { workers?: number });
  decode?: DecodeOptions;
  fusion?: FusionOptions;
  /**
   * HNSW settings, and `reduction` (PCA, for large collections: see the README's Benchmarks). The
   * reduction belongs to the data directory: once given it is recorded in the store and used by
   * every later open that does not give one (`null` records "full vectors").
   */
  vectorIndex?: VectorIndexOptions;
  textIndex?: TextIndexOptions;
  /** Largest perceptual-hash Hamming distance that counts as a near duplicate. Default 8. */
  hashMaxDistance?: number;
  /**
   * Also embed the mirrored query image and keep, per indexed image, the better of the two
   * similarities: re-posts are often flipped. Costs one more embedding per query. Default true.
   */
  mirroredQueries?: boolean;
  /**
   * Also embed the picture inside a query that looks like a screenshot (the largest area of
   * detail, when chrome surrounds it: see findContentArea) and keep, per indexed image, the best
   * similarity. Costs one more embedding for such queries only. Default true.
   */
  contentAreaQueries?: boolean;
  /**
   * Whether an image query's text hit may rest on a single word that OCR read and the image has
   * only approximately (fuzzy, an edit or two away). Such a hit is chance more often than not: a
   * screenshot's "# manga" channel name found the product photo named Mango, and the text source's
   * first place outweighs the look of the right image. Off by default: those hits are dropped;
   * two such words, or one found as itself, still count. Typed text (`query.text`) is never
   * affected. Default false.
   */
  loneFuzzyTextHits?: boolean;
  /**
   * Region vectors: each indexed image is also embedded as grids of windows (default 20: 4 of
   * 0.65 and 16 of a third of the image; on a comic page cut into panels along its gutters, the 4
   * and its panels instead), each pointing to the image, so that a crop or a single panel finds
   * its page; hits on a region say which (`reasons.visual.detail.region` and `regionBox`). Costs one embedding
   * per window at indexing and one vector per window in memory: turn off (`false`) for very large
   * collections (see the README's Benchmarks). Images indexed without them are searched as before.
   */
  regionVectors?: false | Partial<RegionOptions>;
  /**
   * Spatial verification: local features (ORB) are stored with every image, and the first
   * `candidates` fused hits of an image query are re-ranked by how many of the query's features
   * match theirs under one plausible homography (shown as reasons.spatial). `false` turns it off
   * (nothing stored, nothing re-ranked).
   */
  verification?: false | VerificationOptions;
  /**
   * Colour: each image's hue histogram is stored (a few bytes, see src/embedding/colour.ts), and
   * the first `candidates` of an image query's visual ranking are re-ordered among themselves by
   * look and colour together: a candidate's visual score is its cosine similarity minus `weight`
   * times how far its colours are from the query's (1 - histogram intersection), shown as
   * `reasons.visual.detail.colour` (a hit found through one of its region windows is compared with
   * that window's colours or the whole image's, whichever match better). Only a mismatch counts
   * against a candidate, so a candidate is never raised by colour alone. A query without colour (black-and-white manga) is left as its
   * look put it; for a coloured query, an image without any colour is a full mismatch (colour 0),
   * and one indexed before colours were kept is left as it was. `false` turns it off (nothing
   * stored, nothing re-ordered). Default `defaultColourOptions`.
   */
  colour?: false | ColourOptions;
  /**
   * Turns each hit's evidence into its confidence: a logistic model fitted by `sagasu eval
   * --calibration-out` (its threshold is {@link Sagasu.confidenceThreshold}). Default the model
   * shipped in src/fusion/default-calibration.ts; `false` uses the hand-set heuristicConfidence.
   */
  calibration?: CalibrationModel | false;
  /** Per-image time limits for the OCR and embedding stages, in ms. Default 60000 and 30000. */
  timeouts?: { ocrMs?: number; embedMs?: number };
  logger?: Logger;
}

export interface ColourOptions {
  /** How much a full colour mismatch takes off a visual candidate's cosine similarity. Default 0.3. */
  weight?: number;
  /**
   * How many of the first visual candidates (by look) colour re-orders. The rest keep their
   * places, so colour never moves an image into or out of the set that spatial verification can
   * reach (its `extendTo`). Default 36.
   */
  candidates?: number;
}

/**
 * The weight was read off the products of `sagasu eval` seed 1 (replaying the visual lists of its
 * records with colour added; 0.05-0.2 gained less), seed 2 held out. Full evaluation, both seeds
 * (1 / 2): product phone photos 0.904 -> 0.959 / 0.822 -> 0.877, screenshots 0.959 -> 1.000 /
 * 0.918 -> 0.973, crops 0.959 -> 0.986 / 0.973 -> 1.000, manga unchanged, store photos top-1 -5 /
 * -3 of ~270 but top-5 +7 / +9. Re-ordering the whole ranking (not just the first 36) lost store
 * photos: a photo of a product on a crowded shelf has the shelf's colours, which pushed the right
 * product from the 35th place (where verification found it) to the 98th.
 */
export const defaultColourOptions: Required<ColourOptions> = { weight: 0.3, candidates: 36 };

/** Checks colour options when the engine opens: false when colour is off (`false`, or weight 0). */
export function resolveColourOptions(colour: false | ColourOptions | undefined): Required<ColourOptions> | false {
  if (colour === false) return false;
  const resolved = { ...defaultColourOptions, ...colour };
  const { weight, candidates } = resolved;
  if (!(Number.isFinite(weight) && weight >= 0 && weight <= 1)) throw new SagasuError('INVALID_OPTION', `colour.weight must be a number from 0 to 1, got ${weight}`);
  if (!(Number.isInteger(candidates) && candidates >= 1 && candidates <= 1000)) throw new SagasuError('INVALID_OPTION', `colour.candidates must be a whole number from 1 to 1000, got ${candidates}`);
  return weight === 0 ? false : resolved;
}

export interface VerificationOptions {
  /** How many of the first fused hits are verified. Default 12. */
  candidates?: number;
  /**
   * Also verified: the first this many of each source's own ranking, wherever fusion put them (a
   * flipped page whose OCR reads nonsense can fall out of the fused head while still first by
   * look). Default 3.
   */
  perSource?: number;
  /**
   * Stop verifying further candidates after this many ms (at least one is always checked), so a
   * query with many feature-rich candidates cannot hold a search for seconds. Default 1000.
   */
  budgetMs?: number;
  /** Stop verifying further candidates once one has at least this many inliers. Default 80. */
  stopAtInliers?: number;
  /**
   * When none of the first candidates is verified, keep going down the fused list up to this
   * many candidates (within the time budget): a store photo's product or a small panel's page is
   * often ranked 13th-36th by look, where only its local features can pick it out. Default 36.
   */
  extendTo?: number;
  /**
   * Go on down to extendTo even after a verified candidate, unless one verified with at least
   * this many inliers: a wrong page or a carton of the same brand can verify weakly (12-19
   * inliers) while the right one sits 13th-36th. Default 0: any verified candidate ends the search.
   * Measured at 30 with an unbounded budget: 2 more right answers of 1,219 evaluation queries on
   * seed 1 (where 30 was read off), none on seed 2, for 6% more checks; so not the default.
   */
  extendUnlessInliers?: number;
  /**
   * Once a candidate is verified, also verify up to this many of the fused list's candidates that
   * look most like it (by their stored vectors), wherever fusion ranked them. Products of one
   * brand share a logo and a layout: a photo of one flavour verifies its sibling with 50-280
   * inliers (enough to stop the loop at stopAtInliers) while the right package sits 9th-62nd by
   * look, unverified. Its own check then gives it more inliers than the sibling. Default 4; 0 off.
   */
  siblings?: number;
  /** How indexed images' features are extracted. */
  features?: LocalFeatureOptions;
  /**
   * How a query's features are extracted. Default: as `features`, but small queries are enlarged
   * only to 320 px: a query is often a small crop of a large page, and enlarged further it drifts
   * out of the scale range ORB's pyramid can match (measured on bubble and panel crops).
   */
  queryFeatures?: LocalFeatureOptions;
  verify?: VerifyOptions;
}

export const defaultVerificationOptions = {
  candidates: 12,
  perSource: 3,
  budgetMs: 1000,
  stopAtInliers: 80,
  extendTo: 36,
  extendUnlessInliers: 0,
  siblings: 4,
  features: {} as LocalFeatureOptions,
  queryFeatures: { minSide: 320 } as LocalFeatureOptions,
  verify: {} as VerifyOptions,
};

/** The options with their defaults, or INVALID_OPTION naming the first one that is out of range. */
export function resolveVerificationOptions(options: VerificationOptions): typeof defaultVerificationOptions {
  const resolved = { ...defaultVerificationOptions, ...options };
  for (const name of ['candidates', 'perSource', 'extendTo', 'siblings'] as const) {
    const value = resolved[name];
    if (!(Number.isInteger(value) && value >= 0)) throw new SagasuError('INVALID_OPTION', `verification.${name} must be a whole number >= 0 (got ${JSON.stringify(value)})`);
  }
  // Infinity is allowed: no time limit, never stop early, always go on down the list.
  for (const name of ['budgetMs', 'stopAtInliers', 'extendUnlessInliers'] as const) {
    const value = resolved[name];
    if (!(typeof value === 'number' && value >= 0)) throw new SagasuError('INVALID_OPTION', `verification.${name} must be a number >= 0 (got ${JSON.stringify(value)})`);
  }
  const checks: Array<[string, () => unknown]> = [
    ['verify', () => resolveVerifyOptions(resolved.verify)],
    ['features', () => resolveLocalFeatureOptions(resolved.features)],
    ['queryFeatures', () => resolveLocalFeatureOptions({ ...resolved.features, ...resolved.queryFeatures })],
  ];
  for (const [name, check] of checks) {
    try {
      check();
    } catch (error) {
      if (isSagasuError(error)) throw new SagasuError(error.code, `verification.${name}: ${error.message.replace(/^sagasu: /, '')}`, { cause: error });
      throw error;
    }
  }
  return resolved;
}

/** Below this heuristicConfidence a hit is not a confident match (hand-set with the heuristic). */
const heuristicThreshold = 0.5;

export const defaultSagasuOptions = {
  dataDir: './data',
  scope: 'local',
  mirroredQueries: true,
  contentAreaQueries: true,
  loneFuzzyTextHits: false,
  hashMaxDistance: defaultHashSearchOptions.maxDistance,
  timeouts: { ocrMs: 60_000, embedMs: 30_000 },
};

/** File endings picked up when a folder is indexed (files named explicitly are always tried). */
export const imageExtensions: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.jfif', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff']);

export type AddStatus =
  /** New image: decoded, read, embedded, indexed. */
  | 'added'
  /** The same bytes were already indexed in this scope: this source now points at them too. */
  | 'linked'
  /** This source was indexed with the same bytes already: nothing to do. */
  | 'unchanged'
  /** This source was indexed with other bytes: it now points at the new image. */
  | 'updated';

export interface StageTimings {
  decodeMs?: number;
  ocrMs?: number;
  embedMs?: number;
  searchMs?: number;
  fuseMs?: number;
  /** Local features of the image (indexing and queries). */
  featuresMs?: number;
  /** Spatial verification of the first candidates (queries). */
  verifyMs?: number;
}

export interface AddResult {
  status: AddStatus;
  imageId: number;
  timings: StageTimings;
}

export interface AddInput {
  bytes: Buffer;
  source: SourceInput;
  scope?: string;
}

/** A query image already decoded, read and embedded (see `Sagasu.prepareQuery`): search it many ways at the cost of one. */
export interface PreparedQuery {
  readonly decoded: DecodedWithHashes;
  readonly ocr: OcrResult | undefined;
  readonly embedding: Float32Array;
  /** The embedding of the mirrored image (queries only, when mirroredQueries is on). */
  readonly mirroredEmbedding?: Float32Array;
  /** The embedding of the picture found inside a screenshot-like query, and where it is (see contentAreaQueries). */
  readonly contentEmbedding?: Float32Array;
  readonly contentArea?: Box;
  /** The colour signature of the query, and of the picture inside a screenshot-like one, when they have colour. */
  readonly colour?: Uint8Array;
  readonly contentColour?: Uint8Array;
  /** Local features, when verification is on and they could be extracted. */
  readonly localFeatures?: LocalFeatures;
  readonly timings: StageTimings;
}

export interface SearchQuery {
  /** A query image (its OCR text and vector are searched). */
  image?: Buffer;
  /** A query image prepared earlier; takes the place of `image`. */
  prepared?: PreparedQuery;
  /** Words to search the OCR text for, alone or added to the image's own text. */
  text?: string;
}

export interface SearchOptions {
  /** How many hits to return. Default 10. */
  k?: number;
  scope?: string;
  /** Which sources to use. Default all three. */
  sources?: SourceName[];
  fusion?: FusionOptions;
  /** Drop hits whose source is not wanted (e.g. a Discord channel the member cannot see). */
  filterSource?: (source: SourceRecord) => boolean;
  /**
   * Re-rank the first candidates of an image query by spatial verification (when the engine has
   * it on and the visual source is used). Default true.
   */
  verify?: boolean;
}

export interface SearchHit {
  imageId: number;
  /** The first source's file path (for files), else null. */
  path: string | null;
  score: number;
  /** Why it ranks here: each source's rank and evidence, and `spatial` when it was verified. */
  reasons: FusedHit['reasons'] & { spatial?: SpatialReason };
  sources: SourceRecord[];
  ocrText: string;
  /**
   * 0..1: the calibrated probability that this is the original (see SagasuOptions.calibration);
   * below {@link Sagasu.confidenceThreshold} the answer is "no confident match".
   */
  confidence: number;
}

export interface SearchResult {
  hits: SearchHit[];
  /** What was read from the query image, when there was one. */
  queryText: string;
  timings: StageTimings;
  /** Hits below this confidence are not confident matches (the calibrated threshold for image queries, 0.5 for the heuristic). */
  confidenceThreshold: number;
}

export interface IndexPathsOptions {
  scope?: string;
  /** Called after each file is written (or has failed), with its outcome, in the files' order. */
  onFile?: (event: { path: string; done: number; total: number; result?: AddResult; error?: SagasuError }) => void;
  /**
   * Images processed at once. Default 3: one more than the OCR slots on 2 cores, so one image is
   * decoded, embedded and described while two are read (74 real manga pages of ~1 MP: 1.19
   * images/s with 2, 1.39 with 3; `npm run bench -- <folder> --ingest-only --concurrency N`).
   */
  concurrency?: number;
}

export interface IndexSummary {
  total: number;
  added: number;
  linked: number;
  unchanged: number;
  updated: number;
  /** Files that could not be indexed, in the order of the files. */
  failed: Array<{ path: string; code: string; message: string }>;
  seconds: number;
}

/** An analysed image waiting for its turn to be written (see `prepareAdd`). */
interface PreparedImage extends Pick<Analysis, 'ocr' | 'embedding' | 'localFeatures' | 'regionEmbeddings' | 'regionLayout' | 'partColours'> {
  scope: string;
  source: SourceInput;
  timings: StageTimings;
  sha256: string;
  phash: string;
  original: DecodedImage['original'];
}

interface Analysis {
  decoded: DecodedWithHashes;
  ocr: OcrResult | undefined;
  embedding: Float32Array;
  mirroredEmbedding?: Float32Array;
  contentEmbedding?: Float32Array;
  contentArea?: Box;
  /** Indexing: the vectors of the region windows, in region order (see RegionOptions). */
  regionEmbeddings?: Float32Array[];
  /** Indexing: the windows those vectors describe (see RegionWindows.layout). */
  regionLayout?: string;
  localFeatures?: LocalFeatures;
  colour?: Uint8Array;
  contentColour?: Uint8Array;
  /** Indexing: the colours of the whole image and of its region windows (see packColourSignatures). */
  partColours?: Uint8Array;
}

/**
 * The sagasu engine: one SQLite store (source of truth) plus three derived indexes (text,
 * vector, hash), kept in step. One instance per data directory per process.
 */
export class Sagasu {
  readonly dataDir: string;
  readonly store: SqliteStore;
  private readonly options: SagasuOptions & typeof defaultSagasuOptions;
  private readonly logger: Logger;
  private readonly ocr: OcrEngine | false;
  private readonly embedder: Embedder;
  /** Embeds region windows at indexing: a worker thread of its own when the engine made its own in-process embedder. */
  private readonly regionEmbedder: Embedder;
  private textIndex: TextIndex;
  private vectorIndex: VectorIndex;
  /** Region vectors, labelled `imageId * maxRegions + region`. */
  private regionIndex: VectorIndex;
  /** The region layout and penalty (also when indexing them is off: stored regions are still searched). */
  private readonly regions: RegionOptions;
  /** See SagasuOptions.colour. */
  private readonly colour: Required<ColourOptions> | false;
  /** Whether images added now get region vectors, and the layout id they are stored with. */
  private readonly indexRegions: boolean;
  private readonly regionLayout: string;
  private readonly hashIndex = new HashIndex();
  private readonly verification: typeof defaultVerificationOptions;
  private readonly calibration: CalibrationModel | false;
  private readonly queryFeatureOptions: LocalFeatureOptions;
  private readonly scopeOf = new ScopeMap();
  /** Engines this instance created from options, and so closes. */
  private readonly owned: Array<OcrEngine | Embedder>;
  private closed = false;

  private constructor(
    options: SagasuOptions & typeof defaultSagasuOptions,
    parts: {
      store: SqliteStore;
      text: TextIndex;
      vector: VectorIndex;
      region: VectorIndex;
      regions: RegionOptions;
      regionEmbedder: Embedder;
      ocr: OcrEngine | false;
      embedder: Embedder;
      owned: Array<OcrEngine | Embedder>;
      verification: typeof defaultVerificationOptions;
      colour: Required<ColourOptions> | false;
    },
  ) {
    this.options = options;
    this.dataDir = options.dataDir;
    this.store = parts.store;
    this.logger = options.logger ?? silentLogger;
    this.ocr = parts.ocr;
    this.embedder = parts.embedder;
    this.regionEmbedder = parts.regionEmbedder;
    this.owned = parts.owned;
    this.textIndex = parts.text;
    this.vectorIndex = parts.vector;
    this.regionIndex = parts.region;
    this.regions = parts.regions;
    this.indexRegions = options.regionVectors !== false;
    this.regionLayout = regionLayoutId(this.regions.grids);
    this.verification = parts.verification;
    this.colour = parts.colour;
    this.queryFeatureOptions = { ...this.verification.features, ...this.verification.queryFeatures };
    this.calibration = options.calibration === false ? false : parseCalibrationModel(options.calibration ?? defaultCalibrationModel);
  }

  /** Opens the data directory (creating it), loads the index snapshots and brings them up to date with the store. */
  static async open(options: SagasuOptions): Promise<Sagasu> {
    const merged = {
      ...defaultSagasuOptions,
      ...options,
      timeouts: { ...defaultSagasuOptions.timeouts, ...options.timeouts },
    } as SagasuOptions & typeof defaultSagasuOptions;
    // Refused here rather than at each query, where a bad value would only skip verification.
    const verification = resolveVerificationOptions(merged.verification || {});
    const colour = resolveColourOptions(merged.colour);
    const dataDir = resolve(merged.dataDir);
    mkdirSync(dataDir, { recursive: true });
    merged.dataDir = dataDir;
    const owned: Array<OcrEngine | Embedder> = [];
    // Neither engine starts workers or loads a model until first used: opening stays fast.
    const ocr = options.ocr === false ? false : isOcrEngine(options.ocr) ? options.ocr : own(owned, new TesseractOcrEngine(options.ocr ?? {}));
    const embedder = isEmbedder(options.embedder) ? options.embedder : own(owned, createEmbedder(options.embedder ?? {}));
    // Region windows (20 embeddings per indexed image) would hold the main thread ~1.8 s per image
    // (wasm runs one embedding at a time). Two workers of their own keep both cores busy while
    // indexing; queries keep the in-process embedder (a query competing with a worker was slower: see the
    // README's Benchmarks). The workers start on the first image that needs them.
    const regionEmbedder =
      !isEmbedder(options.embedder) && !(options.embedder?.workers && options.embedder.workers > 0) && options.regionVectors !== false
        ? own(owned, new WorkerPoolEmbedder({ ...(options.embedder ?? {}), workers: 2 }))
        : embedder;
    const { modelId, dimension } = embedder;
    let store: SqliteStore | undefined;
    try {
      store = SqliteStore.open(join(dataDir, 'sagasu.db'), { modelId, dimension });
      const vectorOptions = withRecordedReduction(store, merged.vectorIndex);
      // Loads the graph now; the copy of the full vectors is read in a worker meanwhile, while this thread also loads the text index.
      const vectorLoading = VectorIndex.loadAsync(join(dataDir, 'vector-index'), modelId, dimension, vectorOptions);
      const text = TextIndex.load(join(dataDir, textIndexFile), merged.textIndex) ?? new TextIndex(merged.textIndex);
      const vector = (await vectorLoading) ?? new VectorIndex(modelId, dimension, vectorOptions);
      const regionOptions = { ...vectorOptions, reduction: regionReduction(dimension) };
      const region =
        VectorIndex.load(join(dataDir, 'region-index'), modelId, dimension, regionOptions) ?? new VectorIndex(modelId, dimension, regionOptions);
      // Recorded only once the index accepted it: a refused setting must not stick.
      if (merged.vectorIndex?.reduction !== undefined) store.setMeta(reductionMetaKey, JSON.stringify(recordableReduction(merged.vectorIndex.reduction)));
      const regions = resolveRegionOptions(merged.regionVectors);
      if (merged.regionVectors !== false) checkRegionLayout(store, regions);
      const engine = new Sagasu(merged, { store, text, vector, region, regions, regionEmbedder, ocr, embedder, owned, verification, colour });
      engine.catchUpIndexes();
      return engine;
    } catch (error) {
      store?.close();
      await Promise.allSettled(owned.map((part) => part.close()));
      throw error;
    }
  }

  /**
   * The store is the truth: replay its changes since each snapshot, or rebuild an index that
   * cannot catch up (no snapshot, one out of step, or a backlog so long that one streamed pass
   * over the store is cheaper than fetching the images one change at a time). Every index that
   * needs a rebuild is filled in the same pass.
   */
  private catchUpIndexes(): void {
    const keys = this.store.imageKeys();
    for (const { id, scope, phash } of keys) {
      this.scopeOf.set(id, scope);
      this.hashIndex.add({ id, phash });
    }
    const trimmedThrough = Number(this.store.getMeta('changes_trimmed_through') ?? 0);
    const lastSeq = this.store.lastChangeSeq();
    const everyImage = (index: TextIndex | VectorIndex) => index.count === keys.length && keys.every(({ id }) => index.has(id));
    const indexes = [
      {
        name: 'text',
        index: this.textIndex as TextIndex | VectorIndex,
        apply: (row: IndexRow) => this.textIndex.add(this.textDocument(row, row.names)),
        remove: (id: number) => this.textIndex.remove(id),
        consistent: () => everyImage(this.textIndex),
      },
      {
        name: 'vector',
        index: this.vectorIndex as TextIndex | VectorIndex,
        apply: (row: IndexRow) => this.vectorIndex.add(row.id, row.embedding),
        remove: (id: number) => this.vectorIndex.remove(id),
        consistent: () => everyImage(this.vectorIndex),
      },
      {
        name: 'region',
        index: this.regionIndex as TextIndex | VectorIndex,
        apply: (row: IndexRow) => this.addRegions(row.id, row.regions),
        remove: (id: number) => this.removeRegions(id),
        consistent: () => this.regionIndex.count === this.store.regionVectorCount(),
      },
    ];
    const rebuild = (stale: typeof indexes) => {
      if (stale.length === 0) return;
      for (const { index } of stale) index.clear();
      for (const row of this.store.iterateIndexRows({ regions: stale.some(({ name }) => name === 'region') })) for (const { apply } of stale) apply(row);
      for (const { index } of stale) index.seq = lastSeq;
    };
    const stale = indexes.filter(({ name, index }) => {
      if (index.seq < trimmedThrough || index.seq > lastSeq) {
        if (index.seq > 0 || index.count > 0) this.logger.warn(`${name} index snapshot is out of step with the store; rebuilding it`);
        return true;
      }
      return index.count === 0 && index.seq === 0 && keys.length > 0 && (name !== 'region' || this.store.regionVectorCount() > 0);
    });
    for (const entry of indexes.filter((entry) => !stale.includes(entry))) {
      const backlog = this.store.changeCountSince(entry.index.seq);
      if (backlog > Math.max(1000, keys.length / 10)) stale.push(entry);
    }
    rebuild(stale);
    for (const { name, index, apply, remove } of indexes.filter((entry) => !stale.includes(entry))) {
      for (const change of this.store.changesSince(index.seq)) {
        const image = change.op === 'add' ? this.store.getImage(change.imageId) : undefined;
        if (!image) {
          remove(change.imageId);
          continue;
        }
        const regions = name === 'region' ? this.store.regionEmbeddingsOf([image.id]).get(image.id) : undefined;
        apply({ id: image.id, ocrText: image.ocrText, names: this.sourceNames(image.id), embedding: image.embedding, ...(regions ? { regions } : {}) });
      }
      index.seq = lastSeq;
    }
    // Consistency check: each index must hold exactly the store's images (same count, all present).
    rebuild(
      indexes.filter(({ name, index, consistent }) => {
        if (consistent()) return false;
        this.logger.warn(`${name} index disagrees with the store (${index.count} entries for ${keys.length} images); rebuilding it`);
        return true;
      }),
    );
    // A reduced vector index keeps a compressed copy of the full vectors for re-ranking: a snapshot
    // saved without it (or with a damaged one) is completed from the store, without a rebuild.
    const withoutFullVector = this.vectorIndex.idsWithoutFullVector();
    for (let from = 0; from < withoutFullVector.length; from += 1000) {
      for (const [id, vector] of this.store.embeddingsOf(withoutFullVector.slice(from, from + 1000))) this.vectorIndex.restoreFullVector(id, vector);
    }
  }

  private addRegions(imageId: number, vectors: readonly Float32Array[] | undefined): void {
    vectors?.forEach((vector, region) => {
      if (region < maxRegions) this.regionIndex.add(imageId * maxRegions + region, vector);
    });
  }

  private removeRegions(imageId: number): void {
    for (let region = 0; region < maxRegions; region++) this.regionIndex.remove(imageId * maxRegions + region);
  }

  private sourceNames(imageId: number): string[] {
    return this.store.sourcesOf(imageId).map(sourceName);
  }

  private textDocument(image: Pick<ImageRecord, 'id' | 'ocrText'>, names = this.sourceNames(image.id)): { id: number; text: string; names: string } {
    return { id: image.id, text: image.ocrText, names: names.join(' ') };
  }

  private assertOpen(): void {
    if (this.closed) throw new SagasuError('INVALID_OPTION', 'this Sagasu instance is closed');
  }

  /** Batched when the embedder can (the worker pool predicts several windows in one call). */
  private async embedAll(embedder: Embedder, images: readonly DecodedImage[]): Promise<Float32Array[]> {
    if (embedder.embedMany) return embedder.embedMany(images);
    return Promise.all(images.map((image) => embedder.embed(image)));
  }

  private async withTimeout<T>(stage: string, ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Settle with TIMEOUT before aborting: the stage's own rejection on abort must not win the race.
        reject(new SagasuError('TIMEOUT', `${stage} took longer than ${ms} ms`));
        controller.abort();
      }, ms);
    });
    try {
      return await Promise.race([run(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async decode(bytes: Buffer, timings: StageTimings): Promise<DecodedWithHashes> {
    const start = performance.now();
    const decoded = await decodeImage(bytes, this.options.decode);
    timings.decodeMs = performance.now() - start;
    return decoded;
  }

  /** OCR and embed at the same time (the OCR pool and the embedder run in parallel). */
  /** `variants`: also embed the mirrored image, and the picture inside a screenshot-like image (queries). */
  private async analyse(
    decoded: DecodedWithHashes,
    withOcr: boolean,
    timings: StageTimings,
    variants: { mirrored?: boolean; contentArea?: boolean; regions?: RegionOptions | false } = {},
    purpose: 'index' | 'query' = 'index',
  ): Promise<Analysis> {
    const image = decoded.image;
    const ocrPromise = (async () => {
      if (!withOcr || this.ocr === false) return undefined;
      const ocr = this.ocr;
      const began = performance.now();
      const result = await this.withTimeout('OCR', this.options.timeouts.ocrMs, (signal) => ocr.recognize(image, { signal }));
      timings.ocrMs = performance.now() - began;
      return result;
    })();
    // Started first: with a region worker they run beside the main thread's embeddings.
    const windowsPromise = variants.regions ? regionWindows(image, variants.regions) : Promise.resolve({ boxes: [], layout: '' });
    const regionsPromise = windowsPromise.then(({ boxes }) =>
      boxes.length > 0
        ? this.withTimeout('embedding', this.options.timeouts.embedMs, async () =>
            this.embedAll(this.regionEmbedder, await Promise.all(boxes.map((box) => cropDecoded(image, box)))),
          ).catch((error: unknown) => {
            // Regions are extra evidence: the image is still indexed, found by its whole vector.
            this.logger.warn(`region vectors skipped: ${(error as Error).message}`);
            return undefined;
          })
        : undefined,
    );
    const embedPromise = (async () => {
      const began = performance.now();
      // Screenshots: the picture inside, embedded on its own.
      const contentArea = variants.contentArea ? await findContentArea(image) : undefined;
      const [mirrored, inside] = await Promise.all([
        variants.mirrored ? mirrorImage(image) : undefined,
        contentArea ? cropDecoded(image, contentArea) : undefined,
      ]);
      // A query's two or three pictures go as one batch: ~48 ms each on wasm against ~61 one at a time.
      const vectors = await this.withTimeout('embedding', this.options.timeouts.embedMs, () =>
        mirrored || inside ? this.embedAll(this.embedder, [image, ...(mirrored ? [mirrored] : []), ...(inside ? [inside] : [])]) : this.embedder.embed(image).then((only) => [only]),
      );
      const vector = vectors[0]!;
      const mirror = mirrored ? vectors[1] : undefined;
      const content = inside ? vectors[vectors.length - 1] : undefined;
      const regions = await regionsPromise;
      timings.embedMs = performance.now() - began;
      return { vector, mirror, content, contentArea, regions };
    })();
    const featuresPromise = (async () => {
      if (this.options.verification === false) return undefined;
      const began = performance.now();
      try {
        return await extractLocalFeatures(image, purpose === 'query' ? this.queryFeatureOptions : this.verification.features);
      } catch (error) {
        // Verification is extra evidence: an image whose features fail is still indexed and searched.
        this.logger.warn(`local features skipped: ${(error as Error).message}`);
        return undefined;
      } finally {
        timings.featuresMs = performance.now() - began;
      }
    })();
    const [ocr, { vector, mirror, content, contentArea, regions }, localFeatures, { boxes, layout: regionLayout }] = await Promise.all([
      ocrPromise,
      embedPromise,
      featuresPromise,
      windowsPromise,
    ]);
    const colour = this.colour ? colourSignature(image) : undefined;
    // Indexing: the colours of each region window too, for queries that match one of them.
    const regionColours = this.colour && purpose === 'index' ? boxes.map((box) => colourSignature(image, box)) : [];
    // A screenshot's colours are the picture's, not the app's around it.
    const contentColour = this.colour && content && contentArea ? colourSignature(image, contentArea) : undefined;
    return {
      decoded,
      ocr,
      embedding: vector,
      ...(regions ? { regionEmbeddings: regions, regionLayout } : {}),
      ...(mirror ? { mirroredEmbedding: mirror } : {}),
      ...(content ? { contentEmbedding: content, contentArea } : {}),
      ...(localFeatures ? { localFeatures } : {}),
      ...(colour ? { colour } : {}),
      // Indexing: a row even for an image without colour (empty), so that search can tell a
      // black-and-white image from one indexed before colours were kept.
      ...(this.colour && purpose === 'index' ? { partColours: packColourSignatures([colour, ...regionColours]) ?? noColour } : {}),
      ...(contentColour ? { contentColour } : {}),
    };
  }

  /**
   * Indexes one image from one source. Idempotent: the same source with the same bytes is
   * 'unchanged'; the same bytes from another source in the scope are 'linked' without new work.
   */
  async add(input: AddInput): Promise<AddResult> {
    return this.prepareAndWrite(() => this.prepareAdd(input));
  }

  /** Prepares and writes at once, preparing again in the rare case the write asks for it (see `prepareAdd`). */
  private async prepareAndWrite(prepare: () => Promise<() => AddResult | undefined>): Promise<AddResult> {
    for (;;) {
      const result = (await prepare())();
      if (result) return result;
    }
  }

  /**
   * The slow half of {@link add} (decoding, OCR, embedding, features), which may run for several
   * images at once; resolves to the quick half, which writes to the store and the indexes in one
   * synchronous step. `indexPaths` runs those steps in the files' order, whatever order the slow
   * halves finish in: image ids, and the vector graphs built in that order, then do not depend on timing.
   * The quick half gives undefined when the image these bytes were to be linked to was removed
   * while it waited (it was not analysed): the caller prepares it again.
   */
  private async prepareAdd(input: AddInput): Promise<() => AddResult | undefined> {
    this.assertOpen();
    const scope = input.scope ?? this.options.scope;
    const key = sourceKey(input.source);
    const timings: StageTimings = {};
    const decoded = await this.decode(input.bytes, timings);

    const linkTo = (imageId: number): AddResult => {
      const existingSource = this.store.findSource(scope, key);
      this.commitSource(imageId, scope, input.source);
      const status: AddStatus = !existingSource ? 'linked' : existingSource.imageId === imageId ? 'unchanged' : 'updated';
      return { status, imageId, timings };
    };
    const sameBytes = this.store.findImageBySha(scope, decoded.sha256);
    if (sameBytes) {
      // Looked up again when written: the image may have been removed meanwhile, and its id reused.
      const sha256 = decoded.sha256;
      return () => {
        const current = this.store.findImageBySha(scope, sha256);
        return current ? linkTo(current.id) : undefined;
      };
    }

    const analysis = await this.analyse(decoded, true, timings, { regions: this.indexRegions && this.regions });
    // Only what the commit needs is kept: not the decoded pixels, while the commit waits its turn.
    const { sha256, phash } = decoded;
    const original = decoded.image.original;
    const { ocr, embedding, localFeatures, regionEmbeddings, regionLayout, partColours } = analysis;
    return () =>
      this.commitAdd({ scope, source: input.source, timings, sha256, phash, original, ocr, embedding, localFeatures, regionEmbeddings, regionLayout, partColours }, linkTo);
  }

  private commitAdd(prepared: PreparedImage, linkTo: (imageId: number) => AddResult): AddResult {
    this.assertOpen();
    const { scope, source, sha256, phash, original, timings } = prepared;
    const existingSource = this.store.findSource(scope, sourceKey(source));
    let imageId = 0;
    let removed: number | undefined;
    let raced = false;
    this.store.transaction(() => {
      // Another add of the same bytes may have committed while this one was reading them.
      const committedMeanwhile = this.store.findImageBySha(scope, sha256);
      if (committedMeanwhile) {
        raced = true;
        imageId = committedMeanwhile.id;
        return;
      }
      imageId = this.store.insertImage({
        scope,
        sha256,
        phash,
        width: original.width,
        height: original.height,
        format: original.format,
        bytes: original.bytes,
        ocrText: prepared.ocr?.text ?? '',
        ocrLines: [...(prepared.ocr?.lines ?? [])],
        ocrRegions: [...(prepared.ocr?.regions ?? [])],
        embedding: prepared.embedding,
        modelId: this.embedder.modelId,
        ocrId: this.ocr === false ? 'none' : this.ocr.id,
        ...(prepared.localFeatures ? { localFeatures: { extractor: localFeaturesId, features: encodeLocalFeatures(prepared.localFeatures) } } : {}),
        ...(prepared.regionEmbeddings ? { regionEmbeddings: { layout: prepared.regionLayout ?? this.regionLayout, vectors: prepared.regionEmbeddings } } : {}),
        ...(prepared.partColours ? { colour: { kind: colourSignatureId, signature: prepared.partColours } } : {}),
      });
      const { previousImageId } = this.store.attachSource(imageId, scope, source);
      if (previousImageId !== undefined) removed = this.store.deleteImageIfOrphaned(previousImageId);
    });
    if (raced) return linkTo(imageId);
    // Committed: now make it visible in all indexes in one synchronous step, so a concurrent
    // search sees the image in every index or in none.
    // What was just committed is still in hand: no need to read the record back.
    if (removed !== undefined) this.dropFromIndexes(removed);
    this.scopeOf.set(imageId, scope);
    this.hashIndex.add({ id: imageId, phash });
    this.vectorIndex.add(imageId, prepared.embedding);
    this.addRegions(imageId, prepared.regionEmbeddings);
    this.textIndex.add(this.textDocument({ id: imageId, ocrText: prepared.ocr?.text ?? '' }));
    return { status: existingSource ? 'updated' : 'added', imageId, timings };
  }

  /** Points a source at an already indexed image (its names join that image's text). */
  private commitSource(imageId: number, scope: string, source: SourceInput): void {
    let removed: number | undefined;
    this.store.transaction(() => {
      const { previousImageId } = this.store.attachSource(imageId, scope, source);
      if (previousImageId !== undefined) removed = this.store.deleteImageIfOrphaned(previousImageId);
    });
    if (removed !== undefined) this.dropFromIndexes(removed);
    this.textIndex.add(this.textDocument(this.store.getImage(imageId)!));
  }

  private dropFromIndexes(imageId: number): void {
    this.textIndex.remove(imageId);
    this.vectorIndex.remove(imageId);
    this.removeRegions(imageId);
    this.hashIndex.remove(imageId);
    this.scopeOf.delete(imageId);
  }

  /** Reads and indexes one file; `path` is kept as given (results show it), keyed by its absolute path. */
  async addFile(path: string, options: { scope?: string; caption?: string } = {}): Promise<AddResult> {
    return this.prepareAndWrite(() => this.prepareFile(path, options));
  }

  private async prepareFile(path: string, options: { scope?: string; caption?: string }): Promise<() => AddResult | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SagasuError('NOT_FOUND', `no such file: ${path}`, { cause: error });
      if (code === 'EISDIR') throw new SagasuError('UNSUPPORTED_FORMAT', `${path} is a folder, not an image`, { cause: error });
      throw new SagasuError('NOT_FOUND', `cannot read ${path} (${code ?? (error as Error).message})`, { cause: error });
    }
    const source: SourceInput = { kind: 'file', path, absolutePath: resolve(path), ...(options.caption ? { caption: options.caption } : {}) };
    return this.prepareAdd({ bytes, source, ...(options.scope ? { scope: options.scope } : {}) });
  }

  /**
   * Indexes files and folders (recursively: image files by their ending). A file that fails is
   * reported and skipped; the rest go on.
   */
  async indexPaths(paths: string[], options: IndexPathsOptions = {}): Promise<IndexSummary> {
    this.assertOpen();
    const began = performance.now();
    const files = await expandPaths(paths);
    const summary: IndexSummary = { total: files.length, added: 0, linked: 0, unchanged: 0, updated: 0, failed: [], seconds: 0 };
    const concurrency = Math.max(1, options.concurrency ?? 3);
    // Several images are analysed at once, but written in the files' order: the same folder
    // gives the same ids and the same vector graphs on every run (hnswlib's graph depends on the
    // order of insertion), so two evaluations differ only by what was changed. An analysed image
    // waits for those before it; a slot is freed meanwhile, up to this many analysed and waiting.
    const maxWaiting = concurrency * 4;
    const prepared = new Map<number, () => AddResult | undefined>();
    const failures = new Map<number, SagasuError>();
    let next = 0;
    let written = 0;
    const waiting: Array<() => void> = [];
    const fileOptions = options.scope ? { scope: options.scope } : {};
    const prepare = async (index: number) => {
      try {
        prepared.set(index, await this.prepareFile(files[index]!, fileOptions));
      } catch (error) {
        failures.set(index, asIndexFailure(error));
      }
    };
    let retrying: Promise<void> | undefined;
    const writeReady = () => {
      while (prepared.has(written) || failures.has(written)) {
        const path = files[written]!;
        const commit = prepared.get(written);
        let failure = failures.get(written);
        prepared.delete(written);
        failures.delete(written);
        let result: AddResult | undefined;
        if (commit) {
          try {
            result = commit();
          } catch (error) {
            failure = asIndexFailure(error);
          }
          if (result === undefined && failure === undefined) {
            // The image it duplicated was removed while it waited: analysed again, then written.
            retrying = prepare(written).then(writeReady);
            return;
          }
        }
        written += 1;
        if (result) {
          summary[result.status] += 1;
          options.onFile?.({ path, done: written, total: files.length, result });
        } else {
          summary.failed.push({ path, code: failure!.code, message: failure!.message });
          options.onFile?.({ path, done: written, total: files.length, error: failure! });
        }
      }
      waiting.splice(0).forEach((resume) => resume());
    };
    const worker = async () => {
      while (next < files.length) {
        while (next - written >= maxWaiting) await new Promise<void>((resume) => waiting.push(resume));
        await prepare(next++);
        writeReady();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    while (written < files.length) await retrying;
    this.flush();
    summary.seconds = (performance.now() - began) / 1000;
    return summary;
  }

  /** Removes one source; the image leaves every index when it was its last source. Returns whether anything was removed. */
  removeSource(scope: string, key: string): boolean {
    this.assertOpen();
    const source = this.store.findSource(scope, key);
    if (!source) return false;
    let removed: number | undefined;
    this.store.transaction(() => {
      removed = this.store.detachSource(source.id, source.imageId);
    });
    if (removed !== undefined) this.dropFromIndexes(removed);
    else this.textIndex.add(this.textDocument(this.store.getImage(source.imageId)!));
    return true;
  }

  /** Removes a file by the path it was indexed under (as given, or the same file by absolute path). */
  removeFile(path: string, scope?: string): number {
    const wanted = scope ?? this.options.scope;
    const keys = new Set(this.store.sourcesByPath(path).filter((s) => s.scope === wanted).map((s) => s.key));
    if (this.store.findSource(wanted, `file:${resolve(path)}`)) keys.add(`file:${resolve(path)}`);
    let removed = 0;
    for (const key of keys) if (this.removeSource(wanted, key)) removed += 1;
    return removed;
  }

  /** Decodes, reads and embeds a query image once, for several searches (other sources, scopes, fusion settings). */
  async prepareQuery(image: Buffer, options: { ocr?: boolean } = {}): Promise<PreparedQuery> {
    this.assertOpen();
    const timings: StageTimings = {};
    const variants = { mirrored: this.options.mirroredQueries, contentArea: this.options.contentAreaQueries };
    const analysis = await this.analyse(await this.decode(image, timings), options.ocr ?? true, timings, variants, 'query');
    return { ...analysis, timings };
  }

  /**
   * Removes every source matching all the given fields (e.g. one Discord message, a channel, a
   * guild, or everything one user posted), and the images left without a source, from the store
   * and every index. Returns the number of sources removed.
   */
  forget(where: { scope?: string; guildId?: string; channelId?: string; messageId?: string; authorId?: string }): number {
    this.assertOpen();
    const defined = Object.fromEntries(Object.entries(where).filter(([, value]) => value !== undefined));
    if (Object.keys(defined).length === 0) throw new SagasuError('INVALID_OPTION', 'forget needs at least one of scope, guildId, channelId, messageId, authorId');
    let removed = 0;
    for (const source of this.store.findSources(defined)) if (this.removeSource(source.scope, source.key)) removed += 1;
    return removed;
  }

  /**
   * Finds indexed images like the query: by its text (OCR + given words), its look (CNN vector)
   * and its hashes, fused by reciprocal rank with the reasons for each hit.
   */
  async search(query: SearchQuery, options: SearchOptions = {}): Promise<SearchResult> {
    this.assertOpen();
    if (!query.image && !query.prepared && !query.text?.trim()) throw new SagasuError('INVALID_OPTION', 'a search needs an image or some text');
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new SagasuError('INVALID_OPTION', `k must be a whole number from 1 to 1000, got ${k}`);
    const scope = options.scope ?? this.options.scope;
    const wanted = new Set<SourceName>(options.sources ?? ['visual', 'text', 'hash']);
    // Undefined when the scope holds every image: no filter to call per candidate (see ScopeMap).
    const inScope = this.scopeOf.filterFor(scope);
    const candidates = Math.max(50, k * 5);
    const timings: StageTimings = {};
    const lists: RankedList[] = [];
    let queryText = '';

    let analysis: Analysis | undefined;
    if (query.prepared) {
      analysis = query.prepared;
      Object.assign(timings, query.prepared.timings);
    } else if (query.image) {
      const visual = wanted.has('visual');
      const variants = { mirrored: this.options.mirroredQueries && visual, contentArea: this.options.contentAreaQueries && visual };
      analysis = await this.analyse(await this.decode(query.image, timings), wanted.has('text'), timings, variants, 'query');
    }
    if (analysis && wanted.has('text')) queryText = analysis.ocr?.text ?? '';
    const searchStart = performance.now();
    if (analysis && wanted.has('visual')) {
      const best = new Map<number, { similarity: number; mirrored?: boolean; contentArea?: boolean; region?: number }>();
      // A reduced index re-scores its candidates on full vectors: its in-memory copy, and the store
      // for what the copy lacks (the region index, an incomplete copy). The query's variants share
      // most candidates, so each full vector is read from the store once per search.
      const fullVectors = new Map<number, Float32Array>();
      const fullVectorsOf = (ids: number[]) => {
        for (const [id, vector] of this.store.embeddingsOf(ids.filter((id) => !fullVectors.has(id)))) fullVectors.set(id, vector);
        return fullVectors;
      };
      const regionVectors = new Map<number, Float32Array>();
      const regionVectorsOf = (labels: number[]) => {
        const images = [...new Set(labels.filter((label) => !regionVectors.has(label)).map((label) => Math.floor(label / maxRegions)))];
        for (const [id, vectors] of this.store.regionEmbeddingsOf(images)) vectors.forEach((vector, region) => regionVectors.set(id * maxRegions + region, vector));
        return regionVectors;
      };
      const regionInScope = inScope && ((label: number) => inScope(Math.floor(label / maxRegions)));
      const { penalty } = this.regions;
      const variants = [
        { embedding: analysis.embedding, reason: {} },
        { embedding: analysis.mirroredEmbedding, reason: { mirrored: true } },
        { embedding: analysis.contentEmbedding, reason: { contentArea: true } },
      ];
      const keep = (id: number, similarity: number, reason: { mirrored?: boolean; contentArea?: boolean; region?: number }) => {
        if (similarity > (best.get(id)?.similarity ?? -Infinity)) best.set(id, { similarity, ...reason });
      };
      for (const { embedding, reason } of variants) {
        if (!embedding) continue;
        for (const hit of this.vectorIndex.search(embedding, candidates, inScope, fullVectorsOf)) keep(hit.id, hit.similarity, reason);
        // A region counts a little less than a whole image (see RegionOptions.penalty); an image
        // keeps its best whole or region similarity.
        if (this.regionIndex.count === 0) continue;
        for (const hit of this.regionIndex.search(embedding, candidates, regionInScope, regionVectorsOf)) {
          keep(Math.floor(hit.id / maxRegions), hit.similarity - penalty, { ...reason, region: hit.id % maxRegions });
        }
      }
      const byLook = [...best.entries()].sort((a, b) => b[1].similarity - a[1].similarity || a[0] - b[0]).slice(0, candidates);
      // Colour re-orders the first candidates the look found among themselves (see SagasuOptions.colour).
      const reordered = this.colour && (analysis.colour || analysis.contentColour) ? Math.min(this.colour.candidates, byLook.length) : 0;
      const weight = this.colour ? this.colour.weight : 0;
      const colours = reordered > 0 ? this.store.colourSignaturesOf(byLook.slice(0, reordered).map(([id]) => id), colourSignatureId) : undefined;
      const scored = byLook.map(([id, found]) => {
        // The colours compared are those of what looked alike: the picture inside the query, when
        // it matched. When a region of the image matched, the better of that region's and the
        // whole image's: the query may be that part (a bubble cut from a colour cover) or the
        // whole picture that happened to look most like one window of it (a photo of a kiwi).
        const packed = colours?.get(id);
        const own = found.contentArea ? analysis.contentColour : analysis.colour;
        const colour = own && packed ? colourMatch(own, packed, found.region) : undefined;
        return { id, ...found, colour, score: found.similarity - (colour === undefined ? 0 : weight * (1 - colour)) };
      });
      const hits = [...scored.slice(0, reordered).sort((a, b) => b.score - a.score || a.id - b.id), ...scored.slice(reordered)];
      // Each image's windows are its own (a page cut into panels, or grids): read for the hits found through one.
      const layouts = this.store.regionLayoutsOf(hits.filter((hit) => hit.region !== undefined).map((hit) => hit.id));
      lists.push({
        source: 'visual',
        hits: hits.map(({ id, score, similarity, colour, mirrored, contentArea, region }) => ({
          id,
          score,
          detail: {
            similarity: round(similarity),
            ...(colour === undefined ? {} : { colour: round(colour) }),
            ...(mirrored ? { mirrored: true } : {}),
            ...(contentArea ? { contentArea: true } : {}),
            ...(region === undefined ? {} : regionDetail(region, regionIn(layouts.get(id) ?? this.regionLayout, region))),
          },
        })),
      });
    }
    const words = [queryText, query.text ?? ''].join('\n').trim();
    if (words && wanted.has('text')) {
      // Only OCR's words: a user's typed word with a near miss is what fuzzy matching is for.
      const dropLoneFuzzy = analysis !== undefined && !query.text?.trim() && !this.options.loneFuzzyTextHits;
      const loneFuzzy = (hit: TextHit) => hit.terms.length === 1 && hit.approximate.length === 1;
      const hits = this.textIndex.search(words, { limit: candidates, filter: inScope }).filter((hit) => !(dropLoneFuzzy && loneFuzzy(hit)));
      lists.push({ source: 'text', hits: hits.map((hit) => ({ id: hit.id, score: hit.score, detail: { matched: hit.terms } })) });
    }
    if (analysis && wanted.has('hash')) {
      const sameBytes = this.store.imageIdWithSha(scope, analysis.decoded.sha256);
      const hits = this.hashIndex.search(analysis.decoded.phash, {
        exact: sameBytes === undefined ? [] : [sameBytes],
        maxDistance: this.options.hashMaxDistance,
        filter: inScope,
        limit: candidates,
      });
      lists.push({ source: 'hash', hits: hits.map((hit) => ({ id: hit.id, score: 64 - hit.distance, detail: { distance: hit.distance, exact: hit.exact } })) });
    }
    timings.searchMs = performance.now() - searchStart;

    const fuseStart = performance.now();
    const rrf = fuse(lists, { ...this.options.fusion, ...options.fusion });
    const queryTerms = new Set(tokenize(words)).size;
    const verified =
      analysis?.localFeatures && wanted.has('visual') && options.verify !== false && this.options.verification !== false
        ? await this.verifyCandidates(rrf, analysis, timings)
        : rrf;
    const fused = promoteDominantText(verified, queryTerms);
    const hits: SearchHit[] = [];
    // The model was fitted on image queries: a text-only search keeps the heuristic.
    const calibration = analysis ? this.calibration : false;
    const confidenceOf = (index: number) =>
      calibration ? calibratedConfidence(calibration, fused, index, queryTerms) : heuristicConfidence({ reasons: fused[index]!.reasons, queryTerms });
    for (const [index, hit] of fused.entries()) {
      if (hits.length >= k) break;
      const image = this.store.getImageText(hit.id);
      if (!image) continue; // removed since the index was read
      const sources = this.store.sourcesOf(hit.id).filter((source) => !options.filterSource || options.filterSource(source));
      if (sources.length === 0) continue;
      const matched = hit.reasons.text?.detail?.matched;
      if (Array.isArray(matched) && matched.length > 0) {
        // Show where the words are: the OCR lines (with boxes) that hold a matched term.
        const terms = new Set(matched as string[]);
        hit.reasons.text!.detail!.lines = image.ocrLines
          .filter((line) => tokenize(line.text).some((term) => terms.has(term)))
          .slice(0, 5)
          .map((line) => ({ text: line.text, box: line.box, ...(line.region === undefined ? {} : { region: image.ocrRegions[line.region] }) }));
      }
      hits.push({
        imageId: hit.id,
        path: sources.find((s) => s.path)?.path ?? null,
        score: hit.score,
        reasons: hit.reasons,
        sources,
        ocrText: image.ocrText,
        confidence: Math.round(confidenceOf(index) * 1000) / 1000,
      });
    }
    timings.fuseMs = performance.now() - fuseStart;
    return { hits, queryText, timings, confidenceThreshold: calibration ? calibration.threshold : heuristicThreshold };
  }

  /**
   * Spatial verification of the first fused candidates against the query's local features (see
   * rerankByVerification). A failure here only loses the re-ranking, never the search.
   */
  private async verifyCandidates(fused: FusedHit[], analysis: Analysis, timings: StageTimings): Promise<VerifiedHit[]> {
    const began = performance.now();
    const { candidates, perSource, budgetMs, stopAtInliers, extendTo, extendUnlessInliers, siblings, verify } = this.verification;
    const query = analysis.localFeatures!;
    const results = new Map<number, SpatialReason>();
    // Too few features on either side (a flat or tiny image): nothing to check, say nothing.
    const tooFew = (features: LocalFeatures) => features.points.length < 8;
    if (tooFew(query)) {
      timings.verifyMs = performance.now() - began;
      return rerankByVerification(fused, results);
    }
    const sourceFirst = (hit: FusedHit) => Object.values(hit.reasons).some((reason) => reason.rank <= perSource);
    // A source's own first hits go first (they are the likeliest originals, and the budget may
    // stop the loop early), then the rest of the fused head.
    const head = [...fused.filter(sourceFirst), ...fused.slice(0, candidates).filter((hit) => !sourceFirst(hit))];
    // Further down the list only while nothing in the head was verified well enough.
    const tail = fused.slice(candidates, Math.max(candidates, extendTo)).filter((hit) => !sourceFirst(hit));
    let mirroredFeatures: LocalFeatures | undefined;
    let anyVerified = false;
    let confidentlyVerified = false;
    const verifyOne = async (hit: FusedHit): Promise<SpatialReason | undefined> => {
      const stored = this.store.getLocalFeatures(hit.id, localFeaturesId);
      if (!stored) return undefined;
      const candidate = decodeLocalFeatures(stored);
      if (tooFew(candidate)) return undefined;
      let result = await verifyLocalFeatures(query, candidate, verify);
      let mirrored = false;
      // A re-post may be flipped: when the mirrored query looked closer, try its features too,
      // even after a direct match: a flipped page still matches itself directly on symmetric
      // shapes (a frame, a speech balloon) with a few inliers, as few as a wrong page's.
      if (hit.reasons.visual?.detail?.mirrored === true && result.inliers < stopAtInliers) {
        mirroredFeatures ??= await extractLocalFeatures(analysis.decoded.image, { ...this.queryFeatureOptions, mirrored: true });
        const flipped = await verifyLocalFeatures(mirroredFeatures, candidate, verify);
        if (flipped.inliers > result.inliers) [result, mirrored] = [flipped, true];
      }
      const reason: SpatialReason = { inliers: result.inliers, matches: result.matches, verified: result.verified, ...(mirrored ? { mirrored } : {}) };
      results.set(hit.id, reason);
      anyVerified ||= result.verified;
      confidentlyVerified ||= result.verified && result.inliers >= extendUnlessInliers;
      return reason;
    };
    try {
      for (const [index, hit] of [...head, ...tail].entries()) {
        if (index >= head.length && confidentlyVerified) break;
        const result = await verifyOne(hit);
        if ((result && result.inliers >= stopAtInliers) || performance.now() - began >= budgetMs) break;
      }
      if (anyVerified && siblings > 0) {
        let checked = 0;
        for (const hit of this.bySimilarityToBestVerified(fused, results)) {
          if (checked >= siblings || performance.now() - began >= budgetMs) break;
          if (await verifyOne(hit)) checked++;
        }
      }
    } catch (error) {
      this.logger.warn(`spatial verification skipped: ${(error as Error).message}`);
    }
    timings.verifyMs = performance.now() - began;
    return rerankByVerification(fused, results);
  }

  /**
   * The fused list's unchecked candidates, closest first to the candidate with the most inliers so
   * far by their stored vectors (see VerificationOptions.siblings).
   */
  private bySimilarityToBestVerified(fused: readonly FusedHit[], results: ReadonlyMap<number, SpatialReason>): FusedHit[] {
    let best: number | undefined;
    for (const [id, result] of results) if (result.verified && (best === undefined || result.inliers > results.get(best)!.inliers)) best = id;
    if (best === undefined) return [];
    const unchecked = fused.filter((hit) => !results.has(hit.id));
    const vectors = this.store.embeddingsOf([best, ...unchecked.map((hit) => hit.id)]);
    const anchor = vectors.get(best);
    if (!anchor) return [];
    return unchecked
      .filter((hit) => vectors.has(hit.id))
      .map((hit) => ({ hit, similarity: dot(anchor, vectors.get(hit.id)!) }))
      .sort((a, b) => b.similarity - a.similarity || a.hit.id - b.hit.id)
      .map(({ hit }) => hit);
  }

  /**
   * Compares each index with the store: the store's ids an index lacks, and how many entries an
   * index holds beyond the store's. Empty / 0 everywhere: every committed image is in every index.
   */
  checkConsistency(): Record<'text' | 'vector' | 'hash', { missing: number[]; extra: number }> {
    this.assertOpen();
    const ids = this.store.imageKeys().map((key) => key.id);
    const report = (index: { has(id: number): boolean; count: number }) => {
      const missing = ids.filter((id) => !index.has(id));
      return { missing, extra: Math.max(0, index.count - (ids.length - missing.length)) };
    };
    return { text: report(this.textIndex), vector: report(this.vectorIndex), hash: report(this.hashIndex) };
  }

  stats(): {
    dataDir: string;
    images: number;
    sources: number;
    scopes: number;
    ocrCharacters: number;
    bytes: number;
    modelId: string;
    dimension: number;
    ocrId: string;
    /** Entries in each index (`region`: region vectors, several per image). */
    indexes: { text: number; vector: number; hash: number; region: number };
    /** The PCA setting of the vector index (null: full vectors), and the length of the vectors it stores now. */
    vectorReduction: { dimension: number; fitAfter: number; whiten: boolean; storedDimension: number } | null;
  } {
    this.assertOpen();
    return {
      dataDir: this.dataDir,
      ...this.store.counts(),
      modelId: this.embedder.modelId,
      dimension: this.embedder.dimension,
      ocrId: this.ocr === false ? 'none' : this.ocr.id,
      indexes: { text: this.textIndex.count, vector: this.vectorIndex.count, hash: this.hashIndex.count, region: this.regionIndex.count },
      vectorReduction: this.vectorIndex.reduction
        ? { ...recordableReduction(this.vectorIndex.reduction)!, storedDimension: this.vectorIndex.storedDimension }
        : null,
    };
  }

  /**
   * Writes a consistent copy of the store to `destination` while the engine runs. The store is
   * all a restore needs: put the copy as `sagasu.db` in an empty data directory and open it; the
   * indexes are rebuilt from it.
   */
  async backup(destination: string): Promise<void> {
    this.assertOpen();
    await this.store.backup(destination);
  }

  /** Snapshots the derived indexes so the next start loads them instead of replaying the store. */
  flush(): void {
    this.assertOpen();
    const seq = this.store.lastChangeSeq();
    this.textIndex.seq = seq;
    this.vectorIndex.seq = seq;
    this.regionIndex.seq = seq;
    this.textIndex.save(join(this.dataDir, textIndexFile));
    // The JSON snapshot of MiniSearch's index, before the compact text index: rebuilt from the store once.
    rmSync(join(this.dataDir, 'text-index.json'), { force: true });
    this.vectorIndex.save(join(this.dataDir, 'vector-index'));
    this.regionIndex.save(join(this.dataDir, 'region-index'));
    this.store.trimChanges(seq);
    this.store.setMeta('changes_trimmed_through', String(seq));
  }

  /**
   * Snapshots the indexes and closes the store, and the OCR engine and embedder this instance
   * created (ones passed in are the caller's to close).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.store.close();
      await Promise.allSettled(this.owned.map((part) => part.close()));
    }
  }
}

const regionLayoutMetaKey = 'region_layout';
const textIndexFile = 'text-index.bin';

/** The region settings in effect: the defaults with the options given (none when turned off), validated. */
function resolveRegionOptions(option: SagasuOptions['regionVectors']): RegionOptions {
  const options = { ...defaultRegionOptions, ...(option || {}) };
  validateRegionOptions(options);
  return options;
}

/**
 * Region vectors are many (20 per image): their index always stores them reduced by a PCA
 * learned from the first 20,000 (~1,000 images), and re-ranks its first candidates on the stored
 * full vectors, as `--reduce-vectors` does for whole images: 0.5 KB per region in memory instead of 5.
 */
function regionReduction(dimension: number): VectorReduction | null {
  // Re-ranked on the store's half floats: a compressed copy of 20 vectors per image (~30 KB) would not fit in memory at scale.
  return dimension > 128 ? { dimension: 128, fitAfter: defaultReductionFitAfter, rerankFrom: 'store' } : null;
}

/**
 * Region vectors of two grid layouts are not mixed in one index: the first grids used with a data
 * directory are recorded, and others are refused until the store holds no region vectors. Panels
 * do not enter this check: each image's own windows (grids, or grids and panels) are stored with
 * its vectors, so pages with and without panels share the index. Turning regions off is always
 * allowed (nothing new is added).
 */
function checkRegionLayout(store: SqliteStore, options: RegionOptions): void {
  const layout = regionLayoutId(options.grids);
  const recorded = store.getMeta(regionLayoutMetaKey);
  if (recorded === layout) return;
  if (recorded !== undefined && store.regionVectorCount() > 0) {
    throw new SagasuError(
      'INVALID_OPTION',
      `the data directory holds region vectors of layout ${recorded}; this process asks for ${layout}: use that layout, turn regions off, or re-index into a new data directory`,
    );
  }
  store.setMeta(regionLayoutMetaKey, layout);
}

/** What a visual hit through a region says of it: its number, its place and whether it is one of the page's panels. */
function regionDetail(region: number, found: { box: Box; panel: boolean } | undefined): Record<string, unknown> {
  return { region, regionBox: found?.box, ...(found?.panel ? { panel: true } : {}) };
}

/** The image flipped left to right. */
async function mirrorImage(image: DecodedImage): Promise<DecodedImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).flop().raw().toBuffer();
  return { ...image, data };
}

function asIndexFailure(error: unknown): SagasuError {
  return isSagasuError(error) ? error : new SagasuError('CORRUPT_IMAGE', (error as Error).message, { cause: error });
}

function own<T extends OcrEngine | Embedder>(owned: Array<OcrEngine | Embedder>, part: T): T {
  owned.push(part);
  return part;
}

function isOcrEngine(value: unknown): value is OcrEngine {
  return typeof (value as OcrEngine | undefined)?.recognize === 'function';
}

function isEmbedder(value: unknown): value is Embedder {
  return typeof (value as Embedder | undefined)?.embed === 'function';
}

const reductionMetaKey = 'vector_reduction';

/**
 * The vector reduction is a property of the data directory, not of one process: without one in
 * the options, the recorded one applies, so a later `sagasu search` or the bot does not open a
 * million-image index with full vectors (and rebuild it in another space).
 */
function withRecordedReduction(store: SqliteStore, options: VectorIndexOptions | undefined): VectorIndexOptions {
  if (options?.reduction !== undefined) return options;
  const recorded = store.getMeta(reductionMetaKey);
  return recorded ? { ...options, reduction: JSON.parse(recorded) as VectorReduction | null } : { ...options };
}

function recordableReduction(reduction: VectorReduction | null): { dimension: number; fitAfter: number; whiten: boolean; rerank?: number } | null {
  if (!reduction) return null;
  // A PCA given in the options is not recorded: the snapshot keeps the one in use.
  return { dimension: reduction.dimension, fitAfter: reduction.fitAfter, whiten: reduction.whiten ?? false, ...(reduction.rerank ? { rerank: reduction.rerank } : {}) };
}

function createEmbedder(options: TfjsEmbedderOptions & { workers?: number }): Embedder {
  const { workers, ...rest } = options;
  return workers && workers > 0 ? new WorkerPoolEmbedder({ ...rest, workers } as WorkerPoolEmbedderOptions) : new TfjsEmbedder(rest);
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Expands folders into the image files below them, sorted, keeping files named explicitly. */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && imageExtensions.has(extname(entry.name).toLowerCase())) files.push(full);
    }
  };
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      files.push(path); // reported as "no such file" by addFile, in order
      continue;
    }
    if (info.isDirectory()) await walk(path);
    else files.push(path);
  }
  return files;
}

/** Reads a file for a query image with the same errors as indexing. */
export function readQueryFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SagasuError('NOT_FOUND', code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path} (${code})`, { cause: error });
  }
}

export type { DecodedImage };
