/**
 * One TensorFlow.js runtime per process (per worker thread): the backend is chosen once and
 * every embedder in the thread shares it, because tfjs keeps its backend and tensors in a
 * global engine that cannot safely host two configurations at once.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { SagasuError } from '../errors.js';

export type TfjsModule = typeof Tf;

/**
 * Which backend to use.
 * - `'auto'` (default): `@tensorflow/tfjs-node` if it can be imported (native libtensorflow),
 *   else the WebAssembly backend. Never falls back to the pure-JS cpu backend (20-30x slower).
 * - `'node'`: `@tensorflow/tfjs-node` or an error.
 * - `'wasm'`: `@tensorflow/tfjs-backend-wasm` (SIMD, single-threaded in Node) or an error.
 * - `'cpu'`: the pure-JS backend, only when asked for explicitly (tests, debugging).
 */
export type BackendRequest = 'auto' | 'wasm' | 'node' | 'cpu';

/** The backend actually running: tfjs names the tfjs-node backend "tensorflow". */
export type ActiveBackend = 'wasm' | 'tensorflow' | 'cpu';

export interface TfjsRuntime {
  readonly tf: TfjsModule;
  readonly backend: ActiveBackend;
}

const require = createRequire(import.meta.url);

let runtime: Promise<TfjsRuntime> | undefined;

/**
 * Initialises TensorFlow.js once for this thread and returns it. A later call that explicitly
 * asks for another backend than the running one is refused rather than silently ignored.
 */
export function loadTfjsRuntime(request: BackendRequest = 'auto'): Promise<TfjsRuntime> {
  if (!['auto', 'wasm', 'node', 'cpu'].includes(request)) {
    return Promise.reject(new SagasuError('INVALID_OPTION', `option "backend" must be one of auto, wasm, node, cpu (got ${String(request)})`));
  }
  if (runtime === undefined) {
    runtime = initialise(request);
    // A failed initialisation is not cached, so a caller can retry with another backend.
    runtime.catch(() => {
      runtime = undefined;
    });
    return runtime;
  }
  return runtime.then((active) => {
    const wanted = request === 'node' ? 'tensorflow' : request;
    if (wanted !== 'auto' && wanted !== active.backend) {
      throw new SagasuError(
        'INVALID_OPTION',
        `TensorFlow.js already runs on the "${active.backend}" backend in this thread; cannot switch to "${request}"`,
      );
    }
    return active;
  });
}

/** The active backend, or undefined while no runtime has been initialised in this thread. */
export async function activeBackend(): Promise<ActiveBackend | undefined> {
  if (runtime === undefined) return undefined;
  try {
    return (await runtime).backend;
  } catch {
    return undefined;
  }
}

async function initialise(request: BackendRequest): Promise<TfjsRuntime> {
  if (request === 'auto' || request === 'node') {
    const node = await importTfjsNode();
    if (node !== undefined) return { tf: node, backend: 'tensorflow' };
    if (request === 'node') {
      throw new SagasuError('EMBED_FAILED', 'backend "node" was requested but @tensorflow/tfjs-node cannot be loaded (it needs libtensorflow, downloaded at install time)');
    }
  }
  const tf = (await import('@tensorflow/tfjs')) as TfjsModule;
  if (request === 'cpu') {
    await setBackend(tf, 'cpu');
    return { tf, backend: 'cpu' };
  }
  await initialiseWasm(tf);
  return { tf, backend: 'wasm' };
}

async function importTfjsNode(): Promise<TfjsModule | undefined> {
  // A variable specifier keeps TypeScript from resolving the optional package at build time.
  const specifier = '@tensorflow/tfjs-node';
  try {
    return (await import(specifier)) as TfjsModule;
  } catch {
    return undefined;
  }
}

async function initialiseWasm(tf: TfjsModule): Promise<void> {
  let wasmDir: string;
  try {
    wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  } catch (cause) {
    throw new SagasuError('EMBED_FAILED', '@tensorflow/tfjs-backend-wasm is not installed', { cause });
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the emscripten loader reads "<prefix><file>.wasm" with fs, so a directory path works.
  wasm.setWasmPaths(join(wasmDir, '/'));
  // The emscripten glue installs process-wide uncaughtException/unhandledRejection handlers that
  // rethrow, which would override the application's own handlers: remove whatever it added.
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  try {
    await setBackend(tf, 'wasm');
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.has(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
}

async function setBackend(tf: TfjsModule, name: string): Promise<void> {
  let ok = false;
  let cause: unknown;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (error) {
    cause = error;
  }
  if (!ok || tf.getBackend() !== name) {
    throw new SagasuError('EMBED_FAILED', `cannot initialise the TensorFlow.js "${name}" backend`, { cause });
  }
}
