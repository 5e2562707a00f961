/**
 * How much re-ranking precision each way of holding the full vectors in memory keeps.
 *
 *   npm run build && node dist/bench/rerank-copy.js --engine-dir <dir>
 *
 * <dir> is a data directory kept by `scale.js --engine --keep-engine-dir` with a reduction (it
 * holds the store, the PCA, queries.f32 and truth.json). For each query the exact top 100 by
 * cosine on the float32 vectors is re-ranked with each copy; the line is recall@10 against the
 * exact top 10. Only re-ranking precision is measured here (the graph's candidates are not
 * involved): 1.000 means the copy never changes the order that matters.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pca } from '../src/indexes/pca.js';
import { QuantizedVectors } from '../src/indexes/quantized-vectors.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { decodingTable, toFloat16Bits } from '../src/store/float16.js';

const { values } = parseArgs({ options: { 'engine-dir': { type: 'string' }, candidates: { type: 'string', default: '100' } } });
const dir = values['engine-dir'];
if (!dir) throw new Error('rerank-copy: --engine-dir <dir> is required');
const candidates = Number(values.candidates);

const store = SqliteStore.open(join(dir, 'sagasu.db'), { modelId: 'bench-vectors', dimension: 1280 });
const rows: Float32Array[] = [];
const ids: number[] = [];
for (const row of store.iterateIndexRows({ regions: false, pageSize: 5000 })) {
  rows.push(row.embedding);
  ids.push(row.id);
}
store.close();
const d = rows[0]!.length;
const bytes = readFileSync(join(dir, 'queries.f32'));
const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const queries = Array.from({ length: all.length / d }, (_, q) => all.slice(q * d, (q + 1) * d));
const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as number[][];
const pcaFile = readdirSync(dir).find((file) => file.startsWith('vector-index') && file.endsWith('.pca'));
if (!pcaFile) throw new Error(`rerank-copy: ${dir} has no PCA (run scale.js with --dims 128)`);
const pca = Pca.fromBuffer(readFileSync(join(dir, pcaFile)));
console.log(`rerank-copy: ${rows.length} vectors, ${queries.length} queries, exact top ${candidates} re-ranked`);

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < d; i++) s += a[i]! * b[i]!;
  return s;
};
const tops = queries.map((q) => rows.map((row, i) => ({ i, s: dot(q, row) })).sort((a, b) => b.s - a.s).slice(0, candidates).map((x) => x.i));

function report(name: string, score: (query: Float32Array, row: number) => number): void {
  let found = 0;
  queries.forEach((query, q) => {
    const order = tops[q]!.map((row) => ({ id: ids[row]!, s: score(query, row) })).sort((a, b) => b.s - a.s);
    const got = new Set(order.slice(0, 10).map((x) => x.id));
    found += truth[q]!.filter((id) => got.has(id)).length;
  });
  console.log(`${name.padEnd(58)} recall@10 ${(found / (10 * queries.length)).toFixed(3)}`);
}

const cosine = (query: Float32Array, vector: Float32Array) => dot(query, vector) / Math.sqrt(dot(vector, vector));
report('float32', (query, row) => cosine(query, rows[row]!));
const half = decodingTable();
report('float16', (query, row) => cosine(query, Float32Array.from(toFloat16Bits(rows[row]!), (bits) => half[bits]!)));

// 8 bits with one scale per vector.
report('8 bits, one scale per vector', (query, row) => {
  const v = rows[row]!;
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  const scale = max / 127 || 1;
  return cosine(query, v.map((x) => Math.round(x / scale) * scale));
});

// 8 bits with one offset (the mean) and step per dimension, from the first 1,000 vectors.
const sample = rows.slice(0, 1000);
const mean = new Float32Array(d);
for (const v of sample) for (let i = 0; i < d; i++) mean[i]! += v[i]! / sample.length;
const deviations = Array.from({ length: d }, (_, i) => sample.map((v) => Math.abs(v[i]! - mean[i]!)).sort((a, b) => a - b));
const sd = deviations.map((list) => Math.sqrt(list.reduce((s, x) => s + x * x, 0) / list.length));
const perDimension: Array<[string, Float32Array]> = [
  ['largest deviation x1.25', Float32Array.from(deviations, (list) => (list[list.length - 1]! * 1.25) / 127)],
  ['99.9th percentile', Float32Array.from(deviations, (list) => list[Math.floor(0.999 * (list.length - 1))]! / 127)],
  ['3 standard deviations', Float32Array.from(sd, (s) => (3 * s) / 127)],
  ['4 standard deviations', Float32Array.from(sd, (s) => (4 * s) / 127)],
  ['6 standard deviations', Float32Array.from(sd, (s) => (6 * s) / 127)],
];
for (const [name, step] of perDimension) {
  report(`8 bits per dimension, centred, step ${name}`, (query, row) =>
    cosine(query, rows[row]!.map((x, i) => mean[i]! + step[i]! * Math.max(-127, Math.min(127, Math.round((x - mean[i]!) / step[i]!))))),
  );
}

// The adopted copy: PCA coordinates as half floats + residual in 8 bits per dimension.
const copy = new QuantizedVectors(pca);
const wanted = new Set(tops.flat());
for (let row = 0; row < 1000; row++) copy.add(row, rows[row]!); // its sample, as in an index
for (const row of wanted) copy.add(row, rows[row]!);
report('adopted: PCA coordinates (half) + residual (8 bits, 6 sd)', (query, row) => copy.similarities(query, [row]).get(row)!);
