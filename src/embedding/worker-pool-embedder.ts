import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SagasuError, type SagasuErrorCode } from '../errors.js';
import { workerExecArgv } from '../worker-exec-argv.js';
import type { DecodedImage, Embedder } from '../types.js';
import type { EmbedWorkerData, FromWorker, ToWorker } from './embed-worker.js';
import { joinEndToEnd, mobileNetV2ModelId, resizeForModel, validatePooling } from './features.js';
import { MOBILENET_V2_CHANNELS, nsfwjsVersion } from './mobilenet-v2.js';
import type { ActiveBackend } from './tfjs-runtime.js';
import { defaultEmbedderOptions, stripUndefined, type TfjsEmbedderOptions } from './tfjs-embedder.js';

export interface WorkerPoolEmbedderOptions extends TfjsEmbedderOptions {
  /**
   * Worker threads, each holding its own copy of the model (~15 MB of weights + wasm heap).
   * Default: the number of cores, at most 4. The wasm backend has no threads in Node, so
   * workers are the only way to use more than one core (2 workers on 2 cores: ~1.4x).
   */
  workers?: number;
  /**
   * A job running longer than this is failed with TIMEOUT and its worker replaced. 0 = no limit.
   * Default 60 000 ms (a busy 2-core machine takes ~0.1-0.3 s per image).
   */
  timeoutMs?: number;
  /** After this many workers in a row die before loading the model, the pool gives up. Default 3. */
  maxStartFailures?: number;
  /**
   * Most images a worker predicts at once for {@link WorkerPoolEmbedder.embedMany}. Default 4:
   * ~48 ms per image against ~61 alone on this machine's wasm backend; 8 is no faster
   * (`node dist/bench/embed-batch.js`). Fewer when that leaves a worker idle.
   */
  batchSize?: number;
  /** The worker script. Default: the compiled `embed-worker.js` beside this file. Tests swap it. */
  workerUrl?: URL;
}

export const defaultWorkerPoolEmbedderOptions: Required<WorkerPoolEmbedderOptions> = {
  ...defaultEmbedderOptions,
  workers: Math.max(1, Math.min(4, availableParallelism())),
  timeoutMs: 60_000,
  maxStartFailures: 3,
  batchSize: 4,
  workerUrl: new URL('./embed-worker.js', import.meta.url),
};

interface Job {
  readonly id: number;
  /** `count` resized images end to end. */
  readonly pixels: Uint8Array;
  readonly count: number;
  /** Receives the `count` vectors end to end. */
  readonly resolve: (vectors: Float32Array) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Set when the pool ended the worker on purpose (timeout, close) and already settled its job. */
  ended: boolean;
  lastError: Error | undefined;
}

/** Counters for logs and tests. */
export interface WorkerPoolStats {
  readonly workers: number;
  readonly readyWorkers: number;
  readonly busyWorkers: number;
  readonly queued: number;
  /** Workers started to replace one that crashed or timed out. */
  readonly restarts: number;
  /** Jobs sent to workers so far; a batch of images is one. */
  readonly sent: number;
}

/**
 * The same embedder as `TfjsEmbedder`, run in worker threads behind a FIFO queue so that
 * predictions neither block the event loop nor stay on one core. Resizing to 224x224 happens in
 * the calling thread (sharp works off the event loop) and only those pixels are transferred.
 * A worker that crashes or times out fails only the job it was running and is replaced.
 *
 * @example
 * const embedder = new WorkerPoolEmbedder({ workers: 2 });
 * const vector = await embedder.embed(image);
 * const vectors = await embedder.embedMany(images); // batched predictions, same vectors
 * await embedder.close();
 */
export class WorkerPoolEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension = MOBILENET_V2_CHANNELS;
  readonly options: Readonly<Required<WorkerPoolEmbedderOptions>>;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 1;
  #restarts = 0;
  #sent = 0;
  #startFailures = 0;
  #started = false;
  #closed = false;
  #failure: SagasuError | undefined;
  #backend: ActiveBackend | undefined;
  #readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(options: WorkerPoolEmbedderOptions = {}) {
    this.options = Object.freeze({ ...defaultWorkerPoolEmbedderOptions, ...stripUndefined(options) });
    const { workers, timeoutMs, maxStartFailures, batchSize, backend, pooling, gemPower } = this.options;
    validatePooling({ pooling, gemPower });
    if (!['auto', 'wasm', 'node', 'cpu'].includes(backend)) {
      throw new SagasuError('INVALID_OPTION', `option "backend" must be one of auto, wasm, node, cpu (got ${String(backend)})`);
    }
    if (!Number.isInteger(workers) || workers < 1) throw new SagasuError('INVALID_OPTION', `option "workers" must be a positive integer (got ${workers})`);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SagasuError('INVALID_OPTION', `option "batchSize" must be a positive integer (got ${batchSize})`);
    }
    if (!(timeoutMs >= 0)) throw new SagasuError('INVALID_OPTION', `option "timeoutMs" must be >= 0 (got ${timeoutMs})`);
    if (!Number.isInteger(maxStartFailures) || maxStartFailures < 1) {
      throw new SagasuError('INVALID_OPTION', `option "maxStartFailures" must be a positive integer (got ${maxStartFailures})`);
    }
    this.modelId = mobileNetV2ModelId(nsfwjsVersion(), { pooling, gemPower });
  }

  /** Starts every worker and waits until all have loaded the model; resolves to the backend they use. */
  async warmUp(): Promise<ActiveBackend> {
    this.#assertUsable();
    this.#start();
    if (!this.#allReady()) {
      await new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
    }
    return this.#backend!;
  }

  async embed(image: DecodedImage): Promise<Float32Array> {
    this.#assertUsable();
    this.#start();
    const pixels = await resizeForModel(image);
    this.#assertUsable();
    return this.#submit(pixels, 1);
  }

  /**
   * Vectors for several images, in their order, each equal to what `embed` gives. The images are
   * sent in batches of up to `batchSize`, one prediction each, spread over the workers. One image
   * that cannot be embedded (or a worker lost mid-batch) rejects the whole call.
   */
  async embedMany(images: readonly DecodedImage[]): Promise<Float32Array[]> {
    this.#assertUsable();
    if (images.length === 0) return [];
    this.#start();
    const resized = await Promise.all(images.map((image) => resizeForModel(image)));
    this.#assertUsable();
    const size = Math.max(1, Math.min(this.options.batchSize, Math.ceil(images.length / this.options.workers)));
    const batches: Promise<Float32Array>[] = [];
    for (let first = 0; first < resized.length; first += size) {
      const members = resized.slice(first, first + size);
      batches.push(this.#submit(joinEndToEnd(members, (length) => new Uint8Array(length)), members.length));
    }
    const vectors: Float32Array[] = [];
    for (const batch of await Promise.all(batches)) {
      for (let start = 0; start < batch.length; start += this.dimension) vectors.push(batch.slice(start, start + this.dimension));
    }
    return vectors;
  }

  stats(): WorkerPoolStats {
    return {
      workers: this.#slots.length,
      readyWorkers: this.#slots.filter((slot) => slot.ready).length,
      busyWorkers: this.#slots.filter((slot) => slot.job !== undefined).length,
      queued: this.#queue.length,
      restarts: this.#restarts,
      sent: this.#sent,
    };
  }

  /** Fails queued and running jobs with EMBED_FAILED and stops every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new SagasuError('EMBED_FAILED', 'the embedder was closed');
    this.#failAll(closed);
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(
      slots.map((slot) => {
        slot.ended = true;
        this.#settle(slot, closed);
        return slot.worker.terminate();
      }),
    );
  }

  #submit(pixels: Uint8Array, count: number): Promise<Float32Array> {
    return new Promise<Float32Array>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, pixels, count, resolve, reject });
      this.#dispatch();
    });
  }

  #assertUsable(): void {
    if (this.#closed) throw new SagasuError('EMBED_FAILED', 'the embedder is closed');
    if (this.#failure) throw this.#failure;
  }

  /** Every worker has loaded the model and none is being ended (a timed-out one awaits its replacement). */
  #allReady(): boolean {
    return this.#slots.every((slot) => slot.ready && !slot.ended);
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    for (let i = 0; i < this.options.workers; i++) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    const data: EmbedWorkerData = { backend: this.options.backend, pooling: this.options.pooling, gemPower: this.options.gemPower };
    const worker = new Worker(this.options.workerUrl, { workerData: data, execArgv: workerExecArgv() });
    const slot: Slot = { worker, ready: false, job: undefined, timer: undefined, ended: false, lastError: undefined };
    worker.on('message', (message: FromWorker) => this.#onMessage(slot, message));
    worker.on('error', (error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code) => this.#onExit(slot, code));
    return slot;
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.#startFailures = 0;
        this.#backend ??= message.backend;
        slot.worker.unref();
        if (this.#allReady()) this.#readyWaiters.splice(0).forEach((w) => w.resolve());
        this.#dispatch();
        break;
      case 'fatal':
        slot.lastError = new SagasuError(asCode(message.code), message.message);
        break;
      case 'result':
      case 'error': {
        const job = slot.job;
        if (job === undefined || job.id !== message.id) return;
        this.#release(slot);
        if (message.type === 'result') job.resolve(message.vectors);
        else job.reject(new SagasuError(asCode(message.code), message.message));
        this.#dispatch();
        break;
      }
    }
  }

  #onExit(slot: Slot, code: number): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1 || this.#closed) return;
    const reason = slot.lastError?.message.replace(/^sagasu: /, '') ?? `exit code ${code}`;
    if (!slot.ended) {
      this.#settle(slot, new SagasuError('EMBED_FAILED', `the embedding worker stopped while embedding this image (${reason})`, { cause: slot.lastError }));
    }
    if (!slot.ready) {
      this.#startFailures += 1;
      if (this.#startFailures >= this.options.maxStartFailures) {
        this.#failure = new SagasuError(
          slot.lastError instanceof SagasuError ? slot.lastError.code : 'EMBED_FAILED',
          `${this.#startFailures} embedding workers in a row failed to start (${reason})`,
          { cause: slot.lastError },
        );
        this.#slots.splice(index, 1);
        this.#failAll(this.#failure);
        for (const other of this.#slots.splice(0)) {
          other.ended = true;
          void other.worker.terminate();
        }
        return;
      }
    }
    this.#restarts += 1;
    this.#slots[index] = this.#spawn();
    this.#dispatch();
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.job !== undefined || slot.ended) continue;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      if (this.options.timeoutMs > 0) {
        slot.timer = setTimeout(() => this.#timeOut(slot), this.options.timeoutMs);
      }
      try {
        slot.worker.postMessage({ type: 'embed', id: job.id, pixels: job.pixels, count: job.count } satisfies ToWorker, [job.pixels.buffer as ArrayBuffer]);
        this.#sent += 1;
      } catch (error) {
        this.#release(slot);
        job.reject(new SagasuError('EMBED_FAILED', 'cannot send the image to an embedding worker', { cause: error }));
      }
    }
  }

  #timeOut(slot: Slot): void {
    slot.ended = true;
    this.#settle(slot, new SagasuError('TIMEOUT', `embedding took longer than ${this.options.timeoutMs} ms; the worker was replaced`));
    // The exit handler replaces the worker.
    void slot.worker.terminate();
  }

  /** Rejects the slot's running job, if any. */
  #settle(slot: Slot, error: Error): void {
    const job = slot.job;
    this.#release(slot);
    job?.reject(error);
  }

  #release(slot: Slot): void {
    slot.job = undefined;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    if (slot.ready) slot.worker.unref();
  }

  #failAll(error: Error): void {
    for (const job of this.#queue.splice(0)) job.reject(error);
    this.#readyWaiters.splice(0).forEach((w) => w.reject(error));
  }
}

const codes: readonly SagasuErrorCode[] = ['EMBED_FAILED', 'TIMEOUT', 'INVALID_OPTION', 'NOT_FOUND'];
function asCode(code: string): SagasuErrorCode {
  return (codes as readonly string[]).includes(code) ? (code as SagasuErrorCode) : 'EMBED_FAILED';
}
