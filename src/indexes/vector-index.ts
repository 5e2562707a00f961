import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { SagasuError } from '../errors.js';
import { writeFileAtomic, writeWithAtomicRename } from '../store/atomic-file.js';
import { Pca } from './pca.js';
import { QuantizedVectors, readQuantizedSnapshotInWorker } from './quantized-vectors.js';
import { dot, l2Norm } from '../embedding/pooling.js';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

export interface VectorIndexOptions {
  /** HNSW graph degree. Default 16. */
  m?: number;
  /** Candidate list size while building. Default 200. */
  efConstruction?: number;
  /**
   * Candidate list size while searching (at least k, and at least the re-ranked candidates).
   * Default `'auto'`: by collection size (see {@link autoEfSearch}).
   */
  efSearch?: number | 'auto';
  /** Room reserved at creation; the index doubles when full. Default 1024. */
  initialCapacity?: number;
  /**
   * Store and search shorter vectors: a PCA learned from the collection. Default none (full
   * vectors); `null` also means none (the engine records it, overriding an earlier setting).
   * @example new VectorIndex(modelId, 1280, { reduction: { dimension: 128, fitAfter: 20000 } })
   */
  reduction?: VectorReduction | null;
}

export interface VectorReduction {
  /** Length of the stored vectors (see {@link Pca.dimension}). */
  dimension: number;
  /**
   * The index holds the full vectors it is given until this many are live, then learns the PCA
   * from them, rebuilds its graph with projected vectors (a one-off pause: about the time of
   * adding them all again) and projects every later add and search.
   */
  fitAfter: number;
  /** Whitened PCA (see {@link Pca.whiten}). Default false. */
  whiten?: boolean;
  /** A PCA fitted beforehand: the index projects from the first vector and never fits. */
  pca?: Pca;
  /**
   * When `search` is given the full vectors (see {@link VectorIndex.search}), this many nearest
   * reduced vectors (at least k) are re-scored by cosine on the full ones. Default 100: at 1M
   * drawn vectors, 128-d, recall@10 against exact full search rose from 0.73 to 0.95 with 50 (bench/scale.ts).
   */
  rerank?: number;
  /**
   * Where the full vectors for re-ranking come from. `'memory'` (the default): once its PCA is in
   * use, the index keeps a compressed copy of every full vector it is given (see
   * {@link QuantizedVectors}: PCA coordinates as half floats and the residual in 8 bits, ~1.5 KB an
   * image), saved beside its graph. `'store'`: only what `search` is given (`fullVectorsOf`), e.g.
   * the region index, whose 20 vectors per image would not fit in memory at scale.
   */
  rerankFrom?: 'memory' | 'store';
}

export const defaultRerankCandidates = 100;

/**
 * efSearch by collection size: a fixed one loses recall as the graph grows. Measured with
 * bench/scale.ts (recall@10 against exact search on full vectors): 1280-d, efSearch 64 gives 0.984
 * at 10k but 0.919 at 100k (128: 0.961); PCA 128-d with 100 candidates re-ranked on full vectors
 * at 1M gives 0.883 at 64, 0.915 at 128, 0.953 at 256.
 */
export function autoEfSearch(liveVectors: number): number {
  return liveVectors <= 20_000 ? 64 : liveVectors <= 200_000 ? 128 : 256;
}

/** When `sagasu index --reduce-vectors` fits its PCA: enough images to learn the collection's directions, a short one-off pause (~30 s). */
export const defaultReductionFitAfter = 20_000;

export const defaultVectorIndexOptions: Required<Omit<VectorIndexOptions, 'reduction'>> = {
  m: 16,
  efConstruction: 200,
  efSearch: 'auto',
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
  /** Since version 2: the reduction setting, or null for full vectors. */
  reduction?: { dimension: number; whiten: boolean } | null;
  /** Since version 2: the PCA file (named by seq, like the graph) once fitted; null while the graph holds full vectors. */
  pca?: string | null;
  /** The compressed copy of the full vectors (named by seq), when kept in memory (see {@link VectorReduction.rerankFrom}). */
  fullVectors?: string | null;
}

/** 2 adds `reduction` and `pca`; version 1 snapshots (full vectors) still load. */
const serializationVersion = 2;

/**
 * Cosine HNSW index (hnswlib-node) over image ids, with delete and growth. With
 * {@link VectorIndexOptions.reduction} it stores PCA-projected vectors; `add` and `search` still
 * take full vectors of {@link dimension} values.
 */
export class VectorIndex {
  readonly modelId: string;
  /** Length of the vectors `add` and `search` take. */
  readonly dimension: number;
  private readonly options: Required<Omit<VectorIndexOptions, 'reduction'>> & Pick<VectorIndexOptions, 'reduction'>;
  private hnsw: Hnsw;
  private readonly live = new Set<number>();
  private projection: Pca | undefined;
  /** Full vectors for re-ranking, when a reduced index keeps them in memory (made with the PCA: see {@link QuantizedVectors}). */
  private fullCopy: QuantizedVectors | undefined;
  /** The store change sequence this index includes. */
  seq = 0;

  constructor(modelId: string, dimension: number, options: VectorIndexOptions = {}) {
    this.modelId = modelId;
    this.dimension = dimension;
    this.options = { ...defaultVectorIndexOptions, ...options };
    const reduction = this.options.reduction;
    if (reduction) {
      if (!Number.isInteger(reduction.dimension) || reduction.dimension < 2 || reduction.dimension >= dimension) {
        throw new SagasuError('INVALID_OPTION', `option "reduction.dimension" must be an integer from 2 to ${dimension - 1} (got ${reduction.dimension})`);
      }
      if (!reduction.pca && !(Number.isInteger(reduction.fitAfter) && reduction.fitAfter >= 1)) {
        throw new SagasuError('INVALID_OPTION', `option "reduction.fitAfter" must be a positive integer (got ${reduction.fitAfter})`);
      }
      if (reduction.rerank !== undefined && !(Number.isInteger(reduction.rerank) && reduction.rerank >= 1)) {
        throw new SagasuError('INVALID_OPTION', `option "reduction.rerank" must be a positive integer (got ${reduction.rerank})`);
      }
      if (reduction.rerankFrom !== undefined && reduction.rerankFrom !== 'memory' && reduction.rerankFrom !== 'store') {
        throw new SagasuError('INVALID_OPTION', `option "reduction.rerankFrom" must be "memory" or "store" (got ${String(reduction.rerankFrom)})`);
      }
      if (reduction.pca) this.projection = checkedPca(reduction.pca, dimension, reduction);
    }
    this.fullCopy = this.newFullCopy();
    this.hnsw = this.create(this.options.initialCapacity);
  }

  /** Length of the vectors in the graph: the reduced dimension once a PCA is in use, else {@link dimension}. */
  get storedDimension(): number {
    return this.projection?.dimension ?? this.dimension;
  }

  /** The PCA in use, if any (undefined while a reducing index still holds full vectors). */
  get pca(): Pca | undefined {
    return this.projection;
  }

  private create(capacity: number): Hnsw {
    const hnsw = new HierarchicalNSW('cosine', this.storedDimension);
    hnsw.initIndex({
      maxElements: capacity,
      m: this.options.m,
      efConstruction: this.options.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    hnsw.setEf(this.efSearch);
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
    this.hnsw.addPoint(this.toStored(vector), id, true);
    this.live.add(id);
    this.fullCopy?.add(id, vector);
    const reduction = this.options.reduction;
    if (reduction && !this.projection && this.live.size >= reduction.fitAfter) this.fitReduction();
  }

  private newFullCopy(): QuantizedVectors | undefined {
    return this.projection && (this.options.reduction?.rerankFrom ?? 'memory') === 'memory' ? new QuantizedVectors(this.projection) : undefined;
  }

  private toStored(vector: Float32Array): number[] {
    return Array.from(this.projection ? this.projection.project(vector) : vector);
  }

  /**
   * Learns the PCA from the full vectors in the graph (or takes the given one, for a snapshot saved
   * before it was fitted), then rebuilds the graph with their projections.
   */
  private fitReduction(): void {
    const reduction = this.options.reduction!;
    const ids = [...this.live];
    const full = ids.map((id) => Float32Array.from(this.hnsw.getPoint(id)));
    this.projection = reduction.pca ?? Pca.fit(full, { dimension: reduction.dimension, whiten: reduction.whiten ?? false });
    this.hnsw = this.create(Math.max(this.options.initialCapacity, this.hnsw.getMaxElements()));
    ids.forEach((id, i) => this.hnsw.addPoint(Array.from(this.projection!.project(full[i]!)), id, true));
    this.fullCopy = this.newFullCopy();
    ids.forEach((id, i) => this.fullCopy?.add(id, full[i]!));
  }

  remove(id: number): boolean {
    if (!this.live.has(id)) return false;
    // hnswlib keeps a deleted point's data until its slot is reused: overwrite it first, so a
    // forgotten image's vector does not survive in memory or in the next snapshot.
    this.hnsw.addPoint(new Array<number>(this.storedDimension).fill(0), id);
    this.hnsw.markDelete(id);
    this.live.delete(id);
    this.fullCopy?.remove(id);
    return true;
  }

  clear(): void {
    // A PCA learned from the collection goes with it; one given in the options stays.
    this.projection = this.options.reduction?.pca;
    this.hnsw = this.create(this.options.initialCapacity);
    this.live.clear();
    this.fullCopy = this.newFullCopy();
    this.seq = 0;
  }

  /**
   * The k nearest ids by cosine. A reduced index re-scores its first {@link VectorReduction.rerank}
   * candidates on the full vectors (the projection loses ranking precision that the graph cannot
   * give back): from its in-memory copy, and for ids the copy lacks, from `fullVectorsOf` (the
   * stored full vectors of some ids).
   */
  search(vector: Float32Array, k: number, filter?: (id: number) => boolean, fullVectorsOf?: (ids: number[]) => Map<number, Float32Array>): VectorHit[] {
    if (vector.length !== this.dimension) {
      throw new SagasuError('MODEL_MISMATCH', `a ${vector.length}-d query cannot search a ${this.dimension}-d index`);
    }
    const rerank = this.projection && (this.fullCopy || fullVectorsOf) ? Math.max(k, this.options.reduction?.rerank ?? defaultRerankCandidates) : 0;
    const n = Math.min(Math.max(k, rerank), this.live.size);
    if (n <= 0) return [];
    this.hnsw.setEf(Math.max(this.efSearch, n));
    const { neighbors, distances } = this.hnsw.searchKnn(this.toStored(vector), n, filter);
    const hits = neighbors.map((id, i) => ({ id, similarity: 1 - distances[i]! }));
    if (!rerank) return hits;
    const similarities = this.fullCopy?.similarities(vector, neighbors) ?? new Map<number, number>();
    const missing = neighbors.filter((id) => !similarities.has(id));
    if (missing.length > 0 && fullVectorsOf) {
      const queryNorm = l2Norm(vector);
      const fullVectors = fullVectorsOf(missing);
      for (const id of missing) {
        const full = fullVectors.get(id);
        if (full && full.length === vector.length) similarities.set(id, dot(vector, full) / (queryNorm * l2Norm(full) || 1));
      }
    }
    return hits
      .map((hit) => ({ id: hit.id, similarity: similarities.get(hit.id) ?? hit.similarity }))
      .sort((a, b) => b.similarity - a.similarity || a.id - b.id)
      .slice(0, k);
  }

  /**
   * Live ids whose full vector the in-memory copy lacks (a snapshot saved before the copy
   * existed, or whose copy was lost): {@link restoreFullVector} fills them from the store.
   */
  idsWithoutFullVector(): number[] {
    const copy = this.fullCopy;
    if (!copy || copy.count === this.live.size) return [];
    return [...this.live].filter((id) => !copy.has(id));
  }

  /** Puts an id's full vector back into the in-memory copy (see {@link idsWithoutFullVector}). */
  restoreFullVector(id: number, vector: Float32Array): void {
    if (this.fullCopy && this.live.has(id)) this.fullCopy.add(id, vector);
  }

  /** The efSearch in effect now (see {@link VectorIndexOptions.efSearch}). */
  get efSearch(): number {
    return this.options.efSearch === 'auto' ? autoEfSearch(this.live.size) : this.options.efSearch;
  }

  /** The reduction setting (null: full vectors). */
  get reduction(): VectorReduction | null {
    return this.options.reduction ?? null;
  }

  /** True once vectors are stored projected (see {@link VectorIndexOptions.reduction}). */
  get reduced(): boolean {
    return this.projection !== undefined;
  }

  /** Writes `<base>.<seq>.hnsw` (and `<base>.<seq>.pca`), then `<base>.json` naming them, then removes the previous ones. */
  save(base: string): void {
    const before = readMeta(base);
    const graph = `${basename(base)}.${this.seq}.hnsw`;
    writeWithAtomicRename(join(dirname(base), graph), (temporary) => this.hnsw.writeIndexSync(temporary));
    const pca = this.projection ? `${basename(base)}.${this.seq}.pca` : null;
    if (pca) writeFileAtomic(join(dirname(base), pca), this.projection!.toBuffer());
    const fullVectors = this.fullCopy ? `${basename(base)}.${this.seq}.q8` : null;
    if (fullVectors) this.fullCopy!.save(join(dirname(base), fullVectors));
    const reduction = this.options.reduction;
    const meta: VectorIndexMeta = {
      graph,
      version: serializationVersion,
      modelId: this.modelId,
      dimension: this.dimension,
      seq: this.seq,
      ids: [...this.live],
      m: this.options.m,
      efConstruction: this.options.efConstruction,
      reduction: reduction ? { dimension: reduction.dimension, whiten: reduction.whiten ?? false } : null,
      pca,
      fullVectors,
    };
    writeFileAtomic(`${base}.json`, JSON.stringify(meta));
    for (const previous of [before?.graph, before?.pca, before?.fullVectors]) {
      if (previous && previous !== graph && previous !== pca && previous !== fullVectors) rmSync(join(dirname(base), previous), { force: true });
    }
  }

  /**
   * Loads a snapshot. Refuses one built with another model or dimension (MODEL_MISMATCH);
   * returns undefined when there is none, it is unreadable, or it was built with another
   * `reduction` setting (its vectors are in another space): the caller rebuilds from the store.
   */
  static load(base: string, modelId: string, dimension: number, options: VectorIndexOptions = {}): VectorIndex | undefined {
    const meta = readMeta(base);
    const index = meta && VectorIndex.loadGraph(base, meta, modelId, dimension, options);
    if (!index) return undefined;
    const copyFile = fullCopyFile(base, meta, options);
    index.attachFullCopy(copyFile && index.projection ? QuantizedVectors.load(copyFile, index.projection) : undefined);
    return index;
  }

  /**
   * {@link load}, with the copy of the full vectors read in a worker thread while this thread
   * loads the graph (at 1M images each takes ~7 s; see readQuantizedSnapshotInWorker).
   */
  static async loadAsync(base: string, modelId: string, dimension: number, options: VectorIndexOptions = {}): Promise<VectorIndex | undefined> {
    const meta = readMeta(base);
    if (!meta) return undefined;
    const copyFile = fullCopyFile(base, meta, options);
    const reading = copyFile && existsSync(copyFile) ? readQuantizedSnapshotInWorker(copyFile) : undefined;
    let index: VectorIndex | undefined;
    try {
      index = VectorIndex.loadGraph(base, meta, modelId, dimension, options);
    } finally {
      if (!index) reading?.cancel();
    }
    if (!index) return undefined;
    const snapshot = await reading?.snapshot;
    index.attachFullCopy(snapshot && index.projection ? QuantizedVectors.fromSnapshot(snapshot, index.projection) : undefined);
    return index;
  }

  /** The graph, ids and PCA of a snapshot, without the copy of the full vectors (see load). */
  private static loadGraph(base: string, meta: VectorIndexMeta, modelId: string, dimension: number, options: VectorIndexOptions): VectorIndex | undefined {
    if (meta.version !== 1 && meta.version !== serializationVersion) return undefined;
    const graphFile = join(dirname(base), meta.graph);
    if (!existsSync(graphFile)) return undefined;
    if (meta.modelId !== modelId || meta.dimension !== dimension) {
      throw new SagasuError(
        'MODEL_MISMATCH',
        `the vector index ${base}.json was built with model "${meta.modelId}" (${meta.dimension}-d); ` +
          `this process uses "${modelId}" (${dimension}-d)`,
      );
    }
    const wanted = options.reduction;
    const saved = meta.reduction ?? null;
    if ((wanted ? `${wanted.dimension}/${wanted.whiten ?? false}` : 'none') !== (saved ? `${saved.dimension}/${saved.whiten}` : 'none')) return undefined;
    const index = new VectorIndex(modelId, dimension, { ...options, m: meta.m, efConstruction: meta.efConstruction });
    try {
      // The snapshot's own PCA wins over one given in the options: its graph is in that space.
      index.projection = meta.pca ? checkedPca(Pca.fromBuffer(readFileSync(join(dirname(base), meta.pca))), dimension, wanted!) : undefined;
      index.hnsw = new HierarchicalNSW('cosine', index.storedDimension);
      index.hnsw.readIndexSync(graphFile, true);
      if (index.hnsw.getNumDimensions() !== index.storedDimension) return undefined;
      index.hnsw.setEf(index.efSearch);
    } catch {
      return undefined;
    }
    for (const id of meta.ids) index.live.add(id);
    index.seq = meta.seq;
    return index;
  }

  /** Takes a loaded copy of the full vectors when it holds exactly this index's ids; otherwise an empty one, filled again from the store (see idsWithoutFullVector). */
  private attachFullCopy(copy: QuantizedVectors | undefined): void {
    this.fullCopy = this.newFullCopy();
    if (!this.fullCopy || !copy || copy.count !== this.live.size) return;
    for (const id of this.live) if (!copy.has(id)) return;
    this.fullCopy = copy;
  }

  static remove(base: string): void {
    const meta = readMeta(base);
    for (const file of [meta?.graph, meta?.pca, meta?.fullVectors]) if (file) rmSync(join(dirname(base), file), { force: true });
    rmSync(`${base}.json`, { force: true });
  }
}

function checkedPca(pca: Pca, dimension: number, reduction: Pick<VectorReduction, 'dimension' | 'whiten'>): Pca {
  if (pca.inputDimension !== dimension || pca.dimension !== reduction.dimension || pca.whiten !== (reduction.whiten ?? false)) {
    throw new SagasuError(
      'INVALID_OPTION',
      `the PCA (${pca.inputDimension}-d to ${pca.dimension}-d${pca.whiten ? ', whitened' : ''}) does not match ` +
        `the reduction setting (${dimension}-d to ${reduction.dimension}-d${reduction.whiten ? ', whitened' : ''})`,
    );
  }
  return pca;
}

/** The snapshot's copy of the full vectors, when the options keep one in memory (see VectorReduction.rerankFrom). */
function fullCopyFile(base: string, meta: VectorIndexMeta, options: VectorIndexOptions): string | undefined {
  const inMemory = options.reduction && (options.reduction.rerankFrom ?? 'memory') === 'memory';
  return inMemory && meta.fullVectors ? join(dirname(base), meta.fullVectors) : undefined;
}

function readMeta(base: string): VectorIndexMeta | undefined {
  if (!existsSync(`${base}.json`)) return undefined;
  try {
    return JSON.parse(readFileSync(`${base}.json`, 'utf8')) as VectorIndexMeta;
  } catch {
    return undefined; // damaged: the caller rebuilds from the store
  }
}
