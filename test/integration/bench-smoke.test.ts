/**
 * `npm run bench` on a tiny run: every figure the performance issue asks for is printed, with a
 * number. The figures themselves are not judged here (timings belong in benchmarks, not tests);
 * this only keeps the benchmark runnable on a clean checkout, with nothing left out of its report.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fixturesDir, packageRoot } from '../helpers/paths.js';

const number = String.raw`\d+(?:\.\d+)?`;
let output = '';

before(() => {
  const run = spawnSync(
    process.execPath,
    [join(packageRoot, 'dist', 'bench', 'bench.js'), fixturesDir, '--queries', '3', '--scale-sizes', '1000'],
    { encoding: 'utf8', cwd: packageRoot, timeout: 15 * 60_000 },
  );
  output = run.stdout;
  assert.equal(run.status, 0, `bench failed:\n${run.stdout}\n${run.stderr}`);
});

describe('npm run bench', () => {
  it('prints median and p95 of the query end to end, stage by stage', () => {
    const table = output.slice(output.indexOf('query end to end'));
    assert.match(table, /stage +median ms +p95 ms +mean ms/);
    for (const stage of ['decode', 'ocr', 'embed', 'features', 'search', 'verify', 'total']) {
      assert.match(table, new RegExp(`\\n${stage} +${number} +${number} +${number}\\n`), `no ${stage} row`);
    }
  });

  it('prints ingest throughput with OCR on and off, and the CPU it used', () => {
    assert.match(output, new RegExp(`pipelined ingest \\(indexPaths, 3 in flight\\): \\d+ images in ${number} s = ${number} images/s .*CPU ${number} ms per image`));
    assert.match(output, new RegExp(`pipelined ingest with OCR off: \\d+ images in ${number} s = ${number} images/s`));
  });

  it('prints the peak memory of the ingest and query process', () => {
    assert.match(output, new RegExp(`memory: rss ${number} MiB now, peak ${number} MiB`));
  });

  it('prints, at each scale size, search-and-fuse, recall@10 against brute force, brute-force speed, start-up time and RSS', () => {
    const scale = output.slice(output.indexOf('1000 vectors'));
    assert.match(scale, new RegExp(`exact search on full vectors \\(JS loop, \\d+ queries in one pass\\): ${number} ms per query`));
    assert.match(scale, new RegExp(`open with snapshots ${number} s; RSS after open ${number} MiB, peak ${number} MiB`));
    assert.match(scale, new RegExp(`search-and-fuse \\(visual x2 \\+ text \\+ hash, k 10, \\d+ queries\\): p50 ${number} ms, p95 ${number} ms`));
    assert.match(scale, new RegExp(`recall@10 against exact search on the full vectors (0|1)\\.\\d{3}`));
  });
});
