/** Worker thread of readQuantizedSnapshotInWorker: reads one snapshot into shared memory and posts it. */
import { parentPort, workerData } from 'node:worker_threads';
import { readQuantizedSnapshot } from './quantized-vectors.js';

const { file, blockRows } = workerData as { file: string; blockRows?: number };
parentPort!.postMessage(readQuantizedSnapshot(file, { blockRows, shared: true }) ?? null);
// Stays until the parent, having the message, terminates it: an exit can then only mean a failure,
// whatever order the parent's event loop sees the two in.
parentPort!.on('message', () => undefined);
