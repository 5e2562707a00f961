import { SagasuError } from '../errors.js';
import type { DecodedImage, Embedder } from '../types.js';
import { featuresFromPixelBatch, featuresFromPixels, joinEndToEnd, mobileNetV2ModelId, resizeForModel, validatePooling, type Pooling } from './features.js';
import { MOBILENET_V2_CHANNELS, loadMobileNetV2, nsfwjsVersion, type FeatureModel } from './mobilenet-v2.js';
import type { ActiveBackend, BackendRequest } from './tfjs-runtime.js';

export interface TfjsEmbedderOptions {
  /**
   * How the last conv map is pooled into one vector. Default `'gap'` (global average pooling,
   * the network's own 1280-d `flatten_1` feature). See {@link Pooling}.
   * @example new TfjsEmbedder({ pooling: 'gem', gemPower: 3 })
   */
  pooling?: Pooling;
  /** Power of generalised-mean pooling, used when `pooling` is `'gem'`. Default 3. */
  gemPower?: number;
  /**
   * TensorFlow.js backend. Default `'auto'`: native tfjs-node when installed, else WebAssembly;
   * never the slow pure-JS backend unless `'cpu'` is asked for. The first embedder of a thread
   * decides; a later one asking for another backend is refused.
   */
  backend?: BackendRequest;
}

export const defaultEmbedderOptions: Required<TfjsEmbedderOptions> = {
  pooling: 'gap',
  gemPower: 3,
  backend: 'auto',
};

/** Batches of 4 cost ~48 ms per image against ~61 alone on wasm; 8 is no faster (`node dist/bench/embed-batch.js`). */
const inProcessBatchSize = 4;

/**
 * Embeds images in-process with MobileNetV2 on TensorFlow.js. The model is loaded on first use
 * (or by {@link TfjsEmbedder.warmUp}) and shared by every embedder in the thread. A prediction
 * blocks the thread for ~70 ms on wasm: a server that must stay responsive should use
 * `WorkerPoolEmbedder`.
 *
 * @example
 * const embedder = new TfjsEmbedder();
 * const vector = await embedder.embed(decoded); // Float32Array(1280), norm 1
 */
export class TfjsEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension = MOBILENET_V2_CHANNELS;
  readonly options: Readonly<Required<TfjsEmbedderOptions>>;
  #closed = false;

  constructor(options: TfjsEmbedderOptions = {}) {
    this.options = Object.freeze({ ...defaultEmbedderOptions, ...stripUndefined(options) });
    validatePooling({ pooling: this.options.pooling, gemPower: this.options.gemPower });
    if (!['auto', 'wasm', 'node', 'cpu'].includes(this.options.backend)) {
      throw new SagasuError('INVALID_OPTION', `option "backend" must be one of auto, wasm, node, cpu (got ${String(this.options.backend)})`);
    }
    this.modelId = mobileNetV2ModelId(nsfwjsVersion(), { pooling: this.options.pooling, gemPower: this.options.gemPower });
  }

  /** Loads the runtime and model now rather than on the first embed; resolves to the backend in use. */
  async warmUp(): Promise<ActiveBackend> {
    return (await this.#model()).runtime.backend;
  }

  /** A unit-length Float32Array of {@link dimension} values. Rejects with EMBED_FAILED. */
  async embed(image: DecodedImage): Promise<Float32Array> {
    const model = await this.#model();
    try {
      const pixels = await resizeForModel(image);
      return await featuresFromPixels(model, pixels, this.options);
    } catch (error) {
      if (error instanceof SagasuError) throw error;
      throw new SagasuError('EMBED_FAILED', 'the image could not be embedded', { cause: error });
    }
  }

  /** Vectors for several images, in their order, predicted in batches of 4 (faster per image on wasm). */
  async embedMany(images: readonly DecodedImage[]): Promise<Float32Array[]> {
    const model = await this.#model();
    try {
      const resized = await Promise.all(images.map((image) => resizeForModel(image)));
      const vectors: Float32Array[] = [];
      for (let first = 0; first < resized.length; first += inProcessBatchSize) {
        const members = resized.slice(first, first + inProcessBatchSize);
        const pixels = joinEndToEnd(members, (length) => new Uint8Array(length));
        vectors.push(...(await featuresFromPixelBatch(model, pixels, members.length, this.options)));
      }
      return vectors;
    } catch (error) {
      if (error instanceof SagasuError) throw error;
      throw new SagasuError('EMBED_FAILED', 'the images could not be embedded', { cause: error });
    }
  }

  /** Refuses further embeds. The shared model stays loaded for other embedders of the thread. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #model(): Promise<FeatureModel> {
    if (this.#closed) return Promise.reject(new SagasuError('EMBED_FAILED', 'the embedder is closed'));
    return loadMobileNetV2(this.options.backend);
  }
}

/** Lets `{ pooling: undefined }` mean "the default", as in MiniSearch. */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
