/**
 * hnswlib-node as installed (compiled with the default flags: SSE only) against a copy compiled
 * for this CPU, on the same vectors: build rate and search time. Same seed and insertion order,
 * so both build the same graph (recall is the same; only speed differs).
 *
 *   # a copy of node_modules/hnswlib-node (with node-addon-api) in /tmp/hnsw-native, then:
 *   CXXFLAGS="-O3 -march=native" node <npm>/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=<node prefix>
 *   npm run build && node dist/bench/native-flags.js --addon /tmp/hnsw-native/build/Release/addon.node [--n 20000] [--dims 1280,128]
 *
 * Vectors: clustered (groups of 4 around random centres, plus noise), unit length; searches ask
 * for 50 neighbours at efSearch 64, as the engine does.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/random.js';

const { values } = parseArgs({
  options: {
    addon: { type: 'string' },
    n: { type: 'string', default: '20000' },
    dims: { type: 'string', default: '1280,128' },
    queries: { type: 'string', default: '500' },
  },
});
if (!values.addon) throw new Error('--addon <path to a rebuilt addon.node> is required');
const require = createRequire(import.meta.url);
interface Hnsw {
  initIndex(options: { maxElements: number; m: number; efConstruction: number; randomSeed: number; allowReplaceDeleted: boolean }): void;
  setEf(ef: number): void;
  addPoint(point: number[], label: number, replaceDeleted?: boolean): void;
  searchKnn(query: number[], k: number): { neighbors: number[]; distances: number[] };
}
type HnswClass = new (space: string, dimension: number) => Hnsw;
const addons: Array<[string, HnswClass]> = [
  ['installed', (require('hnswlib-node') as { HierarchicalNSW: HnswClass }).HierarchicalNSW],
  ['-march=native', (require(values.addon) as { HierarchicalNSW: HnswClass }).HierarchicalNSW],
];
const n = Number(values.n);
const queryCount = Number(values.queries);

function vectors(d: number, count: number, seed: number): number[][] {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const rows: number[][] = [];
  let centre: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) centre = Array.from({ length: d }, gaussian);
    const row = centre.map((x) => x + 0.5 * gaussian());
    const norm = Math.hypot(...row);
    rows.push(row.map((x) => x / norm));
  }
  return rows;
}

const percentile = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * (v.length - 1) + 0.5))]!;

for (const d of values.dims!.split(',').map(Number)) {
  const data = vectors(d, n, 7);
  const queries = vectors(d, queryCount, 8);
  for (const [name, HierarchicalNSW] of addons) {
    const index = new HierarchicalNSW('cosine', d);
    index.initIndex({ maxElements: n, m: 16, efConstruction: 200, randomSeed: 100, allowReplaceDeleted: true });
    let start = performance.now();
    data.forEach((row, id) => index.addPoint(row, id, true));
    const buildS = (performance.now() - start) / 1000;
    index.setEf(64);
    const times: number[] = [];
    let firstIds = 0;
    for (const q of queries) {
      start = performance.now();
      const { neighbors } = index.searchKnn(q, 50);
      times.push(performance.now() - start);
      firstIds += neighbors[0]!;
    }
    console.log(
      `${d}-d, ${n} vectors, ${name.padEnd(14)} build ${(n / buildS).toFixed(0)} vectors/s; search k 50 ef 64: p50 ${percentile(times, 0.5).toFixed(3)} ms, p95 ${percentile(times, 0.95).toFixed(3)} ms (checksum ${firstIds})`,
    );
  }
}
