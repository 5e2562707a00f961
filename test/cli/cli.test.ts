/** The `sagasu` command as scripts use it: a real child process on the bin entry, real engines. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, packageRoot } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

const bin = join(packageRoot, 'bin', 'sagasu.js');
const work = scratchDir('sagasu-cli-');
const data = join(work, 'data');

function sagasu(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: packageRoot, env: { ...process.env, SAGASU_DATA: '' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

before(async () => {
  writeFileSync(join(work, 'not-an-image.jpg'), 'plain text');
  writeFileSync(join(work, 'crop.jpg'), await sharp(fixture('page-02.png')).extract({ left: 100, top: 0, width: 500, height: 600 }).jpeg().toBuffer());
});

describe('sagasu index', () => {
  it('indexes files, reports a bad one on stderr, and exits 3 with a summary', () => {
    const run = sagasu('index', fixture('page-01.png'), fixture('page-02.png'), fixture('photo-01.png'), join(work, 'not-an-image.jpg'), '--data', data);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /^indexed 4 file\(s\) in [\d.]+ s: 3 added, 0 linked, 0 unchanged, 0 updated, 1 failed\n$/);
    assert.match(run.stderr, /not-an-image\.jpg: sagasu: not an image in a supported format/);
  });

  it('exits 0 and adds nothing when the same files are indexed again', () => {
    const run = sagasu('index', fixture('page-01.png'), fixture('page-02.png'), '--data', data, '--json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual([summary.added, summary.unchanged, summary.failed], [0, 2, []]);
  });
});

describe('sagasu index --reduce-vectors', () => {
  it('records the reduction in the data directory, shown by stats, and refuses a bad value', () => {
    const reducedData = join(work, 'reduced-data');
    const run = sagasu('index', fixture('page-01.png'), '--data', reducedData, '--no-ocr', '--reduce-vectors', '128', '--json');
    assert.equal(run.code, 0, run.stderr);
    const stats = JSON.parse(sagasu('stats', '--json', '--data', reducedData).stdout) as { vectorReduction: unknown };
    // 128 values from 20,000 images on: this one image is still stored in full.
    assert.deepEqual(stats.vectorReduction, { dimension: 128, fitAfter: 20000, whiten: false, storedDimension: 1280 });
    assert.match(sagasu('stats', '--data', reducedData).stdout, /vectors: reduced by PCA to 128 values from 20000 images on \(now storing 1280\)/);
    const bad = sagasu('index', fixture('page-01.png'), '--data', reducedData, '--reduce-vectors', '-1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /must be a whole number from 0 \(full vectors\) to 4096/);
  });
});

describe('sagasu index --no-regions', () => {
  it('indexes whole-image vectors only, and stats counts the region vectors of a default index', () => {
    const plain = join(work, 'no-regions-data');
    const run = sagasu('index', fixture('page-01.png'), '--data', plain, '--no-ocr', '--no-regions', '--json');
    assert.equal(run.code, 0, run.stderr);
    const stats = JSON.parse(sagasu('stats', '--json', '--data', plain).stdout) as { indexes: Record<string, number> };
    assert.deepEqual(stats.indexes, { text: 1, vector: 1, hash: 1, region: 0 });
    assert.match(sagasu('stats', '--data', data).stdout, /indexed: text 3, vector 3, hash 3, region vectors 20/);
  });
});

describe('sagasu search --json', () => {
  it('prints exactly one JSON object per query per line, with path, score and reasons', () => {
    const run = sagasu('search', join(work, 'crop.jpg'), fixture('photo-01.png'), '--k', '2', '--json', '--data', data);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { query: string; hits: Array<{ path: string; score: number; reasons: Record<string, unknown> }> });
    assert.deepEqual(lines.map((line) => line.query), [join(work, 'crop.jpg'), fixture('photo-01.png')]);
    assert.equal(lines[0]!.hits[0]!.path, fixture('page-02.png'));
    assert.equal((lines[0]!.hits[0]!.reasons.spatial as { verified?: boolean } | undefined)?.verified, true);
    assert.equal(lines[1]!.hits[0]!.path, fixture('photo-01.png'));
    for (const line of lines) {
      assert.ok(line.hits.length <= 2);
      for (const hit of line.hits) {
        assert.equal(typeof hit.score, 'number');
        assert.ok(Object.keys(hit.reasons).every((source) => ['visual', 'text', 'hash', 'spatial'].includes(source)));
      }
    }
  });

  it('searches OCR text alone with --text', () => {
    const run = sagasu('search', '--text', 'lighthouse', '--json', '--data', data);
    assert.equal(run.code, 0, run.stderr);
    const line = JSON.parse(run.stdout) as { query: string; hits: Array<{ path: string; reasons: Record<string, { matched: string[] }> }> };
    assert.equal(line.query, 'lighthouse');
    assert.equal(line.hits[0]!.path, fixture('page-01.png'));
    assert.deepEqual(line.hits[0]!.reasons.text!.matched, ['lighthouse']);
  });

  it('reports a query that cannot be read in its own line and exits 3', () => {
    const run = sagasu('search', join(work, 'missing.png'), '--json', '--data', data);
    assert.equal(run.code, 3);
    assert.deepEqual(JSON.parse(run.stdout), { query: join(work, 'missing.png'), hits: [], error: { code: 'NOT_FOUND', message: `sagasu: no such file: ${join(work, 'missing.png')}` } });
  });

  it('exits 2 on bad usage', () => {
    assert.equal(sagasu('search', '--data', data).code, 2);
    assert.equal(sagasu('search', '--text', 'x', '--k', 'many', '--data', data).code, 2);
    assert.equal(sagasu('search', '--text', 'x', '--weights', 'colour=2', '--data', data).code, 2);
    assert.equal(sagasu('frobnicate').code, 2);
    const notJson = sagasu('eval', work, '--engine-options', '{pooling: gem}');
    assert.deepEqual([notJson.code, /must be a JSON object/.test(notJson.stderr)], [2, true]);
    const notObject = sagasu('eval-ocr', work, '--ocr-options', '[1]');
    assert.deepEqual([notObject.code, /must be a JSON object\./.test(notObject.stderr)], [2, true]);
  });
});

describe('sagasu stats and remove', () => {
  it('counts what is stored, removes a path, and exits 4 for a path never indexed', () => {
    const stats = JSON.parse(sagasu('stats', '--json', '--data', data).stdout) as { images: number; indexes: Record<string, number> };
    // Region windows: 4 large ones each, then each picture's panels (page-01 and page-02 split into
    // 3; photo-01, a sunset, into 2 along the pale sky just above the sun: a photo can split too)
    // in place of the 16 small ones: 7 + 7 + 6.
    assert.deepEqual([stats.images, stats.indexes], [3, { text: 3, vector: 3, hash: 3, region: 20 }]);
    const removed = sagasu('remove', fixture('page-01.png'), '--data', data);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(sagasu('remove', fixture('page-01.png'), '--data', data).code, 4);
    const after = JSON.parse(sagasu('search', '--text', 'lighthouse', '--json', '--data', data).stdout) as { hits: unknown[] };
    assert.deepEqual(after.hits, []);
  });

  it('backs up the store into a file that restores with the same content', () => {
    const backup = join(work, 'backup.db');
    const run = sagasu('backup', backup, '--data', data);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^backed up 2 image\(s\) to /);
    const restored = join(work, 'restored');
    mkdirSync(restored);
    copyFileSync(backup, join(restored, 'sagasu.db'));
    const stats = JSON.parse(sagasu('stats', '--json', '--data', restored).stdout) as { images: number; indexes: Record<string, number> };
    assert.deepEqual([stats.images, stats.indexes], [2, { text: 2, vector: 2, hash: 2, region: 13 }]);
  });

  it('forgets everything in a scope, and exits 4 when there was nothing to forget', () => {
    assert.equal(sagasu('forget', '--data', data).code, 2);
    assert.equal(sagasu('forget', '--all-in-scope', '--scope', 'elsewhere', '--data', data).code, 4);
    const run = sagasu('forget', '--all-in-scope', '--data', data);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'forgot 2 source(s)\n');
    assert.equal((JSON.parse(sagasu('stats', '--json', '--data', data).stdout) as { images: number }).images, 0);
  });

  it('prints help for each command with exit code 0', () => {
    for (const command of ['index', 'search', 'stats', 'remove', 'forget', 'backup']) {
      const run = sagasu(command, '--help');
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`^Usage: sagasu ${command} `));
    }
  });
});
