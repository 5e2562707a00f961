import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { defaultRegionOptions, regionBoxes, regionFraction, regionFractionIn } from '../../src/embedding/regions.js';
import { detectPanels } from '../../src/embedding/panels.js';
import { SagasuError } from '../../src/errors.js';
import { Sagasu, type SagasuOptions, type VerificationOptions } from '../../src/sagasu.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { VectorIndex } from '../../src/indexes/vector-index.js';
import type { DecodedImage, Embedder, OcrEngine } from '../../src/types.js';
import { colourSignature, colourSignatureId, colourSimilarity } from '../../src/embedding/colour.js';
import { cropDecoded } from '../../src/decoding/content-area.js';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { heuristicConfidence } from '../../src/fusion/confidence.js';
import { defaultCalibrationModel } from '../../src/fusion/default-calibration.js';
import { localFeaturesId } from '../../src/verification/local-features.js';
import { blocksPng, panelPagePng, SizeKeyedOcr, ThumbnailEmbedder } from '../helpers/fakes.js';
import { fixture } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

const tempDir = () => scratchDir('sagasu-engine-');

/** Images whose sizes key the fake OCR's text. */
const ocrText = { '64x48': 'WHERE IS THE LIGHTHOUSE', '66x48': 'MIDNIGHT BAKERY OPENS', '68x48': '' };

async function open(dataDir: string, extra: Partial<SagasuOptions> = {}) {
  return Sagasu.open({ dataDir, ocr: new SizeKeyedOcr(ocrText), embedder: new ThumbnailEmbedder(), ...extra });
}

async function gallery(dir: string): Promise<string[]> {
  mkdirSync(join(dir, 'gallery', 'nested'), { recursive: true });
  const files = [join(dir, 'gallery', 'a.png'), join(dir, 'gallery', 'b.png'), join(dir, 'gallery', 'nested', 'c.png')];
  writeFileSync(files[0]!, await blocksPng(1, 64, 48));
  writeFileSync(files[1]!, await blocksPng(2, 66, 48));
  writeFileSync(files[2]!, await blocksPng(3, 68, 48));
  writeFileSync(join(dir, 'gallery', 'notes.txt'), 'not an image, skipped by ending');
  return files;
}

/**
 * Searches by look alone for a gallery-like picture and checks each hit's similarity is the cosine
 * on its stored full vector (not on a projection). Returns the number of hits.
 */
async function expectFullVectorCosines(engine: Sagasu): Promise<number> {
  const prepared = await engine.prepareQuery(await blocksPng(2, 60, 50));
  const result = await engine.search({ prepared: { ...prepared, mirroredEmbedding: undefined, contentEmbedding: undefined } }, { sources: ['visual'], verify: false });
  for (const hit of result.hits) {
    const full = engine.store.embeddingsOf([hit.imageId]).get(hit.imageId)!;
    const cosine = full.reduce((sum, value, i) => sum + value * prepared.embedding[i]!, 0);
    assert.equal(hit.reasons.visual!.detail!.similarity, Math.round(cosine * 10_000) / 10_000);
  }
  return result.hits.length;
}

/** A data directory with the gallery indexed, and the fakes behind it (tests count their calls). */
async function indexedGallery(): Promise<{ dir: string; engine: Sagasu; embedder: ThumbnailEmbedder; ocr: SizeKeyedOcr }> {
  const dir = tempDir();
  await gallery(dir);
  const embedder = new ThumbnailEmbedder();
  const ocr = new SizeKeyedOcr(ocrText);
  const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr, embedder });
  await engine.indexPaths([join(dir, 'gallery')]);
  return { dir, engine, embedder, ocr };
}

describe('Sagasu.indexPaths', () => {
  it('indexes image files below folders, skipping other files, and reports failures without stopping', async () => {
    const dir = tempDir();
    const files = await gallery(dir);
    writeFileSync(join(dir, 'broken.jpg'), 'this is text pretending to be a JPEG');
    const engine = await open(join(dir, 'data'));
    const events: string[] = [];
    const summary = await engine.indexPaths([join(dir, 'gallery'), join(dir, 'broken.jpg'), join(dir, 'missing.png')], {
      onFile: (event) => events.push(`${event.done}/${event.total}`),
    });
    assert.deepEqual(
      { ...summary, seconds: 0, failed: summary.failed.map((f) => [f.path.slice(dir.length), f.code]) },
      {
        total: 5,
        added: 3,
        linked: 0,
        unchanged: 0,
        updated: 0,
        failed: [['/broken.jpg', 'UNSUPPORTED_FORMAT'], ['/missing.png', 'NOT_FOUND']],
        seconds: 0,
      },
    );
    assert.deepEqual(events.sort(), ['1/5', '2/5', '3/5', '4/5', '5/5']);
    assert.deepEqual(engine.stats().indexes, { text: 3, vector: 3, hash: 3, region: 0 });
    assert.equal(files.length, 3);
    await engine.close();
  });

  it('is idempotent: indexing the same files again changes nothing and runs no model', async () => {
    const dir = tempDir();
    await gallery(dir);
    const embedder = new ThumbnailEmbedder();
    const engine = await open(join(dir, 'data'), { embedder });
    await engine.indexPaths([join(dir, 'gallery')]);
    const calls = embedder.calls;
    const again = await engine.indexPaths([join(dir, 'gallery')]);
    assert.deepEqual([again.added, again.unchanged], [0, 3]);
    assert.equal(embedder.calls, calls);
    assert.deepEqual([engine.stats().images, engine.stats().sources], [3, 3]);
    await engine.close();
  });
});

describe('Sagasu.indexPaths order', () => {
  /** Reads the first image slowly, so that the others are analysed before it. */
  class SlowFirstOcr extends SizeKeyedOcr {
    override async recognize(image: DecodedImage) {
      if (image.width === 64) await new Promise((resolve) => setTimeout(resolve, 300));
      return super.recognize(image);
    }
  }

  it('writes images in the files\' order, whatever order their analyses finish in', async () => {
    const dir = tempDir();
    const files = await gallery(dir);
    writeFileSync(join(dir, 'gallery', 'b-broken.png'), Buffer.alloc(0));
    const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: new SlowFirstOcr(ocrText), embedder: new ThumbnailEmbedder() });
    const events: string[] = [];
    const summary = await engine.indexPaths([join(dir, 'gallery')], {
      concurrency: 3,
      onFile: (event) => events.push(`${event.done} ${event.path.slice(dir.length)} ${event.result ? `#${event.result.imageId}` : event.error!.code}`),
    });
    assert.deepEqual(events, ['1 /gallery/a.png #1', '2 /gallery/b-broken.png EMPTY_INPUT', '3 /gallery/b.png #2', '4 /gallery/nested/c.png #3']);
    assert.deepEqual([summary.added, summary.failed.length], [3, 1]);
    assert.equal(files.length, 3);
    await engine.close();
  });

  it('gives the same ids when run again on a fresh data directory with another concurrency', async () => {
    const dir = tempDir();
    await gallery(dir);
    const idsWith = async (concurrency: number) => {
      const engine = await Sagasu.open({ dataDir: join(dir, `data-${concurrency}`), ocr: new SlowFirstOcr(ocrText), embedder: new ThumbnailEmbedder() });
      const ids: string[] = [];
      await engine.indexPaths([join(dir, 'gallery')], { concurrency, onFile: (event) => ids.push(`${event.path.slice(dir.length)} #${event.result!.imageId}`) });
      await engine.close();
      return ids;
    };
    assert.deepEqual(await idsWith(1), await idsWith(3));
  });

  it('analyses a copy again when the image it would join is removed while it waits its turn', async () => {
    const dir = tempDir();
    const [a, b] = await gallery(dir);
    const copy = join(dir, 'copy-of-b.png');
    writeFileSync(copy, readFileSync(b!));
    const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: new SlowFirstOcr(ocrText), embedder: new ThumbnailEmbedder() });
    assert.equal((await engine.addFile(b!)).imageId, 1);
    const events: string[] = [];
    const indexing = engine.indexPaths([a!, copy], {
      concurrency: 2,
      onFile: (event) => events.push(`${event.path.slice(dir.length)} ${event.result?.status} #${event.result?.imageId}`),
    });
    // The copy is ready at once (same bytes as image 1) but waits for the slow first file.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(engine.removeFile(b!), 1);
    const summary = await indexing;
    // SQLite hands out the removed id 1 again: the copy must not be linked to whatever holds it now.
    assert.deepEqual(events, ['/gallery/a.png added #1', '/copy-of-b.png added #2']);
    assert.deepEqual([summary.added, summary.linked, summary.failed.length], [2, 0, 0]);
    assert.deepEqual([engine.stats().images, engine.stats().sources], [2, 2]);
    assert.deepEqual(engine.stats().indexes, { text: 2, vector: 2, hash: 2, region: 0 });
    await engine.close();
  });
});

describe('Sagasu.add', () => {
  it('links a copy of the same bytes at another path to the same image', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'));
    const bytes = await blocksPng(1, 64, 48);
    writeFileSync(join(dir, 'one.png'), bytes);
    writeFileSync(join(dir, 'two.png'), bytes);
    const first = await engine.addFile(join(dir, 'one.png'));
    const second = await engine.addFile(join(dir, 'two.png'));
    assert.deepEqual([first.status, second.status, second.imageId], ['added', 'linked', first.imageId]);
    assert.deepEqual([engine.stats().images, engine.stats().sources], [1, 2]);
    await engine.close();
  });

  it('re-indexes a path whose bytes changed, dropping the old image from every index', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'));
    const path = join(dir, 'page.png');
    writeFileSync(path, await blocksPng(1, 64, 48));
    const before = await engine.addFile(path);
    writeFileSync(path, await blocksPng(2, 66, 48));
    const after = await engine.addFile(path);
    assert.equal(after.status, 'updated');
    assert.notEqual(after.imageId, before.imageId);
    assert.deepEqual(engine.stats().indexes, { text: 1, vector: 1, hash: 1, region: 0 });
    assert.deepEqual((await engine.search({ text: 'lighthouse' })).hits, []);
    assert.equal((await engine.search({ text: 'bakery' })).hits[0]?.imageId, after.imageId);
    await engine.close();
  });

  it('keeps the same bytes in two scopes as two records', async () => {
    const engine = await open(join(tempDir(), 'data'));
    const bytes = await blocksPng(1, 64, 48);
    const a = await engine.add({ bytes, scope: 'guild-a', source: { kind: 'discord', guildId: 'a', channelId: 'c', messageId: 'm', attachmentId: '1' } });
    const b = await engine.add({ bytes, scope: 'guild-b', source: { kind: 'discord', guildId: 'b', channelId: 'c', messageId: 'm', attachmentId: '1' } });
    assert.deepEqual([a.status, b.status], ['added', 'added']);
    assert.notEqual(a.imageId, b.imageId);
    await engine.close();
  });
});

describe('Sagasu.search', () => {
  it('finds an image by its look, its text and its hash, with the reasons of each source', async () => {
    const { dir, engine } = await indexedGallery();
    // Same picture and size (so the fake OCR reads the same words), re-encoded as JPEG. Colour at
    // full resolution: on 64x48 coloured blocks, halving the chroma alone moves the hash 10 bits,
    // beyond a near duplicate's 8 (it moves 3 bits this way).
    const query = await sharp(await blocksPng(1, 64, 48)).jpeg({ quality: 70, chromaSubsampling: '4:4:4' }).toBuffer();
    const result = await engine.search({ image: query }, { k: 3 });
    const top = result.hits[0]!;
    assert.equal(top.path, join(dir, 'gallery', 'a.png'));
    assert.equal(result.queryText, 'WHERE IS THE LIGHTHOUSE');
    assert.deepEqual(Object.keys(top.reasons).sort(), ['hash', 'spatial', 'text', 'visual']);
    assert.equal(top.reasons.visual?.rank, 1);
    assert.ok((top.reasons.visual?.detail?.similarity as number) > 0.95);
    assert.deepEqual(top.reasons.text?.detail, {
      matched: ['where', 'lighthouse'],
      lines: [{ text: 'WHERE IS THE LIGHTHOUSE', box: { x: 0, y: 0, w: 64, h: 48 } }],
    });
    assert.equal(top.reasons.hash?.detail?.exact, false);
    assert.ok(result.hits.length <= 3);
    for (const key of ['decodeMs', 'ocrMs', 'embedMs', 'searchMs', 'fuseMs'] as const) assert.equal(typeof result.timings[key], 'number');
    await engine.close();
  });

  it('marks a query with the very bytes of an indexed image as an exact hash match, in its scope only', async () => {
    const { dir, engine } = await indexedGallery();
    const bytes = readFileSync(join(dir, 'gallery', 'a.png'));
    const result = await engine.search({ image: bytes }, { k: 3, sources: ['hash'] });
    assert.deepEqual([result.hits[0]?.path, result.hits[0]?.reasons.hash?.detail], [join(dir, 'gallery', 'a.png'), { distance: 0, exact: true }]);
    assert.deepEqual((await engine.search({ image: bytes }, { k: 3, sources: ['hash'], scope: 'elsewhere' })).hits, []);
    await engine.close();
  });

  it('searches the text alone for a text-only query, without running the models', async () => {
    const { dir, engine, embedder, ocr } = await indexedGallery();
    const calls = [embedder.calls, ocr.calls];
    const result = await engine.search({ text: 'midnight bakery' });
    assert.deepEqual(result.hits.map((hit) => hit.path), [join(dir, 'gallery', 'b.png')]);
    assert.deepEqual(Object.keys(result.hits[0]!.reasons), ['text']);
    assert.deepEqual([embedder.calls, ocr.calls], calls);
    await engine.close();
  });

  it('never returns images from another scope', async () => {
    const engine = await open(join(tempDir(), 'data'));
    const bytes = await blocksPng(1, 64, 48);
    await engine.add({ bytes, scope: 'guild-a', source: { kind: 'discord', guildId: 'a', channelId: 'c', messageId: 'm', attachmentId: '1' } });
    assert.deepEqual((await engine.search({ image: bytes }, { scope: 'guild-b' })).hits, []);
    assert.equal((await engine.search({ image: bytes }, { scope: 'guild-a' })).hits.length, 1);
    await engine.close();
  });

  it('applies a source filter (e.g. channels a member may not see)', async () => {
    const engine = await open(join(tempDir(), 'data'));
    const bytes = await blocksPng(1, 64, 48);
    await engine.add({ bytes, source: { kind: 'discord', guildId: 'a', channelId: 'secret', messageId: 'm', attachmentId: '1' } });
    const hidden = await engine.search({ image: bytes }, { filterSource: (source) => source.channelId !== 'secret' });
    assert.deepEqual(hidden.hits, []);
    await engine.close();
  });

  it('refuses an empty query and a bad k with clear errors', async () => {
    const engine = await open(join(tempDir(), 'data'));
    await assert.rejects(engine.search({ text: '  ' }), /^SagasuError: sagasu: a search needs an image or some text$/);
    await assert.rejects(engine.search({ text: 'x' }, { k: 0 }), /k must be a whole number from 1 to 1000, got 0/);
    await engine.close();
  });
});

describe('Sagasu.removeFile', () => {
  it('removes the image from the text, vector and hash indexes', async () => {
    const dir = tempDir();
    const [a] = await gallery(dir);
    const engine = await open(join(dir, 'data'));
    await engine.indexPaths([join(dir, 'gallery')]);
    assert.equal(engine.removeFile(a!), 1);
    assert.deepEqual(engine.stats().indexes, { text: 2, vector: 2, hash: 2, region: 0 });
    assert.deepEqual((await engine.search({ text: 'lighthouse' })).hits, []);
    const byImage = await engine.search({ image: await blocksPng(1, 64, 48) }, { k: 5 });
    assert.ok(byImage.hits.every((hit) => hit.path !== a));
    assert.equal(engine.removeFile(a!), 0);
    await engine.close();
  });
});

describe('Sagasu.open', () => {
  it('reloads the indexes from their snapshots after close', async () => {
    const { dir, engine } = await indexedGallery();
    await engine.close();
    const again = await open(join(dir, 'data'));
    assert.deepEqual(again.stats().indexes, { text: 3, vector: 3, hash: 3, region: 0 });
    assert.equal((await again.search({ text: 'lighthouse' })).hits[0]?.path, join(dir, 'gallery', 'a.png'));
    await again.close();
  });

  it('replays changes committed after the last snapshot (a crash before close)', async () => {
    const dir = tempDir();
    const files = await gallery(dir);
    const engine = await open(join(dir, 'data'));
    await engine.addFile(files[0]!);
    engine.flush();
    await engine.addFile(files[1]!);
    engine.removeFile(files[0]!);
    // A crash: the store goes away without the snapshots being written again.
    engine.store.close();
    const again = await open(join(dir, 'data'));
    assert.deepEqual(again.stats().indexes, { text: 1, vector: 1, hash: 1, region: 0 });
    assert.equal((await again.search({ text: 'bakery' })).hits[0]?.path, files[1]);
    assert.deepEqual((await again.search({ text: 'lighthouse' })).hits, []);
    await again.close();
  });

  it('rebuilds the indexes from the store when the snapshots are gone', async () => {
    const { dir, engine } = await indexedGallery();
    await engine.close();
    for (const name of readdirSync(join(dir, 'data'))) if (name.startsWith('text-index') || name.startsWith('vector-index')) rmSync(join(dir, 'data', name));
    const again = await open(join(dir, 'data'));
    assert.deepEqual(again.stats().indexes, { text: 3, vector: 3, hash: 3, region: 0 });
    await again.close();
  });

  it('rebuilds missing indexes in one streamed pass over the store, not a read per image', async () => {
    const { dir, engine } = await indexedGallery();
    await engine.close();
    for (const name of readdirSync(join(dir, 'data'))) if (name.startsWith('text-index') || name.startsWith('vector-index')) rmSync(join(dir, 'data', name));
    const reads = { getImage: 0, sourcesOf: 0 };
    const original = { getImage: SqliteStore.prototype.getImage, sourcesOf: SqliteStore.prototype.sourcesOf };
    SqliteStore.prototype.getImage = function (this: SqliteStore, id: number) {
      reads.getImage += 1;
      return original.getImage.call(this, id);
    };
    SqliteStore.prototype.sourcesOf = function (this: SqliteStore, id: number) {
      reads.sourcesOf += 1;
      return original.sourcesOf.call(this, id);
    };
    let again: Sagasu;
    try {
      again = await open(join(dir, 'data'));
    } finally {
      Object.assign(SqliteStore.prototype, original);
    }
    assert.deepEqual(reads, { getImage: 0, sourcesOf: 0 });
    assert.deepEqual(again.stats().indexes, { text: 3, vector: 3, hash: 3, region: 0 });
    // File names went into the text index with the OCR text; vectors are back.
    assert.equal((await again.search({ text: 'lighthouse' })).hits[0]?.path, join(dir, 'gallery', 'a.png'));
    assert.equal((await again.search({ text: 'png' })).hits.length, 3);
    const visual = await again.search({ image: await blocksPng(2, 66, 48) }, { sources: ['visual'], verify: false });
    assert.equal(visual.hits[0]?.path, join(dir, 'gallery', 'b.png'));
    await again.close();
  });

  it('refuses out-of-range verification options before touching the data directory', async () => {
    const dir = tempDir();
    const cases: Array<[VerificationOptions, RegExp]> = [
      [{ candidates: -1 }, /verification\.candidates must be a whole number >= 0 \(got -1\)/],
      [{ siblings: 1.5 }, /verification\.siblings must be a whole number >= 0 \(got 1\.5\)/],
      [{ budgetMs: Number.NaN }, /verification\.budgetMs must be a number >= 0 \(got null\)/],
      [{ extendUnlessInliers: '30' as never }, /verification\.extendUnlessInliers must be a number >= 0 \(got "30"\)/],
      [{ verify: { maxIterations: 0 } }, /^sagasu: verification\.verify: maxIterations must be a whole number >= 1 \(got 0\)$/],
      [{ verify: { estimator: 'lmeds' as never } }, /verification\.verify: unknown homography estimator, use ransac, rho, usac-accurate \(got "lmeds"\)/],
      [{ features: { spread: { grid: 0, oversample: 3 } } }, /verification\.features: spread needs a whole grid >= 1 and a whole oversample >= 1/],
      [{ queryFeatures: { maxFeatures: 0 } }, /verification\.queryFeatures: maxFeatures must be a whole number >= 1 \(got 0\)/],
    ];
    for (const [verification, message] of cases) {
      await assert.rejects(
        open(join(dir, 'data'), { verification }),
        (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION' && message.test(error.message),
        JSON.stringify(verification),
      );
    }
    assert.equal(existsSync(join(dir, 'data')), false);
    // Infinity is a setting, not a mistake (no limit).
    const engine = await open(join(dir, 'data'), { verification: { budgetMs: Infinity, stopAtInliers: Infinity, extendUnlessInliers: Infinity } });
    await engine.close();
  });

  it('refuses a data directory indexed with another model', async () => {
    const dir = tempDir();
    await (await open(join(dir, "data"))).close();
    await assert.rejects(
      Sagasu.open({ dataDir: join(dir, 'data'), ocr: false, embedder: new ThumbnailEmbedder('another-model') }),
      (error: unknown) => error instanceof SagasuError && error.code === 'MODEL_MISMATCH' && /"test-thumbnail-8x8" \(64-d\)/.test(error.message),
    );
  });
});

describe('Sagasu.search with a reduced vector index', () => {
  it('scores visual hits by cosine on the stored full vectors, not the projected ones', async () => {
    const dir = tempDir();
    await gallery(dir);
    const engine = await open(join(dir, 'data'), { vectorIndex: { reduction: { dimension: 2, fitAfter: 3 } } });
    await engine.indexPaths([join(dir, 'gallery')]);
    assert.equal(await expectFullVectorCosines(engine), 3);
    await engine.close();
  });
});

describe('Sagasu.open with a vector reduction', () => {
  const reduction = { dimension: 2, fitAfter: 3 };
  const recorded = { dimension: 2, fitAfter: 3, whiten: false };

  it('records the reduction in the data directory and keeps using it when a later open gives none', async () => {
    const dir = tempDir();
    await gallery(dir);
    const first = await open(join(dir, 'data'), { vectorIndex: { reduction } });
    await first.indexPaths([join(dir, 'gallery')]);
    assert.deepEqual(first.stats().vectorReduction, { ...recorded, storedDimension: 2 });
    await first.close();
    const warnings: string[] = [];
    const again = await open(join(dir, 'data'), { logger: { info: () => {}, warn: (message) => warnings.push(message) } });
    assert.deepEqual(again.stats().vectorReduction, { ...recorded, storedDimension: 2 });
    assert.deepEqual(warnings, []);
    assert.equal((await again.search({ image: await blocksPng(3, 68, 48) }, { sources: ['visual'], verify: false })).hits[0]?.path, join(dir, 'gallery', 'nested', 'c.png'));
    await again.close();
  });

  it('fills the copy of the full vectors from the store when the snapshot has none, without a rebuild', async () => {
    const dir = tempDir();
    await gallery(dir);
    const first = await open(join(dir, 'data'), { vectorIndex: { reduction } });
    await first.indexPaths([join(dir, 'gallery')]);
    await first.close();
    const copies = () => readdirSync(join(dir, 'data')).filter((file) => file.startsWith('vector-index') && file.endsWith('.q8'));
    assert.equal(copies().length, 1);
    rmSync(join(dir, 'data', copies()[0]!));
    const warnings: string[] = [];
    const again = await open(join(dir, 'data'), { logger: { info: () => {}, warn: (message) => warnings.push(message) } });
    assert.deepEqual(warnings, []);
    await expectFullVectorCosines(again);
    await again.close();
    assert.equal(copies().length, 1);
    const saved = VectorIndex.load(join(dir, 'data', 'vector-index'), 'test-thumbnail-8x8', 64, { reduction })!;
    assert.deepEqual([saved.count, saved.idsWithoutFullVector()], [3, []]);
  });

  it('goes back to full vectors when given null, and records that too', async () => {
    const dir = tempDir();
    await gallery(dir);
    const reduced = await open(join(dir, 'data'), { vectorIndex: { reduction } });
    await reduced.indexPaths([join(dir, 'gallery')]);
    await reduced.close();
    const full = await open(join(dir, 'data'), { vectorIndex: { reduction: null } });
    assert.deepEqual([full.stats().vectorReduction, full.stats().indexes.vector], [null, 3]);
    await full.close();
    const later = await open(join(dir, 'data'));
    assert.equal(later.stats().vectorReduction, null);
    await later.close();
  });

  it('does not record a setting the index refuses', async () => {
    const dir = tempDir();
    await (await open(join(dir, 'data'), { vectorIndex: { reduction } })).close();
    await assert.rejects(
      open(join(dir, 'data'), { vectorIndex: { reduction: { dimension: 64, fitAfter: 3 } } }),
      (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION',
    );
    const again = await open(join(dir, 'data'));
    assert.deepEqual(again.stats().vectorReduction, { ...recorded, storedDimension: 64 });
    await again.close();
  });
});

describe('Sagasu.forget', () => {
  it('removes every source of a message, channel or user, and the images left without one', async () => {
    const engine = await open(join(tempDir(), 'data'));
    const post = async (seed: number, channelId: string, messageId: string, authorId: string) =>
      engine.add({ bytes: await blocksPng(seed, 64, 48), scope: 'g', source: { kind: 'discord', guildId: 'g', channelId, messageId, attachmentId: `${messageId}-a`, authorId } });
    await post(1, 'c1', 'm1', 'u1');
    await post(2, 'c1', 'm2', 'u2');
    await post(3, 'c2', 'm3', 'u1');
    assert.equal(engine.forget({ guildId: 'g', messageId: 'm2' }), 1);
    assert.deepEqual(engine.stats().indexes, { text: 2, vector: 2, hash: 2, region: 0 });
    assert.equal(engine.forget({ guildId: 'g', authorId: 'u1' }), 2);
    assert.deepEqual([engine.stats().images, engine.stats().sources], [0, 0]);
    assert.equal(engine.forget({ guildId: 'g', channelId: 'c1' }), 0);
    assert.throws(() => engine.forget({}), /forget needs at least one of/);
    await engine.close();
  });
});

describe('Sagasu.prepareQuery', () => {
  it('reads and embeds once, then searches with any sources at no further model cost', async () => {
    const { dir, engine, embedder, ocr } = await indexedGallery();
    const prepared = await engine.prepareQuery(await blocksPng(1, 64, 48));
    const calls = [embedder.calls, ocr.calls];
    const visual = await engine.search({ prepared }, { sources: ['visual'], verify: false });
    const text = await engine.search({ prepared }, { sources: ['text'] });
    const fused = await engine.search({ prepared });
    assert.deepEqual([embedder.calls, ocr.calls], calls);
    assert.deepEqual(Object.keys(visual.hits[0]!.reasons), ['visual']);
    assert.deepEqual(text.hits.map((hit) => hit.path), [join(dir, 'gallery', 'a.png')]);
    assert.equal(visual.queryText, '');
    assert.equal(fused.queryText, 'WHERE IS THE LIGHTHOUSE');
    assert.equal(fused.hits[0]!.path, join(dir, 'gallery', 'a.png'));
    await engine.close();
  });
});

describe('Sagasu.backup', () => {
  it('restores into an empty data directory with identical search results', async () => {
    const { dir, engine } = await indexedGallery();
    const queries = [{ image: await blocksPng(2, 66, 48) }, { text: 'lighthouse bakery' }];
    const before = [];
    for (const query of queries) before.push((await engine.search(query, { k: 3 })).hits);
    mkdirSync(join(dir, 'restored'));
    await engine.backup(join(dir, 'restored', 'sagasu.db'));
    await engine.close();
    const restored = await open(join(dir, 'restored'));
    const after = [];
    for (const query of queries) after.push((await restored.search(query, { k: 3 })).hits);
    assert.deepEqual(after, before);
    assert.deepEqual(restored.checkConsistency(), { text: { missing: [], extra: 0 }, vector: { missing: [], extra: 0 }, hash: { missing: [], extra: 0 } });
    await restored.close();
  });
});

describe('Sagasu.checkConsistency', () => {
  it('sees every committed image in every index while searches run during indexing', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'many'));
    for (let seed = 1; seed <= 12; seed++) writeFileSync(join(dir, 'many', `${seed}.png`), await blocksPng(seed, 64, 48));
    const engine = await open(join(dir, 'data'));
    const probe = await blocksPng(5, 64, 48);
    let checks = 0;
    let indexing = true;
    const watcher = (async () => {
      while (indexing) {
        const report = engine.checkConsistency();
        assert.deepEqual(report, { text: { missing: [], extra: 0 }, vector: { missing: [], extra: 0 }, hash: { missing: [], extra: 0 } });
        for (const hit of (await engine.search({ image: probe }, { k: 20 })).hits) assert.ok(hit.reasons.visual, 'every hit is in the vector index');
        checks += 1;
      }
    })();
    await engine.indexPaths([join(dir, 'many')]);
    indexing = false;
    await watcher;
    assert.ok(checks >= 2, `checked ${checks} times`);
    await engine.close();
  });
});

describe('Sagasu stage time limits', () => {
  it('fails an image whose OCR runs past the limit with TIMEOUT, aborts the OCR, and indexes the rest', async () => {
    const dir = tempDir();
    await gallery(dir);
    const aborted: string[] = [];
    const slowOnB: OcrEngine = {
      id: 'slow-ocr',
      recognize: (image, options) =>
        image.width === 66
          ? new Promise((_, reject) => options?.signal?.addEventListener('abort', () => (aborted.push('b'), reject(new Error('aborted')))))
          : Promise.resolve({ text: '', lines: [] }),
      close: async () => {},
    };
    const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: slowOnB, embedder: new ThumbnailEmbedder(), timeouts: { ocrMs: 100 } });
    const summary = await engine.indexPaths([join(dir, 'gallery')]);
    assert.deepEqual(summary.failed.map((f) => [f.path.slice(dir.length), f.code, f.message]), [['/gallery/b.png', 'TIMEOUT', 'sagasu: OCR took longer than 100 ms']]);
    assert.equal(summary.added, 2);
    assert.deepEqual(aborted, ['b']);
    await engine.close();
  });
});

describe('Sagasu.search with OCR text matched only approximately', () => {
  /** The gallery, and queries of another picture whose sizes key the words OCR "reads" in them. */
  async function engineReading(extra: Partial<SagasuOptions> = {}) {
    const dir = tempDir();
    await gallery(dir);
    const words = { ...ocrText, '70x48': '# bakfry', '72x48': 'bakfry opens', '74x48': 'bakfry midnigt' };
    const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: new SizeKeyedOcr(words), embedder: new ThumbnailEmbedder(), ...extra });
    await engine.indexPaths([join(dir, 'gallery')]);
    const textHits = async (width: number, text?: string) => {
      const result = await engine.search({ image: await blocksPng(9, width, 48), ...(text ? { text } : {}) }, { sources: ['text'] });
      return result.hits.map((hit) => [hit.path, hit.reasons.text?.detail?.matched]);
    };
    return { dir, engine, textHits };
  }

  it('drops a text hit resting on one word that the image has only approximately', async () => {
    const { dir, engine, textHits } = await engineReading();
    const b = join(dir, 'gallery', 'b.png');
    assert.deepEqual(await textHits(70), []);
    // One word found as itself, or two found approximately, still count.
    assert.deepEqual(await textHits(72), [[b, ['bakfry', 'opens']]]);
    assert.deepEqual(await textHits(74), [[b, ['bakfry', 'midnigt']]]);
    // Typed text is the user's own word: a near miss is what fuzzy matching is for.
    assert.deepEqual(await textHits(70, 'bakfry'), [[b, ['bakfry']]]);
    assert.deepEqual((await engine.search({ text: 'bakfry' })).hits.map((hit) => hit.path), [b]);
    await engine.close();
  });

  it('keeps it when loneFuzzyTextHits is on', async () => {
    const { dir, engine, textHits } = await engineReading({ loneFuzzyTextHits: true });
    assert.deepEqual(await textHits(70), [[join(dir, 'gallery', 'b.png'), ['bakfry']]]);
    await engine.close();
  });
});

describe('Sagasu.search with colour', () => {
  /** Every picture looks the same to it: only colour can tell them apart. */
  class SameLookEmbedder implements Embedder {
    readonly modelId = 'test-same-look';
    readonly dimension = 4;
    async embed(): Promise<Float32Array> {
      return Float32Array.of(0.5, 0.5, 0.5, 0.5);
    }
    async close(): Promise<void> {}
  }
  const solidPng = (rgb: [number, number, number], width = 64) =>
    sharp({ create: { width, height: 48, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();

  async function fruitBowl(extra: Partial<SagasuOptions> = {}) {
    const dir = tempDir();
    const engine = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: false, embedder: new SameLookEmbedder(), verification: false, ...extra });
    // Indexed first, so it wins ties of look.
    await engine.add({ bytes: await solidPng([230, 120, 20]), source: { kind: 'file', path: 'orange.png', absolutePath: join(dir, 'orange.png') } });
    await engine.add({ bytes: await solidPng([230, 210, 40]), source: { kind: 'file', path: 'lemon.png', absolutePath: join(dir, 'lemon.png') } });
    await engine.add({ bytes: await solidPng([128, 128, 128]), source: { kind: 'file', path: 'grey.png', absolutePath: join(dir, 'grey.png') } });
    const search = async (rgb: [number, number, number]) =>
      (await engine.search({ image: await solidPng(rgb, 60) }, { sources: ['visual'] })).hits.map((hit) => [hit.path, hit.reasons.visual?.detail?.colour]);
    return { engine, search, dataDir: join(dir, 'data') };
  }

  it('puts the image of the same colours ahead of other colours among look-alikes, and shows how close the colours are', async () => {
    const { engine, search } = await fruitBowl();
    // A lemon in the shade: the same hue. Orange shares a little of it (the bins next to each other).
    // Grey has no colour at all: it shares none with a coloured query.
    assert.deepEqual(await search([115, 105, 20]), [['lemon.png', 1], ['orange.png', 0.1137], ['grey.png', 0]]);
    assert.deepEqual([...engine.store.colourSignaturesOf([3], colourSignatureId)], [[3, new Uint8Array(0)]], 'an image without colour has an empty row');
    await engine.close();
  });

  it('leaves an image indexed before colours were kept where its look put it', async () => {
    const { engine: first, dataDir } = await fruitBowl();
    await first.close();
    // As a data directory of an older version holds it: no row for grey.
    const db = new Database(join(dataDir, 'sagasu.db'));
    assert.equal(db.prepare('DELETE FROM colour_signatures WHERE image_id = 3').run().changes, 1);
    db.close();
    const engine = await Sagasu.open({ dataDir, ocr: false, embedder: new SameLookEmbedder(), verification: false });
    const hits = (await engine.search({ image: await solidPng([115, 105, 20], 60) }, { sources: ['visual'] })).hits;
    // Grey ties with the lemon by look, as before, and the tie goes to the lower id.
    assert.deepEqual(hits.map((hit) => [hit.path, hit.reasons.visual?.detail?.colour]), [['lemon.png', 1], ['grey.png', undefined], ['orange.png', 0.1137]]);
    await engine.close();
  });

  it('re-orders only the first colour.candidates by look: the rest keep their places', async () => {
    const { engine, search } = await fruitBowl({ colour: { candidates: 2 } });
    // Orange and lemon (first and second by look) swap; grey, third, is not compared.
    assert.deepEqual(await search([115, 105, 20]), [['lemon.png', 1], ['orange.png', 0.1137], ['grey.png', undefined]]);
    await engine.close();
  });

  it('leaves the order of look alone for a query without colour', async () => {
    const { engine, search } = await fruitBowl();
    assert.deepEqual(await search([90, 90, 90]), [['orange.png', undefined], ['lemon.png', undefined], ['grey.png', undefined]]);
    await engine.close();
  });

  it('stores and compares nothing when turned off, and refuses a weight or a number of candidates out of range', async () => {
    const { engine, search } = await fruitBowl({ colour: false });
    assert.deepEqual(await search([115, 105, 20]), [['orange.png', undefined], ['lemon.png', undefined], ['grey.png', undefined]]);
    assert.deepEqual([...engine.store.colourSignaturesOf([1, 2, 3], colourSignatureId)], []);
    await engine.close();
    await assert.rejects(Sagasu.open({ dataDir: join(tempDir(), 'data'), ocr: false, embedder: new SameLookEmbedder(), colour: { weight: 2 } }), /colour.weight must be a number from 0 to 1, got 2/);
    await assert.rejects(Sagasu.open({ dataDir: join(tempDir(), 'data'), ocr: false, embedder: new SameLookEmbedder(), colour: { candidates: 0 } }), /colour.candidates must be a whole number from 1 to 1000, got 0/);
  });
});

describe('Sagasu.search with a mirrored query', () => {
  it('matches a left-right flipped copy through the mirrored embedding, and says so', async () => {
    const dir = tempDir();
    await gallery(dir);
    const flipped = await sharp(await blocksPng(3, 68, 48)).flop().png().toBuffer();
    const engine = await open(join(dir, 'data'));
    await engine.indexPaths([join(dir, 'gallery')]);
    const result = await engine.search({ image: flipped }, { k: 1, sources: ['visual'] });
    assert.equal(result.hits[0]?.path, join(dir, 'gallery', 'nested', 'c.png'));
    assert.deepEqual(result.hits[0]?.reasons.visual?.detail, { similarity: 1, colour: 1, mirrored: true });
    await engine.close();

    const plain = await open(join(dir, 'data'), { mirroredQueries: false });
    const without = await plain.search({ image: flipped }, { k: 3, sources: ['visual'] });
    assert.ok(without.hits.every((hit) => hit.reasons.visual?.detail?.mirrored === undefined));
    assert.ok((without.hits.find((hit) => hit.path?.endsWith('c.png'))?.reasons.visual?.detail?.similarity as number ?? 0) < 0.99);
    await plain.close();
  });
});

describe('Sagasu.search with a screenshot-like query', () => {
  /** Image b shown 3x larger inside flat "app chrome" with a side panel. */
  async function screenshotOfB(): Promise<Buffer> {
    const shown = await sharp(await blocksPng(2, 66, 48)).resize({ width: 198, kernel: 'nearest' }).png().toBuffer();
    const chrome = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320"><rect width="480" height="320" fill="#313338"/><rect width="90" height="320" fill="#1e1f22"/></svg>',
    );
    return sharp(chrome).composite([{ input: shown, left: 200, top: 110 }]).png().toBuffer();
  }

  it('also embeds the picture inside, and says which hits it found', async () => {
    const { dir, engine, embedder } = await indexedGallery();
    const before = embedder.calls;
    const prepared = await engine.prepareQuery(await screenshotOfB(), { ocr: false });
    // The query, its mirror and the picture inside.
    assert.equal(embedder.calls - before, 3);
    assert.ok(prepared.contentArea && Math.abs(prepared.contentArea.x - 200) <= 6 && Math.abs(prepared.contentArea.y - 110) <= 6, JSON.stringify(prepared.contentArea));
    const result = await engine.search({ prepared }, { sources: ['visual'], verify: false });
    assert.equal(result.hits[0]?.path, join(dir, 'gallery', 'b.png'));
    assert.equal(result.hits[0]?.reasons.visual?.detail?.contentArea, true);
    await engine.close();
  });

  it('embeds the query, its mirror and the picture inside as one batch when the embedder takes batches, each vector in its place', async () => {
    const { dir, engine } = await indexedGallery();
    await engine.close();
    const batches: number[][] = [];
    class BatchingEmbedder extends ThumbnailEmbedder {
      async embedMany(images: readonly DecodedImage[]): Promise<Float32Array[]> {
        batches.push(images.map((image) => image.width));
        return Promise.all(images.map((image) => this.embed(image)));
      }
    }
    const embedder = new BatchingEmbedder();
    const batched = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: new SizeKeyedOcr(ocrText), embedder });
    const bytes = await screenshotOfB();
    const prepared = await batched.prepareQuery(bytes, { ocr: false });
    const area = prepared.contentArea!;
    assert.deepEqual(batches, [[480, 480, area.w]]);
    const { image } = await decodeImage(bytes);
    assert.deepEqual(prepared.embedding, await embedder.embed(image));
    const flopped = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).flop().raw().toBuffer();
    assert.deepEqual(prepared.mirroredEmbedding, await embedder.embed({ ...image, data: flopped }));
    assert.deepEqual(prepared.contentEmbedding, await embedder.embed(await cropDecoded(image, area)));
    await batched.close();
    // Without a mirror or a picture inside there is nothing to batch: one plain embed.
    const plain = await Sagasu.open({ dataDir: join(dir, 'data'), ocr: new SizeKeyedOcr(ocrText), embedder, mirroredQueries: false, contentAreaQueries: false });
    await plain.prepareQuery(bytes, { ocr: false });
    assert.equal(batches.length, 1);
    await plain.close();
  });

  it('embeds nothing more when contentAreaQueries is off, or for an image that is all content', async () => {
    const { engine, embedder } = await indexedGallery();
    let before = embedder.calls;
    await engine.prepareQuery(await sharp(fixture('page-01.png')).toBuffer(), { ocr: false });
    assert.equal(embedder.calls - before, 2);
    await engine.close();
    const dir = tempDir();
    const off = await open(join(dir, 'data'), { contentAreaQueries: false, embedder });
    before = embedder.calls;
    assert.equal((await off.prepareQuery(await screenshotOfB(), { ocr: false })).contentArea, undefined);
    assert.equal(embedder.calls - before, 2);
    await off.close();
  });
});

describe('Sagasu.search with spatial verification', () => {
  const pages = ['page-01.png', 'page-02.png', 'page-03.png', 'page-04.png', 'photo-01.png'];
  /** A phone-like re-shoot of part of page-03: cropped to about half, turned 3°, scaled down, re-compressed. */
  const reshot = async () => {
    const cropped = await sharp(fixture('page-03.png')).extract({ left: 80, top: 200, width: 420, height: 500 }).toBuffer();
    return sharp(cropped).rotate(3, { background: '#777' }).resize({ width: 330 }).jpeg({ quality: 65 }).toBuffer();
  };

  it('re-ranks by matching points, verifies the original and shows it as a reason', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'));
    await engine.indexPaths(pages.map(fixture));
    const result = await engine.search({ image: await reshot() }, { k: 5 });
    const top = result.hits[0]!;
    assert.equal(top.path, fixture('page-03.png'));
    assert.equal(top.reasons.spatial?.verified, true);
    assert.equal(top.reasons.spatial?.rank, 1);
    assert.ok(top.reasons.spatial!.inliers >= 40, `inliers ${top.reasons.spatial!.inliers}`);
    for (const other of result.hits.slice(1)) assert.ok((other.reasons.spatial?.inliers ?? 0) < 12, `${other.path}: ${other.reasons.spatial?.inliers}`);
    assert.ok(result.timings.verifyMs! > 0 && result.timings.featuresMs! > 0);
    const unverified = await engine.search({ image: await reshot() }, { k: 5, verify: false });
    assert.ok(unverified.hits.every((hit) => hit.reasons.spatial === undefined));
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies each source\'s first hits beyond the fused head', async () => {
    const dir = tempDir();
    // No siblings: a verified first hit would otherwise bring its look-alikes in (see below).
    const engine = await open(join(dir, 'data'), { verification: { candidates: 0, perSource: 1, stopAtInliers: Infinity, extendTo: 0, siblings: 0 } });
    await engine.indexPaths(pages.map(fixture));
    const result = await engine.search({ image: await reshot() }, { k: 5 });
    const checked = result.hits.filter((hit) => hit.reasons.spatial);
    assert.ok(checked.length >= 1);
    for (const hit of checked) assert.ok(Object.values(hit.reasons).some((reason) => 'contribution' in reason && reason.rank === 1), `${hit.path} was checked`);
    for (const hit of result.hits.filter((h) => !h.reasons.spatial)) assert.ok(!Object.values(hit.reasons).some((reason) => 'contribution' in reason && reason.rank === 1), `${hit.path} was not checked`);
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes further down the fused list only while nothing is verified, and stops at the first verified', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'), { verification: { candidates: 0, perSource: 0, stopAtInliers: Infinity, extendTo: 5, siblings: 0 } });
    await engine.indexPaths(pages.map(fixture));
    const query = await engine.prepareQuery(await reshot());
    const fusedOrder = (await engine.search({ prepared: query }, { k: 5, verify: false })).hits.map((hit) => hit.path);
    const result = await engine.search({ prepared: query }, { k: 5 });
    assert.equal(result.hits[0]?.path, fixture('page-03.png'));
    assert.equal(result.hits[0]?.reasons.spatial?.verified, true);
    // Checked: the fused order up to and including the original, nothing after it.
    const checked = new Set(result.hits.filter((hit) => hit.reasons.spatial).map((hit) => hit.path));
    const upTo = fusedOrder.slice(0, fusedOrder.indexOf(fixture('page-03.png')) + 1);
    assert.deepEqual([...checked].sort(), [...upTo].sort());
    const none = await open(join(dir, 'other'), { verification: { candidates: 0, perSource: 0, extendTo: 0 } });
    await none.indexPaths(pages.map(fixture));
    assert.ok((await none.search({ image: await reshot() }, { k: 5 })).hits.every((hit) => hit.reasons.spatial === undefined));
    await none.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes on past a candidate verified with fewer inliers than extendUnlessInliers, and stops after one with as many', async () => {
    const dir = tempDir();
    const only = { candidates: 0, perSource: 0, stopAtInliers: Infinity, extendTo: 5, siblings: 0, budgetMs: Infinity };
    const engine = await open(join(dir, 'data'), { verification: { ...only, extendUnlessInliers: Infinity } });
    await engine.indexPaths(pages.map(fixture));
    const query = await engine.prepareQuery(await reshot());
    const fusedOrder = (await engine.search({ prepared: query }, { k: 5, verify: false })).hits.map((hit) => hit.path);
    const everything = await engine.search({ prepared: query }, { k: 5 });
    assert.equal(everything.hits[0]?.path, fixture('page-03.png'));
    // No verification is ever strong enough: all five candidates are checked.
    assert.deepEqual(everything.hits.filter((hit) => hit.reasons.spatial).map((hit) => hit.path).sort(), [...fusedOrder].sort());
    await engine.close();
    // A bar the original clears (it verifies with dozens of inliers): checked up to it, as by default.
    const strict = await open(join(dir, 'other'), { verification: { ...only, extendUnlessInliers: 12 } });
    await strict.indexPaths(pages.map(fixture));
    const result = await strict.search({ prepared: query }, { k: 5 });
    assert.ok(result.hits[0]!.reasons.spatial!.inliers >= 12);
    const upTo = fusedOrder.slice(0, fusedOrder.indexOf(fixture('page-03.png')) + 1);
    assert.deepEqual(result.hits.filter((hit) => hit.reasons.spatial).map((hit) => hit.path).sort(), [...upTo].sort());
    await strict.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('also verifies the candidates that look most like a verified one, and the one with more inliers goes first', async () => {
    const dir = tempDir();
    // A sibling design: page-03 whose lower part (half of the re-shot area) shows page-01 instead,
    // as two flavours of one brand share the top of their packaging.
    const [page03, page01] = [fixture('page-03.png'), fixture('page-01.png')];
    const lower = await sharp(page01).extract({ left: 0, top: 450, width: 600, height: 400 }).toBuffer();
    const sibling = join(dir, 'sibling.png');
    await sharp(page03).composite([{ input: lower, left: 0, top: 450 }]).png().toFile(sibling);
    const paths = [...pages.map(fixture), sibling];
    // Down the fused list up to the first verified candidate (see the test above; page-03 comes
    // first), then the three candidates closest to it by look: the fake embedder's thumbnails of
    // page-02 and page-04 are closer to page-03 than the sibling's, the sibling is the third.
    const only = { candidates: 0, perSource: 0, stopAtInliers: Infinity, extendTo: 6, budgetMs: Infinity };
    const engine = await open(join(dir, 'data'), { verification: { ...only, siblings: 3 } });
    await engine.indexPaths(paths);
    const query = await engine.prepareQuery(await reshot());
    const result = await engine.search({ prepared: query }, { k: 6 });
    const verified = result.hits.filter((hit) => hit.reasons.spatial?.verified);
    assert.deepEqual(verified.map((hit) => hit.path).sort(), [page03, sibling].sort());
    assert.deepEqual(result.hits.slice(0, 2).map((hit) => hit.path), [page03, sibling]);
    assert.ok(verified[0]!.reasons.spatial!.inliers > verified[1]!.reasons.spatial!.inliers, JSON.stringify(verified.map((hit) => hit.reasons.spatial)));
    await engine.close();
    const none = await open(join(dir, 'other'), { verification: { ...only, siblings: 0 } });
    await none.indexPaths(paths);
    assert.equal((await none.search({ prepared: query }, { k: 6 })).hits.filter((hit) => hit.reasons.spatial?.verified).length, 1);
    await none.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks no further candidate once the time budget is spent', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'), { verification: { budgetMs: 0, stopAtInliers: Infinity } });
    await engine.indexPaths(pages.map(fixture));
    const result = await engine.search({ image: await reshot() }, { k: 5 });
    assert.equal(result.hits.filter((hit) => hit.reasons.spatial).length, 1);
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores no local features and verifies nothing when turned off', async () => {
    const dir = tempDir();
    const engine = await open(join(dir, 'data'), { verification: false });
    await engine.indexPaths(pages.map(fixture));
    const result = await engine.search({ image: await reshot() }, { k: 5 });
    assert.ok(result.hits.every((hit) => hit.reasons.spatial === undefined));
    assert.deepEqual(engine.store.imageKeys().map(({ id }) => engine.store.getLocalFeatures(id, localFeaturesId)), pages.map(() => undefined));
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('Sagasu.search confidence', () => {
  it('scores image queries with the calibration model and its threshold, text-only queries with the heuristic', async () => {
    const { dir, engine } = await indexedGallery();
    const image = await engine.search({ image: await blocksPng(2, 66, 48) });
    assert.equal(image.confidenceThreshold, defaultCalibrationModel.threshold);
    const top = image.hits[0]!;
    assert.ok(top.confidence > 0 && top.confidence <= 1);
    const text = await engine.search({ text: 'midnight bakery' });
    assert.equal(text.confidenceThreshold, 0.5);
    await engine.close();
    const heuristic = await open(join(dir, 'data'), { calibration: false });
    const plain = await heuristic.search({ image: await blocksPng(2, 66, 48) });
    assert.equal(plain.confidenceThreshold, 0.5);
    assert.equal(plain.hits[0]!.confidence, Math.round(heuristicConfidence({ reasons: plain.hits[0]!.reasons, queryTerms: 3 }) * 1000) / 1000);
    await heuristic.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a calibration model of another version', async () => {
    const dir = tempDir();
    await assert.rejects(open(join(dir, 'data'), { calibration: { ...defaultCalibrationModel, version: 2 as 3 } }), /calibration model version 2 is not supported/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('Sagasu region vectors', () => {
  const grids = defaultRegionOptions.grids;
  const regionsPerImage = regionBoxes(360, 360, grids).length;

  /** Two 360x360 pictures (large enough for regions) beside the small gallery. */
  async function withLargeImages(extra: Partial<SagasuOptions> = {}) {
    const dir = tempDir();
    const files = await gallery(dir);
    const large = [join(dir, 'gallery', 'large-1.png'), join(dir, 'gallery', 'large-2.png')];
    writeFileSync(large[0]!, await blocksPng(7, 360, 360));
    writeFileSync(large[1]!, await blocksPng(8, 360, 360));
    const embedder = new ThumbnailEmbedder();
    const engine = await open(join(dir, 'data'), { embedder, ...extra });
    await engine.indexPaths([join(dir, 'gallery')]);
    return { dir, engine, embedder, files, large };
  }

  it('embeds the grid of regions of each image large enough, and finds an image by one of its parts', async () => {
    const { engine, embedder, large } = await withLargeImages();
    assert.equal(regionsPerImage, 20);
    // 3 small images (whole only) and 2 large ones (whole and 20 regions each).
    assert.equal(embedder.calls, 3 + 2 * (1 + regionsPerImage));
    assert.deepEqual(engine.stats().indexes, { text: 5, vector: 5, hash: 5, region: 2 * regionsPerImage });
    const box = regionBoxes(360, 360, grids)[9]!;
    const part = await sharp(await blocksPng(8, 360, 360)).extract({ left: box.x, top: box.y, width: box.w, height: box.h }).png().toBuffer();
    const result = await engine.search({ image: part }, { sources: ['visual'], verify: false, k: 3 });
    assert.equal(result.hits[0]?.path, large[1]);
    const detail = result.hits[0]?.reasons.visual?.detail;
    assert.equal(detail?.region, 9);
    assert.deepEqual(detail?.regionBox, regionFraction(9, grids));
    // An exact part scores 1 less the penalty that keeps whole-image matches ahead of parts.
    assert.equal(detail?.similarity, 1 - defaultRegionOptions.penalty);
    // Its colours are compared with the region's own, not with the whole picture's.
    const partColours = colourSignature((await decodeImage(part)).image)!;
    const page = (await decodeImage(await blocksPng(8, 360, 360))).image;
    const regionMatch = colourSimilarity(partColours, colourSignature(page, box)!);
    assert.equal(detail?.colour, Math.round(regionMatch * 10_000) / 10_000);
    assert.ok(colourSimilarity(partColours, colourSignature(page)!) < regionMatch - 0.1);
    await engine.close();
  });

  it('indexes a comic page\'s panels as its small windows, and says which panel a query matched', async () => {
    const dir = tempDir();
    const { engine, embedder } = await withLargeImages();
    const panels = [
      { x: 20, y: 20, w: 560, h: 280 },
      { x: 20, y: 320, w: 270, h: 460 },
      { x: 310, y: 320, w: 270, h: 460 },
    ];
    const pageBytes = await panelPagePng(11, 600, 800, panels);
    const calls = embedder.calls;
    writeFileSync(join(dir, 'page.png'), pageBytes);
    const added = await engine.addFile(join(dir, 'page.png'));
    // The whole page, its 4 large windows and its 3 panels (no 4x4 grid).
    assert.equal(embedder.calls - calls, 1 + 4 + 3);
    assert.equal(engine.stats().indexes.region, 2 * regionsPerImage + 4 + 3);
    const found = await detectPanels((await decodeImage(pageBytes)).image);
    // The lower right panel, cut by a user along its gutter (a pixel of paper around it).
    const lowerRight = found.findIndex((box) => box.x > 300 && box.y > 300);
    const cut = await sharp(pageBytes).extract({ left: 309, top: 319, width: 272, height: 462 }).png().toBuffer();
    const result = await engine.search({ image: cut }, { sources: ['visual'], verify: false, k: 3 });
    assert.equal(result.hits[0]?.imageId, added.imageId);
    const detail = result.hits[0]?.reasons.visual?.detail;
    assert.equal(detail?.region, 4 + lowerRight);
    const layout = `2x2@0.650+panels:${found.map((b) => [b.x / 600, b.y / 800, b.w / 600, b.h / 800].map((v) => v.toFixed(3)).join(',')).join(';')}`;
    assert.deepEqual(detail?.regionBox, regionFractionIn(layout, 4 + lowerRight));
    assert.ok(Math.abs((detail?.regionBox as { x: number }).x - 310 / 600) < 0.01);
    assert.equal(detail?.panel, true);
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('searches pages indexed without panels beside pages indexed with them, each by its own windows', async () => {
    const dir = tempDir();
    const boxes = [
      { x: 20, y: 20, w: 560, h: 280 },
      { x: 20, y: 320, w: 270, h: 460 },
      { x: 310, y: 320, w: 270, h: 460 },
    ];
    const [older, newer] = [join(dir, 'older.png'), join(dir, 'newer.png')];
    writeFileSync(older, await panelPagePng(12, 600, 800, boxes));
    writeFileSync(newer, await panelPagePng(13, 600, 800, boxes));
    // An earlier version (grids only) indexed the first page; this one indexes the second.
    const before = await open(join(dir, 'data'), { regionVectors: { panels: false } });
    await before.addFile(older);
    await before.close();
    const engine = await open(join(dir, 'data'));
    await engine.addFile(newer);
    assert.equal(engine.stats().indexes.region, 20 + 4 + 3);
    const layouts = [...engine.store.regionLayoutsOf(engine.store.imageKeys().map(({ id }) => id)).values()];
    assert.deepEqual(layouts.map((layout) => layout.split(':')[0]).sort(), ['2x2@0.650+4x4@0.333', '2x2@0.650+panels']);
    // Cut from the older page: its last 4x4 window; from the newer: its lower right panel.
    const cuts = { grid: { left: 400, top: 533, width: 200, height: 267 }, panel: { left: 309, top: 319, width: 272, height: 462 } };
    for (const [path, grid] of [[older, true], [newer, false]] as const) {
      const cut = await sharp(path).extract(grid ? cuts.grid : cuts.panel).png().toBuffer();
      const hit = (await engine.search({ image: cut }, { sources: ['visual'], verify: false, k: 1 })).hits[0]!;
      assert.equal(hit.path, path);
      const { region, regionBox } = hit.reasons.visual!.detail as { region: number; regionBox: { x: number; w: number } };
      // Each window read with its own page's layout: window 19 of the older one is its last 4x4
      // window; windows 4 on of the newer one are its panels.
      const panel = hit.reasons.visual!.detail!['panel'];
      if (grid) assert.deepEqual([region, Math.abs(regionBox.x - 2 / 3) < 0.001, Math.abs(regionBox.w - 1 / 3) < 0.001, panel], [19, true, true, undefined], JSON.stringify(regionBox));
      else assert.deepEqual([region >= 4, Math.abs(regionBox.x - 310 / 600) < 0.01, Math.abs(regionBox.w - 270 / 600) < 0.01, panel], [true, true, true, true], JSON.stringify(regionBox));
    }
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops the regions of a removed image, and keeps them across a snapshot, a replay and a rebuild', async () => {
    const { dir, engine, large } = await withLargeImages();
    assert.equal(engine.removeFile(large[0]!), 1);
    assert.equal(engine.stats().indexes.region, regionsPerImage);
    await engine.close();
    let again = await open(join(dir, 'data'));
    assert.equal(again.stats().indexes.region, regionsPerImage);
    // Committed after the last snapshot, then a crash: replayed from the store at the next open.
    writeFileSync(large[0]!, await blocksPng(9, 360, 360));
    await again.addFile(large[0]!);
    again.store.close();
    again = await open(join(dir, 'data'));
    assert.equal(again.stats().indexes.region, 2 * regionsPerImage);
    await again.close();
    for (const name of readdirSync(join(dir, 'data'))) if (name.startsWith('region-index')) rmSync(join(dir, 'data', name));
    again = await open(join(dir, 'data'));
    assert.equal(again.stats().indexes.region, 2 * regionsPerImage);
    assert.equal(again.store.regionVectorCount(), 2 * regionsPerImage);
    await again.close();
  });

  it('indexes an image by its whole vector, with a warning, when its regions cannot be embedded', async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const whole = new ThumbnailEmbedder();
    // Fails on every window (smaller than the 360-px image), embeds the image itself.
    const embedder = { modelId: whole.modelId, dimension: whole.dimension, close: async () => {}, embed: async (image: DecodedImage) => (image.width < 360 ? Promise.reject(new Error('no memory for a window')) : whole.embed(image)) };
    const engine = await open(join(dir, 'data'), { embedder, logger: { info: () => {}, warn: (message) => warnings.push(message) } });
    writeFileSync(join(dir, 'large.png'), await blocksPng(7, 360, 360));
    assert.equal((await engine.addFile(join(dir, 'large.png'))).status, 'added');
    assert.deepEqual(engine.stats().indexes, { text: 1, vector: 1, hash: 1, region: 0 });
    assert.deepEqual(warnings, ['region vectors skipped: no memory for a window']);
    await engine.close();
  });

  it('embeds no regions when turned off or for small images, and refuses another layout for a data directory that has some', async () => {
    const small = await withLargeImages({ regionVectors: { minWindowSide: 200 } });
    // 360-px images: only the four windows of 0.65 (234 px) are large enough.
    assert.equal(small.engine.stats().indexes.region, 2 * 4);
    await small.engine.close();
    const off = await withLargeImages({ regionVectors: false });
    assert.equal(off.embedder.calls, 5);
    assert.equal(off.engine.stats().indexes.region, 0);
    await off.engine.close();
    const { dir, engine } = await withLargeImages();
    await engine.close();
    await assert.rejects(
      open(join(dir, 'data'), { regionVectors: { grids: [{ across: 2, down: 2, share: 0.5 }] } }),
      (error: SagasuError) => error.code === 'INVALID_OPTION' && /holds region vectors of layout 2x2@0\.650\+4x4@0\.333/.test(error.message),
    );
    await assert.rejects(open(join(dir, 'data', 'other'), { regionVectors: { grids: [{ across: 6, down: 6, share: 0.2 }] } }), /1 to 32 regions/);
    // Turning regions off is allowed: nothing new gets regions, the stored ones are still searched.
    const without = await open(join(dir, 'data'), { regionVectors: false });
    assert.equal(without.stats().indexes.region, 2 * regionsPerImage);
    await without.close();
  });
});
