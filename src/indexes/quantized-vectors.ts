import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SagasuError } from '../errors.js';
import { SnapshotReader, writeSnapshot } from '../store/snapshot-file.js';
import { decodingTable, toFloat16Bits } from '../store/float16.js';
import { dot, l2Norm } from '../embedding/pooling.js';
import { workerExecArgv } from '../worker-exec-argv.js';
import { IntMap } from './int-map.js';
import type { Pca } from './pca.js';

/**
 * An in-memory compressed copy of full vectors, to re-rank a reduced (PCA) index's candidates
 * without reading the store.
 *
 * Why: re-ranking read 100 full vectors per search from SQLite, 10-12 ms at 1M images when they
 * were not in the page cache (bench/scale.ts). A float16 copy would be 2.4 GiB at 1M; this one is
 * 1.5 GiB.
 *
 * How: each vector is split along the index's own PCA: its coordinates on the principal
 * components, kept as half floats, and the residual (what the components leave, ~11% of the
 * variance), kept as 8 bits per dimension with one step per dimension (6 standard deviations of
 * that dimension's residual in the first {@link QuantizedVectorsOptions.samples} vectors). The
 * residual is small, so 8 bits are fine-grained where they matter. Written here rather than taken
 * from a library: no maintained npm package does residual scalar quantization, and hnswlib-node
 * holds only the graph's (reduced) vectors.
 *
 * Measured at 100k drawn vectors (bench/rerank-copy.ts: recall@10 after re-ranking the exact top
 * 100): float32 1.000, this 1.000; 8 bits of the whole vector with one step per dimension
 * 0.957-0.982 (the vectors share a large mean and differ by little); one scale per vector 0.963.
 * A residual step of 4 standard deviations clipped its tails (0.994 in a first trial); 6 kept 1.000.
 *
 * Until the sample is complete the vectors are kept as float32 (exact).
 */
export interface QuantizedVectorsOptions {
  /** Vectors to learn the residual steps from. Default 1000. */
  samples?: number;
  /** Vectors per storage block (blocks are never copied as the collection grows). Default 16384. */
  blockRows?: number;
  /** Vectors expected (room reserved in the id table). Default 16. */
  expected?: number;
}

export const defaultQuantizedVectorsOptions: Required<QuantizedVectorsOptions> = { samples: 1000, blockRows: 16_384, expected: 16 };

/** Residual steps span this many standard deviations each side of zero. */
const residualSpread = 6;
const magic = 'SGQ8';
const formatVersion = 2;

interface Header {
  version: number;
  dimension: number;
  components: number;
  rows: number;
  fitted: boolean;
}

export class QuantizedVectors {
  readonly dimension: number;
  private readonly options: Required<QuantizedVectorsOptions>;
  private readonly mean: Float32Array;
  private readonly basis: Float32Array;
  private readonly components: number;
  /** Float32 vectors held until the residual steps are learned. */
  private pending = new Map<number, Float32Array>();
  private step: Float32Array | undefined;
  private codes: Int8Array[] = [];
  private coordinates: Uint16Array[] = [];
  /** Norm of each slot's decoded vector: cosine needs it, and decoding shifts it slightly from 1. */
  private norms: Float32Array[] = [];
  private idOfSlot: number[] = [];
  private readonly slotOf: IntMap;
  private readonly freeSlots: number[] = [];

  constructor(pca: Pca, options: QuantizedVectorsOptions = {}) {
    this.dimension = pca.inputDimension;
    this.mean = pca.mean;
    this.basis = pca.components;
    this.components = pca.componentCount;
    this.options = { ...defaultQuantizedVectorsOptions, ...options };
    this.slotOf = new IntMap(this.options.expected);
  }

  get count(): number {
    return this.pending.size + this.slotOf.size;
  }

  /** Bytes held for vectors (float32 while unfitted). */
  get bytes(): number {
    return this.pending.size * this.dimension * 4 + this.codes.length * this.options.blockRows * (this.dimension + 2 * this.components + 4);
  }

  has(id: number): boolean {
    return this.pending.has(id) || this.slotOf.has(id);
  }

  add(id: number, vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new SagasuError('MODEL_MISMATCH', `a ${vector.length}-d vector cannot go into a ${this.dimension}-d copy`);
    if (!this.step) {
      this.pending.set(id, Float32Array.from(vector));
      if (this.pending.size >= this.options.samples) this.fit();
      return;
    }
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.idOfSlot.length;
      if (slot === this.idOfSlot.length) this.idOfSlot.push(id);
      else this.idOfSlot[slot] = id;
      this.slotOf.set(id, slot);
    }
    this.encode(slot, vector);
  }

  remove(id: number): boolean {
    if (this.pending.delete(id)) return true;
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.idOfSlot[slot] = -1;
    // Zeroed like the graph's deleted points: a forgotten image leaves nothing in memory or in a snapshot.
    const { block, row } = this.place(slot);
    this.codes[block]!.fill(0, row * this.dimension, (row + 1) * this.dimension);
    this.coordinates[block]!.fill(0, row * this.components, (row + 1) * this.components);
    this.norms[block]![row] = 0;
    this.freeSlots.push(slot);
    return true;
  }

  clear(): void {
    this.pending = new Map();
    this.step = undefined;
    this.codes = [];
    this.coordinates = [];
    this.norms = [];
    this.idOfSlot = [];
    this.slotOf.clear();
    this.freeSlots.length = 0;
  }

  /** Cosine similarity of the query to each of the ids held (ids not held are left out). */
  similarities(query: Float32Array, ids: readonly number[]): Map<number, number> {
    const d = this.dimension;
    const result = new Map<number, number>();
    const queryNorm = l2Norm(query) || 1;
    const held: Array<{ id: number; slot: number }> = [];
    for (const id of ids) {
      const exact = this.pending.get(id);
      const slot = exact ? undefined : this.slotOf.get(id);
      if (exact) result.set(id, dot(query, exact) / (queryNorm * (l2Norm(exact) || 1)));
      else if (slot !== undefined) held.push({ id, slot });
    }
    if (held.length === 0) return result;
    // dot(q, mean + Σ y_k c_k + step ∘ r) = dot(q, mean) + Σ y_k dot(q, c_k) + dot(q ∘ step, r)
    const c = this.components;
    const base = dot(query, this.mean);
    const onBasis = new Float32Array(c);
    for (let k = 0; k < c; k++) onBasis[k] = this.dotAt(query, this.basis, k * d);
    const scaled = new Float32Array(d);
    for (let i = 0; i < d; i++) scaled[i] = query[i]! * this.step![i]!;
    const half = decodingTable();
    for (const { id, slot } of held) {
      const { block, row } = this.place(slot);
      const codes = this.codes[block]!;
      const coordinates = this.coordinates[block]!;
      let s = base;
      const y = row * c;
      for (let k = 0; k < c; k++) s += half[coordinates[y + k]!]! * onBasis[k]!;
      const start = row * d;
      let s0 = 0;
      let s1 = 0;
      let i = 0;
      for (; i + 1 < d; i += 2) {
        s0 += scaled[i]! * codes[start + i]!;
        s1 += scaled[i + 1]! * codes[start + i + 1]!;
      }
      if (i < d) s0 += scaled[i]! * codes[start + i]!;
      result.set(id, (s + s0 + s1) / (queryNorm * (this.norms[block]![row]! || 1)));
    }
    return result;
  }

  /** The decoded vector of an id (what the similarities are computed from), or undefined. */
  decoded(id: number): Float32Array | undefined {
    const exact = this.pending.get(id);
    if (exact) return Float32Array.from(exact);
    const slot = this.slotOf.get(id);
    if (slot === undefined) return undefined;
    const { block, row } = this.place(slot);
    const half = decodingTable();
    const y = Float32Array.from(this.coordinates[block]!.subarray(row * this.components, (row + 1) * this.components), (bits) => half[bits]!);
    const out = this.reconstruct(y);
    const codes = this.codes[block]!;
    for (let i = 0; i < this.dimension; i++) out[i]! += this.step![i]! * codes[row * this.dimension + i]!;
    return out;
  }

  /** dot(a, b[offset .. offset + dimension]): a row of the basis without a subarray per component. */
  private dotAt(a: Float32Array, b: Float32Array, offset: number): number {
    let s0 = 0;
    let s1 = 0;
    let i = 0;
    const d = this.dimension;
    for (; i + 1 < d; i += 2) {
      s0 += a[i]! * b[offset + i]!;
      s1 += a[i + 1]! * b[offset + i + 1]!;
    }
    if (i < d) s0 += a[i]! * b[offset + i]!;
    return s0 + s1;
  }

  /** Coordinates on the basis, rounded to half floats (the residual then makes up for the rounding). */
  private coordinatesOf(vector: Float32Array): { bits: Uint16Array; values: Float32Array } {
    const centred = new Float32Array(this.dimension);
    for (let i = 0; i < this.dimension; i++) centred[i] = vector[i]! - this.mean[i]!;
    const raw = new Float32Array(this.components);
    for (let k = 0; k < this.components; k++) raw[k] = this.dotAt(centred, this.basis, k * this.dimension);
    const bits = toFloat16Bits(raw);
    const half = decodingTable();
    return { bits, values: Float32Array.from(bits, (b) => half[b]!) };
  }

  /** mean + Σ y_k c_k */
  private reconstruct(y: Float32Array): Float32Array {
    const d = this.dimension;
    const out = Float32Array.from(this.mean);
    for (let k = 0; k < this.components; k++) {
      const w = y[k]!;
      if (w === 0) continue;
      const offset = k * d;
      for (let i = 0; i < d; i++) out[i]! += w * this.basis[offset + i]!;
    }
    return out;
  }

  private fit(): void {
    const d = this.dimension;
    const squares = new Float64Array(d);
    const pending = this.pending;
    for (const vector of pending.values()) {
      const near = this.reconstruct(this.coordinatesOf(vector).values);
      for (let i = 0; i < d; i++) squares[i]! += (vector[i]! - near[i]!) ** 2;
    }
    this.step = Float32Array.from(squares, (sum) => (residualSpread * (Math.sqrt(sum / pending.size) || 1e-6)) / 127);
    this.pending = new Map();
    for (const [id, vector] of pending) this.add(id, vector);
  }

  private place(slot: number): { block: number; row: number } {
    return { block: Math.floor(slot / this.options.blockRows), row: slot % this.options.blockRows };
  }

  private encode(slot: number, vector: Float32Array): void {
    const { block, row } = this.place(slot);
    const { blockRows } = this.options;
    while (this.codes.length <= block) {
      this.codes.push(new Int8Array(blockRows * this.dimension));
      this.coordinates.push(new Uint16Array(blockRows * this.components));
      this.norms.push(new Float32Array(blockRows));
    }
    const { bits, values } = this.coordinatesOf(vector);
    this.coordinates[block]!.set(bits, row * this.components);
    const decoded = this.reconstruct(values);
    const codes = this.codes[block]!;
    const start = row * this.dimension;
    let norm = 0;
    for (let i = 0; i < this.dimension; i++) {
      const step = this.step![i]!;
      const code = Math.max(-127, Math.min(127, Math.round((vector[i]! - decoded[i]!) / step)));
      codes[start + i] = code;
      const value = decoded[i]! + step * code;
      norm += value * value;
    }
    this.norms[block]![row] = Math.sqrt(norm);
  }

  /**
   * Writes the copy to `file` (atomically): a header, then the steps, ids, norms, coordinates and
   * codes (or the float32 vectors while unfitted). Written in pieces: at 1M vectors it is 1.5 GiB.
   */
  save(file: string): void {
    const ids = [...this.pending.keys(), ...this.idOfSlot.filter((id) => id >= 0)];
    const header: Header = { version: formatVersion, dimension: this.dimension, components: this.components, rows: ids.length, fitted: this.step !== undefined };
    writeSnapshot(file, magic, header, (put) => {
      put(Int32Array.from(ids));
      if (!this.step) {
        for (const vector of this.pending.values()) put(vector);
        return;
      }
      put(this.step);
      // Live slots in slot order (holes left by removals are skipped).
      const live = this.idOfSlot.flatMap((id, slot) => (id >= 0 ? [slot] : []));
      const rows = <T extends Float32Array | Uint16Array | Int8Array>(blocks: T[], width: number, make: (length: number) => T) => {
        const piece = make(4096 * width);
        for (let from = 0; from < live.length; from += 4096) {
          const slots = live.slice(from, from + 4096);
          slots.forEach((slot, i) => {
            const { block, row } = this.place(slot);
            piece.set(blocks[block]!.subarray(row * width, (row + 1) * width) as never, i * width);
          });
          put(piece.subarray(0, slots.length * width));
        }
      };
      rows(this.norms, 1, (n) => new Float32Array(n));
      rows(this.coordinates, this.components, (n) => new Uint16Array(n));
      rows(this.codes, this.dimension, (n) => new Int8Array(n));
    });
  }

  /**
   * Loads a copy saved by {@link save} with the same PCA; undefined when the file is missing,
   * damaged, or made for another dimension or number of components.
   */
  static load(file: string, pca: Pca, options: QuantizedVectorsOptions = {}): QuantizedVectors | undefined {
    const snapshot = readQuantizedSnapshot(file, { blockRows: options.blockRows });
    return snapshot && QuantizedVectors.fromSnapshot(snapshot, pca, options);
  }

  /** The copy a snapshot holds (see {@link readQuantizedSnapshot}), or undefined when it was made for another PCA shape or block size. */
  static fromSnapshot(snapshot: QuantizedSnapshot, pca: Pca, options: QuantizedVectorsOptions = {}): QuantizedVectors | undefined {
    const { header, ids } = snapshot;
    const copy = new QuantizedVectors(pca, { ...options, expected: header.rows });
    if (header.dimension !== copy.dimension || header.components !== copy.components) return undefined;
    const d = copy.dimension;
    if (!header.fitted) {
      ids.forEach((id, row) => copy.pending.set(id, snapshot.vectors!.slice(row * d, (row + 1) * d)));
      return copy;
    }
    if (snapshot.norms.some((block) => block.length !== copy.options.blockRows)) return undefined;
    copy.step = snapshot.step;
    copy.norms = snapshot.norms;
    copy.coordinates = snapshot.coordinates;
    copy.codes = snapshot.codes;
    copy.idOfSlot = Array.from(ids);
    ids.forEach((id, slot) => copy.slotOf.set(id, slot));
    return copy;
  }
}

/** A copy's file as read, before it meets its PCA: whole blocks, each with room for later rows. */
export interface QuantizedSnapshot {
  header: Header;
  ids: Int32Array;
  /** An unfitted copy's float32 vectors, row after row. */
  vectors?: Float32Array;
  step?: Float32Array;
  norms: Float32Array[];
  coordinates: Uint16Array[];
  codes: Int8Array[];
}

/**
 * Reads a snapshot written by {@link QuantizedVectors.save}; undefined when it is missing, damaged
 * or of another format version. `shared` puts the blocks in SharedArrayBuffers, so a worker thread
 * can read them and hand them over without a copy (see readQuantizedSnapshotInWorker).
 */
export function readQuantizedSnapshot(file: string, options: { blockRows?: number | undefined; shared?: boolean } = {}): QuantizedSnapshot | undefined {
  if (!existsSync(file)) return undefined;
  const blockRows = options.blockRows ?? defaultQuantizedVectorsOptions.blockRows;
  const memory = (bytes: number) => (options.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  let reader: SnapshotReader | undefined;
  try {
    reader = new SnapshotReader(file);
    const read = reader.read.bind(reader);
    const header = reader.header<Header>(magic);
    if (!header || header.version !== formatVersion) return undefined;
    const { rows, dimension: d, components: c } = header;
    const ids = read(new Int32Array(rows));
    if (!header.fitted) {
      const vectors = read(new Float32Array(memory(rows * d * 4)));
      if (!reader.atEnd()) return undefined;
      return { header, ids, vectors, norms: [], coordinates: [], codes: [] };
    }
    const step = read(new Float32Array(d));
    const blocks = Math.ceil(rows / blockRows);
    const inBlock = (b: number) => Math.min(blockRows, rows - b * blockRows);
    const norms = Array.from({ length: blocks }, () => new Float32Array(memory(blockRows * 4)));
    const coordinates = Array.from({ length: blocks }, () => new Uint16Array(memory(blockRows * c * 2)));
    const codes = Array.from({ length: blocks }, () => new Int8Array(memory(blockRows * d)));
    norms.forEach((block, b) => read(block.subarray(0, inBlock(b))));
    coordinates.forEach((block, b) => read(block.subarray(0, inBlock(b) * c)));
    codes.forEach((block, b) => read(block.subarray(0, inBlock(b) * d)));
    if (!reader.atEnd()) return undefined;
    return { header, ids, step, norms, coordinates, codes };
  } catch {
    return undefined; // damaged: the caller fills the copy again from the store
  } finally {
    reader?.close();
  }
}

/**
 * {@link readQuantizedSnapshot} in a worker thread, so the caller can load other things meanwhile:
 * at 1M images reading the copy (1.4 GiB) takes ~7 s and loading the HNSW graph ~7 s, and on two
 * cores they overlap (12.8 s one after the other, 7.8 s side by side; measured on this machine).
 * `cancel` stops the worker when the snapshot is no longer wanted.
 */
export function readQuantizedSnapshotInWorker(file: string, blockRows?: number): { snapshot: Promise<QuantizedSnapshot | undefined>; cancel(): void } {
  const worker = new Worker(new URL('./quantized-snapshot-worker.js', import.meta.url), { workerData: { file, blockRows }, execArgv: workerExecArgv() });
  const snapshot = new Promise<QuantizedSnapshot | undefined>((resolve) => {
    worker.once('message', (message: QuantizedSnapshot | null) => {
      resolve(message ?? undefined);
      void worker.terminate();
    });
    // The worker does not end by itself (see the worker): an exit before its message is a failure.
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
  return { snapshot, cancel: () => void worker.terminate() };
}
