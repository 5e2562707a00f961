/**
 * Peak memory while indexing the bad-input corpus (test/helpers/bad-inputs.ts) with the real
 * engines:  npm run build && node dist/bench/bad-inputs.js
 * Prints each file's outcome, the time, and the peak RSS sampled every 10 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Sagasu } from '../src/sagasu.js';
import { writeBadInputCorpus } from '../test/helpers/bad-inputs.js';

const work = mkdtempSync(join(tmpdir(), 'sagasu-bench-bad-'));
const corpus = await writeBadInputCorpus(join(work, 'corpus'));
const engine = await Sagasu.open({ dataDir: join(work, 'data') });
const mib = (n: number) => (n / 2 ** 20).toFixed(0);
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const start = performance.now();
const summary = await engine.indexPaths(corpus.map((e) => e.file), {
  onFile: (event) => console.log(`${basename(event.path).padEnd(24)} ${event.error ? `${event.error.code}: ${event.error.message}` : event.result!.status}`),
});
clearInterval(sampler);
console.log(`\n${summary.total} files in ${((performance.now() - start) / 1000).toFixed(1)} s: ${summary.added} indexed, ${summary.failed.length} refused`);
console.log(`RSS before ${mib(baseline)} MiB, peak ${mib(peak)} MiB (sampled every 10 ms; includes OCR workers and the model)`);
await engine.close();
rmSync(work, { recursive: true, force: true });
