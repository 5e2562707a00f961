import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { SagasuError } from '../errors.js';
import { writeFileAtomic, writeWithAtomicRename } from '../store/atomic-file.js';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

export interface VectorIndexOptions {
  /** HNSW graph degree. Default 16. */
  m?: number;
  /** Candidate list size while building. Default 200. */
  efConstruction?: number;
  /** Candidate list size while searching (at least k). Default 64. */
  efSearch?: number;
  /** Room reserved at creation; the index doubles when full. Default 1024. */
  initialCapacity?: number;
}

export const defaultVectorIndexOptions: Required<VectorIndexOptions> = {
  m: 16,
  efConstruction: 200,
  efSearch: 64,
  initialCapacity: 1024,
};

export interface VectorHit {
  id: number;
  /** Cosine similarity, -1..1. */
  similarity: number;
}

interface VectorIndexMeta {
  version: number;
  modelId: string;
  dimension: number;
  seq: number;
  ids: number[];
  /** The graph file this metadata goes with (named by seq, so a crash mid-save never pairs old metadata with a new graph). */
  graph: string;
  m: number;
  efConstruction: number;
}

const serializationVersion = 1;

/** Cosine HNSW index (hnswlib-node) over image ids, with delete and growth. */
export class VectorIndex {
  readonly modelId: string;
  readonly dimension: number;
  private readonly options: Required<VectorIndexOptions>;
  private hnsw: Hnsw;
  private readonly live = new Set<number>();
  /** The store change sequence this index includes. */
  seq = 0;

  constructor(modelId: string, dimension: number, options: VectorIndexOptions = {}) {
    this.modelId = modelId;
    this.dimension = dimension;
    this.options = { ...defaultVectorIndexOptions, ...options };
    this.hnsw = this.create(this.options.initialCapacity);
  }

  private create(capacity: number): Hnsw {
    const hnsw = new HierarchicalNSW('cosine', this.dimension);
    hnsw.initIndex({
      maxElements: capacity,
      m: this.options.m,
      efConstruction: this.options.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    hnsw.setEf(this.options.efSearch);
    return hnsw;
  }

  get count(): number {
    return this.live.size;
  }

  has(id: number): boolean {
    return this.live.has(id);
  }

  add(id: number, vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new SagasuError('MODEL_MISMATCH', `a ${vector.length}-d vector cannot go into a ${this.dimension}-d index`);
    }
    if (this.live.has(id)) this.hnsw.markDelete(id);
    if (this.hnsw.getCurrentCount() >= this.hnsw.getMaxElements()) {
      this.hnsw.resizeIndex(Math.max(this.options.initialCapacity, this.hnsw.getMaxElements() * 2));
    }
    // replaceDeleted reuses the slot of a deleted point, so deletes do not grow the file forever.
    this.hnsw.addPoint(Array.from(vector), id, true);
    this.live.add(id);
  }

  remove(id: number): boolean {
    if (!this.live.has(id)) return false;
    // hnswlib keeps a deleted point's data until its slot is reused: overwrite it first, so a
    // forgotten image's vector does not survive in memory or in the next snapshot.
    this.hnsw.addPoint(new Array<number>(this.dimension).fill(0), id);
    this.hnsw.markDelete(id);
    this.live.delete(id);
    return true;
  }

  clear(): void {
    this.hnsw = this.create(this.options.initialCapacity);
    this.live.clear();
    this.seq = 0;
  }

  search(vector: Float32Array, k: number, filter?: (id: number) => boolean): VectorHit[] {
    const n = Math.min(k, this.live.size);
    if (n <= 0) return [];
    this.hnsw.setEf(Math.max(this.options.efSearch, n));
    const { neighbors, distances } = this.hnsw.searchKnn(Array.from(vector), n, filter);
    return neighbors.map((id, i) => ({ id, similarity: 1 - distances[i]! }));
  }

  /** Writes `<base>.<seq>.hnsw`, then `<base>.json` naming it, then removes the previous graph. */
  save(base: string): void {
    const previous = readMeta(base)?.graph;
    const graph = `${basename(base)}.${this.seq}.hnsw`;
    writeWithAtomicRename(join(dirname(base), graph), (temporary) => this.hnsw.writeIndexSync(temporary));
    const meta: VectorIndexMeta = {
      graph,
      version: serializationVersion,
      modelId: this.modelId,
      dimension: this.dimension,
      seq: this.seq,
      ids: [...this.live],
      m: this.options.m,
      efConstruction: this.options.efConstruction,
    };
    writeFileAtomic(`${base}.json`, JSON.stringify(meta));
    if (previous && previous !== graph) rmSync(join(dirname(base), previous), { force: true });
  }

  /**
   * Loads a snapshot. Refuses one built with another model or dimension (MODEL_MISMATCH);
   * returns undefined when there is none or it is unreadable (the caller rebuilds from the store).
   */
  static load(base: string, modelId: string, dimension: number, options: VectorIndexOptions = {}): VectorIndex | undefined {
    const meta = readMeta(base);
    if (!meta || meta.version !== serializationVersion) return undefined;
    const graphFile = join(dirname(base), meta.graph);
    if (!existsSync(graphFile)) return undefined;
    if (meta.modelId !== modelId || meta.dimension !== dimension) {
      throw new SagasuError(
        'MODEL_MISMATCH',
        `the vector index ${base}.json was built with model "${meta.modelId}" (${meta.dimension}-d); ` +
          `this process uses "${modelId}" (${dimension}-d)`,
      );
    }
    const index = new VectorIndex(modelId, dimension, { ...options, m: meta.m, efConstruction: meta.efConstruction });
    try {
      index.hnsw = new HierarchicalNSW('cosine', dimension);
      index.hnsw.readIndexSync(graphFile, true);
      index.hnsw.setEf(index.options.efSearch);
    } catch {
      return undefined;
    }
    for (const id of meta.ids) index.live.add(id);
    index.seq = meta.seq;
    return index;
  }

  static remove(base: string): void {
    const graph = readMeta(base)?.graph;
    if (graph) rmSync(join(dirname(base), graph), { force: true });
    rmSync(`${base}.json`, { force: true });
  }
}

function readMeta(base: string): VectorIndexMeta | undefined {
  if (!existsSync(`${base}.json`)) return undefined;
  try {
    return JSON.parse(readFileSync(`${base}.json`, 'utf8')) as VectorIndexMeta;
  } catch {
    return undefined; // damaged: the caller rebuilds from the store
  }
}
