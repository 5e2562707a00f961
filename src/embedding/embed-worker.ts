/**
 * Worker-thread side of WorkerPoolEmbedder: loads its own runtime and model, then turns
 * 224x224 RGB pixels into unit vectors, one job (one or more images, predicted as one batch) at
 * a time. Runs from the compiled dist/ JS.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isSagasuError } from '../errors.js';
import { featuresFromPixelBatch, joinEndToEnd, type PoolingSpec } from './features.js';
import { loadMobileNetV2 } from './mobilenet-v2.js';
import type { ActiveBackend, BackendRequest } from './tfjs-runtime.js';

/** What the pool passes as `workerData`. */
export interface EmbedWorkerData {
  readonly backend: BackendRequest;
  readonly pooling: PoolingSpec['pooling'];
  readonly gemPower: number;
}

/** `pixels`: `count` 224x224 RGB images end to end. */
export type ToWorker = { type: 'embed'; id: number; pixels: Uint8Array; count: number };

export type FromWorker =
  | { type: 'ready'; backend: ActiveBackend; loadMs: number }
  | { type: 'fatal'; message: string; code: string }
  /** `vectors`: `count` unit vectors end to end, in the order of the images. */
  | { type: 'result'; id: number; vectors: Float32Array }
  | { type: 'error'; id: number; message: string; code: string };

const port = parentPort;
if (port === null) throw new Error('sagasu: embed-worker.js must run in a worker thread');
const data = workerData as EmbedWorkerData;
const spec: PoolingSpec = { pooling: data.pooling, gemPower: data.gemPower };

const describe = (error: unknown): { message: string; code: string } => ({
  message: error instanceof Error ? error.message.replace(/^sagasu: /, '') : String(error),
  code: isSagasuError(error) ? error.code : 'EMBED_FAILED',
});

try {
  const model = await loadMobileNetV2(data.backend);
  port.on('message', (message: ToWorker) => {
    if (message.type !== 'embed') return;
    featuresFromPixelBatch(model, message.pixels, message.count, spec).then(
      (list) => {
        const vectors = joinEndToEnd(list, (length) => new Float32Array(length));
        port.postMessage({ type: 'result', id: message.id, vectors } satisfies FromWorker, [vectors.buffer as ArrayBuffer]);
      },
      (error: unknown) => port.postMessage({ type: 'error', id: message.id, ...describe(error) } satisfies FromWorker),
    );
  });
  port.postMessage({ type: 'ready', backend: model.runtime.backend, loadMs: model.loadMs } satisfies FromWorker);
} catch (error) {
  port.postMessage({ type: 'fatal', ...describe(error) } satisfies FromWorker);
  // Let the message flush, then end: the pool sees the exit and decides whether to retry.
  setImmediate(() => process.exit(1));
}
