/**
 * kill -9 the real `sagasu index` at several points; after each restart every acknowledged image
 * must be searchable, nothing duplicated, and every index must agree with the store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Sagasu } from '../../src/sagasu.js';
import { blocksPng } from '../helpers/fakes.js';
import { packageRoot } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

const work = scratchDir('sagasu-crash-');
const gallery = join(work, 'gallery');
const data = join(work, 'data');
const total = 14;

/** Runs the indexer; kills it with SIGKILL right after `killAfter` acknowledgements (Infinity: let it finish). */
function indexUntilKilled(killAfter: number): Promise<{ acknowledged: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot, 'bin', 'sagasu.js'), 'index', gallery, '--data', data, '--no-ocr', '--jsonl'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged: string[] = [];
    let killed = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { path?: string; status?: string; summary?: unknown };
      if (event.path && event.status) acknowledged.push(event.path);
      if (!killed && acknowledged.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr!.resume();
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`indexer exited with ${code}`));
      else resolve({ acknowledged, killed: signal === 'SIGKILL' });
    });
  });
}

describe('crash safety of indexing', () => {
  it('keeps every acknowledged image, without duplicates, across kill -9 at several points', async () => {
    mkdirSync(gallery);
    for (let seed = 1; seed <= total; seed++) writeFileSync(join(gallery, `img-${String(seed).padStart(2, '0')}.png`), await blocksPng(seed * 7, 96, 72));
    const everAcknowledged = new Set<string>();
    // Kill points: early, mid-batch, and right after the last file (during the final snapshot).
    for (const killAfter of [1, 5, 9, total, Infinity]) {
      const run = await indexUntilKilled(killAfter);
      for (const path of run.acknowledged) everAcknowledged.add(path);
      const engine = await Sagasu.open({ dataDir: data, ocr: false });
      try {
        assert.deepEqual(engine.checkConsistency(), { text: { missing: [], extra: 0 }, vector: { missing: [], extra: 0 }, hash: { missing: [], extra: 0 } });
        const stats = engine.stats();
        assert.equal(stats.sources, stats.images, 'one source per image: nothing duplicated');
        for (const path of everAcknowledged) {
          const sources = engine.store.sourcesByPath(path);
          assert.equal(sources.length, 1, `${path} is stored once`);
          const prepared = await engine.prepareQuery(await blocksPng(Number(path.match(/img-(\d+)/)![1]) * 7, 96, 72), { ocr: false });
          const result = await engine.search({ prepared }, { k: 1, sources: ['hash'] });
          assert.equal(result.hits[0]?.path, path, `${path} is found after a kill after ${killAfter}`);
        }
      } finally {
        await engine.close();
      }
      if (killAfter === Infinity) assert.equal(everAcknowledged.size, total);
    }
  });
});
