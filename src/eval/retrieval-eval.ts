/**
 * The retrieval evaluation behind `sagasu eval`: index a gallery into a temporary data
 * directory, make queries from its images the way users post them (seeded), search each query
 * with every source alone and fused, and report recall@1, recall@5 and MRR per query type and
 * source, the time per query, how often images that are not indexed still get a confident
 * answer, a calibrated confidence fitted on half the queries and judged on the other half, and
 * (optionally) how other fusion settings would have ranked the same queries.
 *
 * Every query is searched once per source and the ranked lists are kept (`QueryRecord`), so all
 * the analysis (metrics, calibration, fusion sweep) runs on records, without the engine, and can
 * be redone from a saved report.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SagasuError, isSagasuError } from '../errors.js';
import { heuristicConfidence } from '../fusion/confidence.js';
import { promoteDominantText, rerankByVerification, type SpatialReason } from '../fusion/rerank.js';
import { defaultFusionOptions, fuse, type FusedHit, type FusionOptions, type RankedHit, type RankedList, type SourceName } from '../fusion/fuse.js';
import { tokenize } from '../indexes/tokenize.js';
import { Sagasu, type SagasuOptions, type SearchHit, type StageTimings } from '../sagasu.js';
import {
  calibrationFeatureNames,
  calibrationFeatures,
  calibrationModelVersion,
  fitLogistic,
  predictConfidence,
  type CalibrationModel,
} from './retrieval-calibration.js';
import { loadGallery, type EvalCollection, type GalleryItem } from './retrieval-dataset.js';
import { atThreshold, chooseThreshold, defaultThresholds, median, summarizeRanks, type RankSummary, type ScoredAnswer, type ThresholdPoint } from './retrieval-metrics.js';
import { SeededRandom, allQueryTypes, generateQuery, hashString, syntheticQueryTypes, type QueryGeneratorOptions, type QueryType, type SyntheticQueryType } from './retrieval-queries.js';

/**
 * Sources as reported: each single source, `rrf` (the three fused by reciprocal rank, before
 * spatial verification) and `fused` (the engine's answer: rrf re-ranked by spatial verification).
 */
export const evalSources = ['visual', 'text', 'hash', 'rrf', 'fused'] as const;
export type EvalSource = (typeof evalSources)[number];

export interface RetrievalEvalOptions {
  /** Gallery folders (see retrieval-dataset.ts for the layouts); all are indexed together. Required. */
  galleries: string[];
  /** Query types to run. Default all (types a gallery cannot make, e.g. panels without annotations, are skipped). */
  types?: QueryType[];
  /** At most this many queries per collection and type (a seeded sample), for quick runs. Default: all. */
  limit?: number;
  /** Per-type overrides of `limit`, e.g. `{ 'store-photo': 120 }`. */
  typeLimits?: Partial<Record<QueryType, number>>;
  /** Appends each query's record to this file (JSON lines) as soon as it is done, so a long run that dies keeps its work. */
  recordsLog?: string;
  /** Seeds query generation, the held-out images and the calibration split. Default 1. */
  seed?: number | string;
  /** Share of each collection left out of the index; queries made from them must find nothing confidently. Default 0.1. */
  holdout?: number;
  /** Run OCR (text source). Default true. */
  ocr?: boolean;
  /** Fusion settings of the engine under test (and the baseline of the sweep). Default the engine's. */
  fusion?: FusionOptions;
  /** Largest share of not-indexed queries allowed a confident answer when the threshold is chosen. Default 0.05. */
  maxFalsePositiveRate?: number;
  /** Where the temporary data directory and query images go. Default a new folder under the OS temp dir. */
  workDir?: string;
  /** Keep the work folder (index and query images) afterwards. Default false. */
  keep?: boolean;
  /** Queries searched at once (timings are per query either way, but noisier above 1). Default 1. */
  concurrency?: number;
  /** Also rank every query with other fusion settings (from the kept lists, no new searches). Default false. */
  sweep?: boolean | FusionSweepGrid;
  /** Extra engine options (tests pass fakes or `ocr: false`). */
  engine?: Partial<SagasuOptions>;
  queryGenerator?: Partial<QueryGeneratorOptions>;
  /** Progress: indexing and querying counts, for a progress line. */
  onProgress?: (event: { stage: 'index' | 'query'; done: number; total: number }) => void;
}

export const defaultRetrievalEvalOptions = {
  seed: 1,
  holdout: 0.1,
  ocr: true,
  maxFalsePositiveRate: 0.05,
  concurrency: 1,
  keep: false,
};

/** How many hits the fused search returns per query (ranks beyond count as not found). */
export const fusedHitsKept = 50;
/** The engine fuses lists of max(50, 5k) candidates per source; records keep that many so offline fusion matches it. */
const candidatesPerSource = Math.max(50, fusedHitsKept * 5);

export interface CompactHit {
  id: number;
  score: number;
  detail?: Record<string, unknown>;
}

/** One query, searched every way: enough to recompute every metric and refuse nothing later. */
export interface QueryRecord {
  /** `<type>:<identity or photo path>`. */
  id: string;
  collection: string;
  type: QueryType;
  /** The identity the query shows (held out of the index when `positive` is false). */
  expected: string;
  /** Whether `expected` is indexed. */
  positive: boolean;
  tags: string[];
  note?: string;
  /** Where the query image was written (under the work folder). */
  file?: string;
  error?: string;
  /** Wall time of preparing (decode, OCR, embed) plus the fused search, in ms. */
  ms: number;
  timings: StageTimings;
  queryText: string;
  queryTerms: number;
  /** Each source's ranked candidates (image ids), as the engine fuses them. */
  lists: Partial<Record<SourceName, CompactHit[]>>;
  /** The engine's fused answer (top hits with its confidence). */
  fused: Array<{ id: number; score: number; confidence: number }>;
  /**
   * The engine's threshold for a confident answer (its calibration model's). Records written
   * before it was kept have none: their confidences are the heuristic's.
   */
  threshold?: number;
  /** Spatial verification of the candidates the engine checked, by image id. */
  spatial?: Record<number, SpatialReason>;
  /** Rank of `expected` per source (0: not found). */
  ranks: Record<EvalSource, number>;
}

export interface ReportRow {
  collection: string;
  /** Query type, or `type/tag` for a tagged subset (e.g. `store-photo/packaged`). */
  type: string;
  n: number;
  metrics: Record<EvalSource, RankSummary>;
  medianMs: number;
  /** Whether fused recall@1 is at least that of every single source that found anything at rank 1. */
  fusedBeatsSingles: boolean;
}

export interface SweepResult {
  fusion: { k: number; weights: Record<SourceName, number> };
  /** Mean of fused recall@1 over the (collection, type) rows with indexed queries. */
  meanRecallAt1: number;
  meanMrr: number;
  /** Fused recall@1 per row key `collection:type`. */
  recallAt1: Record<string, number>;
}

export interface CalibrationReport {
  model: CalibrationModel;
  fitQueries: number;
  evalQueries: number;
  /** On the evaluation half: each threshold's false-positive rate, accepted recall and precision. */
  thresholds: ThresholdPoint[];
  /** On the evaluation half, at the chosen threshold. */
  chosen: ThresholdPoint;
  /** Accepted recall per row on the evaluation half at the chosen threshold. */
  acceptedRecallByRow: Record<string, number>;
  /** Recall@1 on the evaluation half: RRF order vs the first 20 fused hits re-ordered by calibrated confidence. */
  rerank: { rrfRecallAt1: number; calibratedRecallAt1: number; rrfMrr: number; calibratedMrr: number };
}

export interface RetrievalReport {
  version: 1;
  createdAt: string;
  settings: {
    galleries: string[];
    types: string[];
    limit: number | null;
    typeLimits: Partial<Record<QueryType, number>>;
    seed: number | string;
    holdout: number;
    ocr: boolean;
    fusion: { k: number; weights: Record<SourceName, number> };
    maxFalsePositiveRate: number;
  };
  indexed: {
    images: number;
    seconds: number;
    failed: number;
    heldOut: number;
    /**
     * The engine's warnings while indexing and querying (e.g. "region vectors skipped"): evidence
     * it dropped, so figures of a run with any are not comparable with one without.
     */
    warnings?: string[];
  };
  queries: { total: number; positive: number; negative: number; failed: number; skipped: number };
  rows: ReportRow[];
  /** Not-indexed queries: the hand-set heuristic confidence of their top hit, at each threshold. */
  heuristic: { thresholds: ThresholdPoint[]; chosenThreshold: number; chosen: ThresholdPoint };
  /**
   * The engine's own answers, as a user gets them: its confidence (the calibration model it was
   * opened with, or the heuristic with `calibration: false`) against its threshold. This is the
   * false-positive rate the engine ships with.
   */
  engine?: {
    threshold: number;
    point: ThresholdPoint;
    acceptedRecallByRow: Record<string, number>;
    /** Held-out images with at least one query answered confidently, of all held out (each makes a query of every type). */
    heldOutImagesAnswered: number;
    heldOutImages: number;
  };
  calibration?: CalibrationReport;
  sweep?: SweepResult[];
  /** Image id -> identities (a gallery image indexed twice under the same bytes has two). */
  images: Record<number, string[]>;
  /** The work folder, when it was kept. */
  workDir?: string;
  records?: QueryRecord[];
}

export interface FusionSweepGrid {
  k: number[];
  /** Weights relative to visual (fixed at 1: RRF ranks do not change when all weights scale together). */
  text: number[];
  hash: number[];
}

export const defaultFusionSweepGrid: FusionSweepGrid = {
  k: [1, 5, 10, 20, 40, 60, 100],
  text: [0, 0.25, 0.5, 1, 2, 4],
  hash: [0, 1, 2, 4, 8],
};

interface PlannedQuery {
  collection: EvalCollection;
  type: QueryType;
  positive: boolean;
  item?: GalleryItem;
  photo?: { path: string; expectedId: string; tags: string[] };
}

function heldOutIds(collections: EvalCollection[], holdout: number, seed: number | string): Set<string> {
  const out = new Set<string>();
  if (holdout <= 0) return out;
  for (const c of collections) {
    const count = Math.min(c.items.length - 1, Math.max(c.items.length >= 4 ? 1 : 0, Math.round(holdout * c.items.length)));
    const order = new SeededRandom(`${seed}|holdout|${c.name}`).shuffle(c.items.map((i) => i.id).sort());
    for (const id of order.slice(0, Math.max(0, count))) out.add(id);
  }
  return out;
}

function planQueries(
  collections: EvalCollection[],
  types: readonly QueryType[],
  heldOut: Set<string>,
  limits: { limit?: number | undefined; typeLimits?: Partial<Record<QueryType, number>> | undefined },
  seed: number | string,
): PlannedQuery[] {
  const planned: PlannedQuery[] = [];
  for (const collection of collections) {
    for (const type of types) {
      let group: PlannedQuery[];
      if (type === 'store-photo') {
        group = collection.realQueries
          .filter((q) => q.type === type)
          .map((q) => ({ collection, type, positive: !heldOut.has(q.expectedId), photo: { path: q.path, expectedId: q.expectedId, tags: q.tags ?? [] } }));
      } else {
        if (type === 'panel' && !collection.items.some((i) => i.frames?.length)) continue;
        if (type === 'bubble' && !collection.items.some((i) => i.texts?.length)) continue;
        group = collection.items.map((item) => ({ collection, type, positive: !heldOut.has(item.id), item }));
      }
      const limit = limits.typeLimits?.[type] ?? limits.limit;
      if (limit !== undefined) {
        // Sample indexed and held-out queries separately, so a small run still measures both.
        const rng = new SeededRandom(`${seed}|limit|${collection.name}|${type}`);
        const pos = rng.shuffle(group.filter((q) => q.positive)).slice(0, limit);
        const neg = rng.shuffle(group.filter((q) => !q.positive)).slice(0, Math.max(1, Math.ceil(limit / 5)));
        group = [...pos, ...neg];
      }
      planned.push(...group);
    }
  }
  return planned;
}

const toCompact = (hit: SearchHit, source: SourceName): CompactHit => {
  const reason = hit.reasons[source];
  return { id: hit.imageId, score: reason?.score ?? hit.score, ...(reason?.detail ? { detail: reason.detail } : {}) };
};

/** Runs the whole evaluation (index, query, analyse). Closes everything it opened, and removes the work folder unless `keep`. */
export async function runRetrievalEval(options: RetrievalEvalOptions): Promise<RetrievalReport> {
  if (!options.galleries?.length) throw new SagasuError('INVALID_OPTION', 'eval needs at least one gallery folder');
  const opts = { ...defaultRetrievalEvalOptions, ...options };
  if (!(opts.holdout >= 0 && opts.holdout < 1)) throw new SagasuError('INVALID_OPTION', `holdout must be in [0, 1), got ${opts.holdout}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1)) throw new SagasuError('INVALID_OPTION', `limit must be a whole number >= 1, got ${opts.limit}`);
  const types = opts.types ?? [...allQueryTypes];
  for (const type of types) if (!(allQueryTypes as readonly string[]).includes(type)) throw new SagasuError('INVALID_OPTION', `unknown query type "${type}" (${allQueryTypes.join(', ')})`);
  const fusion = {
    k: opts.fusion?.k ?? opts.engine?.fusion?.k ?? defaultFusionOptions.k,
    weights: { ...defaultFusionOptions.weights, ...opts.engine?.fusion?.weights, ...opts.fusion?.weights },
  };

  const collections = (await Promise.all(opts.galleries.map((g) => loadGallery(g)))).flat();
  const names = new Set<string>();
  for (const c of collections) {
    if (names.has(c.name)) throw new SagasuError('INVALID_OPTION', `two galleries are both named "${c.name}"; rename one`);
    names.add(c.name);
  }
  const heldOut = heldOutIds(collections, opts.holdout, opts.seed);
  const identityByPath = new Map<string, string>();
  for (const c of collections) for (const item of c.items) identityByPath.set(resolve(item.path), item.id);

  const workDir = opts.workDir ? resolve(opts.workDir) : mkdtempSync(join(tmpdir(), 'sagasu-eval-'));
  mkdirSync(join(workDir, 'queries'), { recursive: true });
  // The engine's own calibration (its default unless the options give one): records keep the
  // confidence a user would see, and the heuristic is replayed from the lists as the baseline.
  // No verification time budget: quality figures must not depend on how busy the machine is
  // (the budget guards latency, which `npm run bench` measures).
  // Nor on its time limits: on a loaded machine a page's 20 region embeddings can outlast the
  // default 30 s, and the page is then indexed without them (seen with three evaluations at once).
  const warnings: string[] = [];
  const engine = await Sagasu.open({
    verification: { budgetMs: Infinity },
    timeouts: { ocrMs: 3_600_000, embedMs: 3_600_000 },
    logger: { info: () => {}, warn: (message) => warnings.push(message) },
    ...opts.engine,
    dataDir: join(workDir, 'data'),
    fusion,
    ...(opts.ocr ? {} : { ocr: false }),
  });
  try {
    const toIndex = collections.flatMap((c) => c.items).filter((item) => !heldOut.has(item.id));
    const indexStart = performance.now();
    let indexed = 0;
    const summary = await engine.indexPaths(
      toIndex.map((item) => resolve(item.path)),
      { onFile: (event) => opts.onProgress?.({ stage: 'index', done: ++indexed, total: event.total }) },
    );
    const indexSeconds = (performance.now() - indexStart) / 1000;

    // Which identities each indexed image stands for (one, unless two gallery files have the same bytes).
    const images: Record<number, string[]> = {};
    for (const { id } of engine.store.imageKeys()) {
      const paths = engine.store.sourcesOf(id).map((s) => s.path).filter((p): p is string => !!p);
      images[id] = [...new Set(paths.map((p) => identityByPath.get(resolve(p))).filter((i): i is string => !!i))];
    }
    const identitiesOf = (hit: SearchHit): string[] => images[hit.imageId] ?? [];
    if (opts.recordsLog) writeFileSync(opts.recordsLog, JSON.stringify({ images }) + '\n');

    // A seeded order across collections and types: a run cut short still holds a fair sample of every row.
    const planned = new SeededRandom(`${opts.seed}|order`).shuffle(planQueries(collections, types, heldOut, { limit: opts.limit, typeLimits: opts.typeLimits }, opts.seed));
    const records: QueryRecord[] = [];
    let skipped = 0;
    let next = 0;
    let done = 0;
    const singleK = Math.min(1000, candidatesPerSource);
    const runOne = async (plan: PlannedQuery): Promise<QueryRecord | undefined> => {
      const expected = plan.item?.id ?? plan.photo!.expectedId;
      const id = `${plan.type}:${plan.item?.id ?? `${plan.collection.name}/${plan.photo!.path.slice(plan.collection.root.length + 1)}`}`;
      const tags = plan.item?.tags ?? plan.photo?.tags ?? [];
      let bytes: Buffer;
      let note: string | undefined;
      let file: string | undefined;
      if (plan.item) {
        const generated = await generateQuery(plan.type as SyntheticQueryType, plan.item, readFileSync(plan.item.path), opts.seed, opts.queryGenerator);
        if (!generated) return undefined;
        bytes = generated.bytes;
        note = generated.note;
        file = join(workDir, 'queries', `${String(hashString(id)).padStart(10, '0')}-${plan.type}${generated.ext}`);
        writeFileSync(file, bytes);
      } else {
        bytes = readFileSync(plan.photo!.path);
        file = plan.photo!.path;
      }
      const record: QueryRecord = {
        id,
        collection: plan.collection.name,
        type: plan.type,
        expected,
        positive: plan.positive,
        tags,
        ...(note ? { note } : {}),
        file,
        ms: NaN,
        timings: {},
        queryText: '',
        queryTerms: 0,
        lists: {},
        fused: [],
        ranks: { visual: 0, text: 0, hash: 0, rrf: 0, fused: 0 },
      };
      try {
        const began = performance.now();
        const prepared = await engine.prepareQuery(bytes, { ocr: opts.ocr });
        const fusedResult = await engine.search({ prepared }, { k: fusedHitsKept, fusion });
        record.ms = performance.now() - began;
        record.timings = { ...fusedResult.timings };
        record.queryText = fusedResult.queryText.slice(0, 400);
        record.queryTerms = new Set(tokenize(fusedResult.queryText)).size;
        record.fused = fusedResult.hits.map((h) => ({ id: h.imageId, score: h.score, confidence: h.confidence }));
        record.threshold = fusedResult.confidenceThreshold;
        record.ranks.fused = rankInHits(fusedResult.hits, identitiesOf, expected);
        const spatial = fusedResult.hits.filter((h) => h.reasons.spatial).map((h) => [h.imageId, h.reasons.spatial!] as const);
        if (spatial.length) record.spatial = Object.fromEntries(spatial);
        for (const source of ['visual', 'text', 'hash'] as const) {
          // Each source alone, as it ranks without spatial verification.
          const single = await engine.search({ prepared }, { k: singleK, sources: [source], fusion, verify: false });
          record.lists[source] = single.hits.map((h) => toCompact(h, source));
          record.ranks[source] = rankInHits(single.hits, identitiesOf, expected);
        }
        record.ranks.rrf = rankInFused(fuseRecord(record, fusion, { verified: false }), images, expected);
      } catch (error) {
        if (!isSagasuError(error)) throw error;
        record.error = `${error.code}: ${error.message}`;
      }
      return record;
    };
    const worker = async () => {
      while (next < planned.length) {
        const plan = planned[next++]!;
        const record = await runOne(plan);
        if (record) {
          records.push(record);
          if (opts.recordsLog) appendFileSync(opts.recordsLog, JSON.stringify(record) + '\n');
        } else skipped++;
        opts.onProgress?.({ stage: 'query', done: ++done, total: planned.length });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
    records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    const report: RetrievalReport = {
      version: 1,
      createdAt: new Date().toISOString(),
      settings: {
        galleries: opts.galleries.map((g) => resolve(g)),
        types: [...types],
        limit: opts.limit ?? null,
        typeLimits: opts.typeLimits ?? {},
        seed: opts.seed,
        holdout: opts.holdout,
        ocr: opts.ocr,
        fusion,
        maxFalsePositiveRate: opts.maxFalsePositiveRate,
      },
      indexed: { images: summary.added + summary.linked + summary.unchanged + summary.updated, seconds: indexSeconds, failed: summary.failed.length, heldOut: heldOut.size, ...(warnings.length ? { warnings } : {}) },
      queries: {
        total: records.length,
        positive: records.filter((r) => r.positive).length,
        negative: records.filter((r) => !r.positive).length,
        failed: records.filter((r) => r.error).length,
        skipped,
      },
      images,
      ...(opts.keep ? { workDir } : {}),
      ...analyseRecords(records, images, { seed: opts.seed, maxFalsePositiveRate: opts.maxFalsePositiveRate, fusion, sweep: opts.sweep ?? false }),
      records,
    };
    return report;
  } finally {
    await engine.close();
    if (!opts.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

function rankInHits(hits: readonly SearchHit[], identitiesOf: (hit: SearchHit) => string[], expected: string): number {
  const index = hits.findIndex((hit) => identitiesOf(hit).includes(expected));
  return index + 1;
}

const rowKey = (collection: string, type: string) => `${collection}:${type}`;

/** The analysis of a run, from its records alone (so a saved report can be re-analysed). */
export function analyseRecords(
  records: readonly QueryRecord[],
  images: Record<number, string[]>,
  options: { seed: number | string; maxFalsePositiveRate: number; fusion: { k: number; weights: Record<SourceName, number> }; sweep: boolean | FusionSweepGrid },
): Pick<RetrievalReport, 'rows' | 'heuristic' | 'engine' | 'calibration' | 'sweep'> {
  const rows = reportRows(records);
  const usable = records.filter((r) => !r.error);
  const heuristicAnswers: ScoredAnswer[] = usable.map((r) => ({
    confidence: heuristicConfidenceOf(r, options.fusion),
    correct: r.positive && r.ranks.fused === 1,
    positive: r.positive,
  }));
  const heuristicThreshold = chooseThreshold(heuristicAnswers, options.maxFalsePositiveRate);
  const heuristic = {
    thresholds: defaultThresholds.map((t) => atThreshold(heuristicAnswers, t)),
    chosenThreshold: heuristicThreshold,
    chosen: atThreshold(heuristicAnswers, heuristicThreshold),
  };
  const engine = engineAnswers(usable);
  const calibration = calibrate(records, images, options);
  const sweep = options.sweep ? sweepFusion(records, images, options.sweep === true ? defaultFusionSweepGrid : options.sweep) : undefined;
  return { rows, heuristic, ...(engine ? { engine } : {}), ...(calibration ? { calibration } : {}), ...(sweep ? { sweep } : {}) };
}

/** The heuristic confidence of the engine's first answer; a record without a threshold already holds it. */
function heuristicConfidenceOf(record: QueryRecord, fusion: FusionOptions): number {
  if (record.threshold === undefined) return record.fused[0]?.confidence ?? 0;
  const first = fuseRecord(record, fusion)[0];
  return first ? heuristicConfidence({ reasons: first.reasons, queryTerms: record.queryTerms }) : 0;
}

/** How the engine's own answers fare at its own threshold (records that kept it). */
function engineAnswers(records: readonly QueryRecord[]): RetrievalReport['engine'] | undefined {
  const judged = records.filter((r) => r.threshold !== undefined);
  if (judged.length === 0) return undefined;
  const threshold = judged[0]!.threshold!;
  const answered = (r: QueryRecord) => (r.fused[0]?.confidence ?? 0) >= r.threshold!;
  // Each record against its own threshold (they are all the same engine's); atThreshold at 0.5 of a 0/1 confidence.
  const answers: ScoredAnswer[] = judged.map((r) => ({ confidence: answered(r) ? 1 : 0, correct: r.positive && r.ranks.fused === 1, positive: r.positive }));
  const acceptedRecallByRow: Record<string, number> = {};
  for (const row of reportRows(judged)) {
    const inRow = judged.filter((r) => inReportRow(r, row));
    acceptedRecallByRow[rowKey(row.collection, row.type)] = inRow.length ? inRow.filter((r) => r.ranks.fused === 1 && answered(r)).length / inRow.length : NaN;
  }
  const negatives = judged.filter((r) => !r.positive);
  const heldOutImagesAnswered = new Set(negatives.filter(answered).map((r) => r.expected)).size;
  const heldOutImages = new Set(negatives.map((r) => r.expected)).size;
  return { threshold, point: { ...atThreshold(answers, 0.5), threshold }, acceptedRecallByRow, heldOutImagesAnswered, heldOutImages };
}

/** Whether an indexed image's query counts in a report row (`type`, or `type/tag` for a tagged subset). */
function inReportRow(record: QueryRecord, row: Pick<ReportRow, 'collection' | 'type'>): boolean {
  const [type, tag] = row.type.split('/');
  return record.positive && record.collection === row.collection && record.type === type && (tag === undefined || record.tags.includes(tag));
}

export function reportRows(records: readonly QueryRecord[]): ReportRow[] {
  const groups = new Map<string, { collection: string; type: string; records: QueryRecord[] }>();
  const add = (collection: string, type: string, record: QueryRecord) => {
    const key = rowKey(collection, type);
    const group = groups.get(key) ?? { collection, type, records: [] };
    group.records.push(record);
    groups.set(key, group);
  };
  for (const record of records) {
    if (!record.positive) continue;
    add(record.collection, record.type, record);
    for (const tag of record.tags) add(record.collection, `${record.type}/${tag}`, record);
  }
  const typeOrder = (type: string) => {
    const base = allQueryTypes.indexOf(type.split('/')[0] as QueryType);
    return base * 10 + (type.includes('/') ? 1 : 0);
  };
  return [...groups.values()]
    .sort((a, b) => (a.collection < b.collection ? -1 : a.collection > b.collection ? 1 : typeOrder(a.type) - typeOrder(b.type) || (a.type < b.type ? -1 : 1)))
    .map(({ collection, type, records: group }) => {
      const metrics = Object.fromEntries(evalSources.map((s) => [s, summarizeRanks(group.map((r) => r.ranks[s] ?? 0))])) as Record<EvalSource, RankSummary>;
      const best = Math.max(metrics.visual.recallAt1, metrics.text.recallAt1, metrics.hash.recallAt1);
      return {
        collection,
        type,
        n: group.length,
        metrics,
        medianMs: median(group.map((r) => r.ms).filter(Number.isFinite)),
        fusedBeatsSingles: metrics.fused.recallAt1 >= best,
      };
    });
}

/**
 * Rebuilds the engine's fused list from a record's per-source lists (same function, same
 * candidates), re-ranked by the spatial verification the engine did and its dominant-text rule,
 * unless `verified` is false (then: the sources fused, nothing more). With other fusion settings
 * the head may hold candidates the engine did not verify: they keep their fused order, so a sweep
 * measures fusion settings, not verification.
 */
export function fuseRecord(record: QueryRecord, fusion: FusionOptions, options: { verified?: boolean } = {}): FusedHit[] {
  const lists: RankedList[] = [];
  for (const source of ['visual', 'text', 'hash'] as const) {
    const hits = record.lists[source];
    if (hits) lists.push({ source, hits: hits.slice(0, candidatesPerSource) as ReadonlyArray<RankedHit<Record<string, unknown>>> });
  }
  const fused = fuse(lists, fusion);
  if (options.verified === false) return fused;
  const verified = record.spatial ? rerankByVerification(fused, new Map(Object.entries(record.spatial).map(([id, reason]) => [Number(id), reason]))) : fused;
  return promoteDominantText(verified, record.queryTerms);
}

function rankInFused(fused: readonly FusedHit[], images: Record<number, string[]>, expected: string, keep = fusedHitsKept): number {
  const n = Math.min(keep, fused.length);
  for (let i = 0; i < n; i++) if ((images[fused[i]!.id] ?? []).includes(expected)) return i + 1;
  return 0;
}

/** Seeded half of the identities (all queries of one identity fall on the same side, so nothing leaks). */
function inFitHalf(record: QueryRecord, seed: number | string): boolean {
  return hashString(`${seed}|calibration|${record.expected}`) % 2 === 0;
}

/** Hits of each query given to the regression: the top few carry nearly all the signal about right and wrong. */
const calibrationHitsPerQuery = 3;
const rerankDepth = 20;

/** Records with the gallery images their ids stand for (each run indexes the gallery anew). */
export interface RecordedRun {
  records: readonly QueryRecord[];
  images: Record<number, string[]>;
}

/**
 * A saved run: the JSON of `sagasu eval --report <file>` (with the rest of its report), or its
 * `.records.jsonl` log, which is written while the run goes, so an interrupted run can be read.
 */
export function readSavedRun(file: string): RecordedRun & { records: QueryRecord[]; report?: Partial<RetrievalReport> } {
  const text = readFileSync(file, 'utf8');
  let run: RecordedRun & { records: QueryRecord[]; report?: Partial<RetrievalReport> };
  if (file.endsWith('.jsonl')) {
    const lines = text.split('\n').filter((line) => line.trim());
    const images = (JSON.parse(lines[0]!) as { images: Record<number, string[]> }).images;
    run = { images, records: lines.slice(1).map((line) => JSON.parse(line) as QueryRecord) };
  } else {
    const report = JSON.parse(text) as Partial<RetrievalReport>;
    if (!report.records || !report.images) throw new SagasuError('INVALID_OPTION', `${file} has no records (write it with sagasu eval --report)`);
    run = { images: report.images, records: report.records, report };
  }
  // JSON turned NaN timings into null.
  for (const record of run.records) if (typeof record.ms !== 'number') record.ms = NaN;
  return run;
}

/** The engine's first answer to a recorded query, scored by `model`. */
export function calibratedAnswer(record: QueryRecord, images: Record<number, string[]>, model: CalibrationModel, fusion: FusionOptions): ScoredAnswer {
  const fused = fuseRecord(record, fusion);
  const confidence = fused.length ? predictConfidence(model, calibrationFeatures(fused, 0, record.queryTerms)) : 0;
  return { confidence, positive: record.positive, correct: record.positive && rankInFused(fused, images, record.expected, 1) === 1 };
}

/**
 * Fits the calibrated confidence on recorded queries (their first few fused hits, right or
 * wrong) and puts its threshold where at most `maxFalsePositiveRate` of their not-indexed
 * queries get a confident answer. Undefined when the records cannot teach it anything (no right
 * or no wrong hit).
 */
export function fitCalibration(
  runs: readonly RecordedRun[],
  options: { maxFalsePositiveRate: number; fusion: FusionOptions; hitsPerQuery?: number; l2?: number },
): { model: CalibrationModel; queries: number; hits: number } | undefined {
  const hitsPerQuery = options.hitsPerQuery ?? calibrationHitsPerQuery;
  const samples: number[][] = [];
  const labels: boolean[] = [];
  for (const { records, images } of runs) {
    for (const record of records) {
      const fused = fuseRecord(record, options.fusion);
      for (let i = 0; i < Math.min(hitsPerQuery, fused.length); i++) {
        samples.push(calibrationFeatures(fused, i, record.queryTerms));
        labels.push(record.positive && (images[fused[i]!.id] ?? []).includes(record.expected));
      }
    }
  }
  if (samples.length < 4 || !labels.some(Boolean) || labels.every(Boolean)) return undefined;
  const fitted = fitLogistic(samples, labels, options.l2 === undefined ? {} : { l2: options.l2 });
  const model: CalibrationModel = { version: calibrationModelVersion, features: [...calibrationFeatureNames], ...fitted, threshold: 0.5 };
  model.threshold = chooseThreshold(
    runs.flatMap(({ records, images }) => records.map((record) => calibratedAnswer(record, images, model, options.fusion))),
    options.maxFalsePositiveRate,
  );
  return { model, queries: runs.reduce((n, run) => n + run.records.length, 0), hits: samples.length };
}

function calibrate(
  records: readonly QueryRecord[],
  images: Record<number, string[]>,
  options: { seed: number | string; maxFalsePositiveRate: number; fusion: FusionOptions },
): CalibrationReport | undefined {
  const usable = records.filter((r) => !r.error);
  const fitRecords = usable.filter((r) => inFitHalf(r, options.seed));
  const evalRecords = usable.filter((r) => !inFitHalf(r, options.seed));
  if (evalRecords.length === 0) return undefined;
  const fit = fitCalibration([{ records: fitRecords, images }], options);
  if (!fit) return undefined;
  const { model } = fit;
  model.fittedOn = { queries: fit.queries, hits: fit.hits, seed: options.seed, maxFalsePositiveRate: options.maxFalsePositiveRate, fusion: options.fusion };
  const answersOf = (group: readonly QueryRecord[]) => group.map((record) => ({ record, answer: calibratedAnswer(record, images, model, options.fusion) }));
  const judged = answersOf(evalRecords);
  const answers = judged.map((j) => j.answer);
  const acceptedRecallByRow: Record<string, number> = {};
  for (const row of reportRows(evalRecords)) {
    const inRow = judged.filter(({ record }) => inReportRow(record, row));
    acceptedRecallByRow[rowKey(row.collection, row.type)] = inRow.length ? inRow.filter(({ answer }) => answer.correct && answer.confidence >= model.threshold).length / inRow.length : NaN;
  }
  // Re-ordering the head of the fused list by calibrated confidence: fusion that knows how sure each source is.
  const rrfRanks: number[] = [];
  const calibratedRanks: number[] = [];
  for (const record of evalRecords.filter((r) => r.positive)) {
    const fused = fuseRecord(record, options.fusion);
    rrfRanks.push(rankInFused(fused, images, record.expected));
    const head = fused.slice(0, rerankDepth).map((hit, i) => ({ hit, p: predictConfidence(model, calibrationFeatures(fused, i, record.queryTerms)) }));
    head.sort((a, b) => b.p - a.p);
    calibratedRanks.push(rankInFused([...head.map((h) => h.hit), ...fused.slice(rerankDepth)], images, record.expected));
  }
  const rrf = summarizeRanks(rrfRanks);
  const calibrated = summarizeRanks(calibratedRanks);
  return {
    model,
    fitQueries: fitRecords.length,
    evalQueries: evalRecords.length,
    thresholds: defaultThresholds.map((t) => atThreshold(answers, t)),
    chosen: atThreshold(answers, model.threshold),
    acceptedRecallByRow,
    rerank: { rrfRecallAt1: rrf.recallAt1, calibratedRecallAt1: calibrated.recallAt1, rrfMrr: rrf.mrr, calibratedMrr: calibrated.mrr },
  };
}

/** Fused recall@1 and MRR of every fusion setting in the grid, from the kept lists (no new searches). */
export function sweepFusion(records: readonly QueryRecord[], images: Record<number, string[]>, grid: FusionSweepGrid): SweepResult[] {
  const positives = records.filter((r) => r.positive && !r.error);
  const results: SweepResult[] = [];
  for (const k of grid.k) {
    for (const text of grid.text) {
      for (const hash of grid.hash) {
        const fusion = { k, weights: { visual: 1, text, hash } };
        const byRow = new Map<string, { ranks: number[] }>();
        for (const record of positives) {
          const rank = rankInFused(fuseRecord(record, fusion), images, record.expected);
          const key = rowKey(record.collection, record.type);
          const entry = byRow.get(key) ?? { ranks: [] };
          entry.ranks.push(rank);
          byRow.set(key, entry);
        }
        const recallAt1: Record<string, number> = {};
        let sumR1 = 0;
        let sumMrr = 0;
        for (const [key, { ranks }] of byRow) {
          const s = summarizeRanks(ranks);
          recallAt1[key] = s.recallAt1;
          sumR1 += s.recallAt1;
          sumMrr += s.mrr;
        }
        results.push({ fusion, meanRecallAt1: byRow.size ? sumR1 / byRow.size : NaN, meanMrr: byRow.size ? sumMrr / byRow.size : NaN, recallAt1 });
      }
    }
  }
  return results.sort((a, b) => b.meanRecallAt1 - a.meanRecallAt1 || b.meanMrr - a.meanMrr);
}

// ---------------------------------------------------------------------------------------------
// Printing

const pct = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '  - ');
const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padLeft = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

/** The report as plain-text tables: metrics per row and source, false positives, calibration, sweep. */
export function formatReport(report: RetrievalReport, options: { sweepRows?: number } = {}): string {
  const lines: string[] = [];
  const s = report.settings;
  lines.push(
    `sagasu eval: ${report.indexed.images} images indexed in ${report.indexed.seconds.toFixed(1)} s (${report.indexed.heldOut} held out, ${report.indexed.failed} failed); ` +
      `${report.queries.total} queries (${report.queries.positive} of indexed images, ${report.queries.negative} of held-out ones, ${report.queries.failed} failed, ${report.queries.skipped} not applicable)`,
  );
  if (report.indexed.warnings?.length) {
    lines.push(`${report.indexed.warnings.length} engine warnings (evidence dropped; not comparable with a run without): ${[...new Set(report.indexed.warnings)].slice(0, 3).join('; ')}`);
  }
  lines.push(`seed ${s.seed}, OCR ${s.ocr ? 'on' : 'off'}, fusion k=${s.fusion.k} weights visual=${s.fusion.weights.visual} text=${s.fusion.weights.text} hash=${s.fusion.weights.hash}${s.limit ? `, limit ${s.limit} per type` : ''}`);
  lines.push('');
  const head = `${pad('collection', 12)} ${pad('query type', 22)} ${padLeft('n', 4)} | ${evalSources.map((src) => pad(`${src} R@1 R@5 MRR`, 20)).join('| ')}| ${padLeft('ms', 6)}  fused>=singles`;
  lines.push(head, '-'.repeat(head.length));
  for (const row of report.rows) {
    const cells = evalSources.map((src) => {
      const m = row.metrics[src];
      return pad(`${pct(m.recallAt1)} ${pct(m.recallAt5)} ${pct(m.mrr)}`, 20);
    });
    lines.push(`${pad(row.collection, 12)} ${pad(row.type, 22)} ${padLeft(String(row.n), 4)} | ${cells.join('| ')}| ${padLeft(Number.isFinite(row.medianMs) ? row.medianMs.toFixed(0) : '-', 6)}  ${row.fusedBeatsSingles ? 'yes' : 'NO'}`);
  }
  lines.push('');
  const h = report.heuristic;
  lines.push(
    `false positives (queries of held-out images answered with confidence >= threshold), hand-set heuristic confidence:`,
    `  threshold   FP rate   accepted recall   wrong answers   precision`,
  );
  const point = (p: ThresholdPoint, mark = '') =>
    `  ${padLeft(p.threshold.toFixed(3), 9)}   ${padLeft(pct(p.falsePositiveRate), 7)}   ${padLeft(pct(p.acceptedRecall), 15)}   ${padLeft(pct(p.wrongAnswerRate), 13)}   ${padLeft(pct(p.precision), 9)}${mark}`;
  for (const p of h.thresholds.filter((_, i) => i % 2 === 0)) lines.push(point(p));
  lines.push(point(h.chosen, `  <- lowest threshold with FP rate <= ${s.maxFalsePositiveRate}`));
  const e = report.engine;
  if (e) {
    lines.push('');
    lines.push(`the engine's answers (its own confidence against its threshold ${e.threshold.toFixed(3)}):`);
    lines.push(`  threshold   FP rate   accepted recall   wrong answers   precision`);
    lines.push(point(e.point, `  (${e.heldOutImagesAnswered} of ${e.heldOutImages} held-out images answered at least once)`));
    lines.push(`  accepted recall: ${Object.entries(e.acceptedRecallByRow).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
  }
  const c = report.calibration;
  if (c) {
    lines.push('');
    lines.push(`calibrated confidence (logistic regression on ${calibrationFeatureNames.length} per-source features; fitted on ${c.fitQueries} queries, judged on the other ${c.evalQueries}):`);
    lines.push(`  threshold   FP rate   accepted recall   wrong answers   precision`);
    for (const p of c.thresholds.filter((_, i) => i % 2 === 0)) lines.push(point(p));
    lines.push(point(c.chosen, `  <- chosen on the fit half (FP rate <= ${s.maxFalsePositiveRate} there)`));
    lines.push(`  accepted recall at the chosen threshold (evaluation half): ${Object.entries(c.acceptedRecallByRow).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
    lines.push(`  re-ranking the first ${rerankDepth} fused hits by calibrated confidence (evaluation half): R@1 ${pct(c.rerank.rrfRecallAt1)} -> ${pct(c.rerank.calibratedRecallAt1)}, MRR ${pct(c.rerank.rrfMrr)} -> ${pct(c.rerank.calibratedMrr)}`);
  }
  if (report.sweep?.length) {
    const shown = report.sweep.slice(0, options.sweepRows ?? 12);
    const base = report.sweep.find((r) => r.fusion.k === s.fusion.k && r.fusion.weights.text === s.fusion.weights.text / s.fusion.weights.visual && r.fusion.weights.hash === s.fusion.weights.hash / s.fusion.weights.visual);
    const keys = Object.keys(report.sweep[0]!.recallAt1).sort();
    lines.push('');
    lines.push(`fusion sweep (${report.sweep.length} settings, fused R@1 per row; best first):`);
    lines.push(`  ${pad('k', 4)} ${pad('text', 5)} ${pad('hash', 5)} ${padLeft('mean R@1', 8)} ${padLeft('MRR', 5)}  ${keys.map((k) => k.replace(/^([^:]{1,5})[^:]*:/, '$1:')).join(' | ')}`);
    const sweepLine = (r: SweepResult, mark = '') =>
      `  ${pad(String(r.fusion.k), 4)} ${pad(String(r.fusion.weights.text), 5)} ${pad(String(r.fusion.weights.hash), 5)} ${padLeft(pct(r.meanRecallAt1), 8)} ${padLeft(pct(r.meanMrr), 5)}  ${keys.map((k) => pct(r.recallAt1[k] ?? NaN)).join(' | ')}${mark}`;
    for (const r of shown) lines.push(sweepLine(r));
    if (base) lines.push(sweepLine(base, '  <- current setting'));
  }
  return lines.join('\n') + '\n';
}

/** The report as JSON; per-query records only when asked (they are large). */
export function reportToJson(report: RetrievalReport, options: { records?: boolean } = {}): string {
  const { records, ...rest } = report;
  return JSON.stringify(options.records ? report : rest, (_, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value));
}

export { syntheticQueryTypes, allQueryTypes };
