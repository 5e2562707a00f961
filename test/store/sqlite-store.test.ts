import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SagasuError } from '../../src/errors.js';
import { SqliteStore, sourceKey, type NewImage, type SourceInput } from '../../src/store/sqlite-store.js';
import { scratchDir } from '../helpers/scratch.js';

const identity = { modelId: 'model-a', dimension: 3 };
const tempDb = () => join(scratchDir('sagasu-store-'), 'sagasu.db');

function image(sha: string, scope = 'local'): NewImage {
  return {
    scope,
    sha256: sha,
    phash: '00000000000000ff',
    width: 10,
    height: 20,
    format: 'png',
    bytes: 123,
    ocrText: 'hello',
    ocrLines: [{ text: 'hello', confidence: 91, box: { x: 1, y: 2, w: 3, h: 4 }, orientation: 'horizontal', language: 'eng', words: [], region: 0 }],
    ocrRegions: [{ box: { x: 0, y: 0, w: 10, h: 10 }, kind: 'block', orientation: 'horizontal' }],
    embedding: Float32Array.from([0.6, 0.8, 0]),
    modelId: 'model-a',
    ocrId: 'test-ocr',
  };
}

const file = (path: string): SourceInput => ({ kind: 'file', path, absolutePath: '/abs/' + path });

describe('SqliteStore.open', () => {
  it('refuses a store written with another model or dimension', () => {
    const db = tempDb();
    SqliteStore.open(db, identity).close();
    for (const other of [{ modelId: 'model-b', dimension: 3 }, { modelId: 'model-a', dimension: 4 }]) {
      assert.throws(
        () => SqliteStore.open(db, other),
        (error: unknown) =>
          error instanceof SagasuError &&
          error.code === 'MODEL_MISMATCH' &&
          error.message.startsWith('sagasu: the store ') &&
          error.message.includes('was indexed with model "model-a" (3-d)'),
      );
    }
    SqliteStore.open(db, identity).close();
  });
});

describe('SqliteStore images and sources', () => {
  it('round-trips an image with its embedding, OCR lines and source', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const id = store.transaction(() => {
      const imageId = store.insertImage(image('a'));
      store.attachSource(imageId, 'local', file('x.png'));
      return imageId;
    });
    const got = store.getImage(id)!;
    assert.deepEqual([...got.embedding], [...Float32Array.from([0.6, 0.8, 0])]);
    assert.deepEqual(got.ocrLines, image('a').ocrLines);
    assert.deepEqual(got.ocrRegions, image('a').ocrRegions);
    assert.deepEqual(store.getImageText(id), { id, ocrText: got.ocrText, ocrLines: got.ocrLines, ocrRegions: got.ocrRegions });
    assert.equal(store.getImageText(id + 1), undefined);
    assert.equal(store.findImageBySha('local', 'a')?.id, id);
    assert.equal(store.findImageBySha('other', 'a'), undefined);
    assert.equal(store.imageIdWithSha('local', 'a'), id);
    assert.equal(store.imageIdWithSha('other', 'a'), undefined);
    assert.deepEqual(store.imageKeys(), [{ id, scope: 'local', phash: got.phash }]);
    const [source] = store.sourcesOf(id);
    assert.deepEqual([source?.kind, source?.path, source?.fileName, source?.key], ['file', 'x.png', 'x.png', 'file:/abs/x.png']);
    assert.deepEqual(store.changesSince(0).map((c) => [c.imageId, c.op]), [[id, 'add']]);
    store.close();
  });

  it('keeps one image per scope and bytes', () => {
    const store = SqliteStore.open(tempDb(), identity);
    store.insertImage(image('a'));
    assert.throws(() => store.insertImage(image('a')), /UNIQUE/);
    store.insertImage(image('a', 'guild-2'));
    assert.equal(store.counts().images, 2);
    store.close();
  });

  it('moves a source to new bytes and reports the image it left', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const first = store.insertImage(image('a'));
    store.attachSource(first, 'local', file('x.png'));
    const second = store.insertImage(image('b'));
    assert.deepEqual(store.attachSource(second, 'local', file('x.png')).previousImageId, first);
    assert.equal(store.deleteImageIfOrphaned(first), first);
    assert.equal(store.getImage(first), undefined);
    assert.deepEqual(store.changesSince(0).map((c) => c.op), ['add', 'add', 'remove']);
    store.close();
  });

  it('removes an image with its last source only', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const id = store.insertImage(image('a'));
    const one = store.attachSource(id, 'local', file('x.png')).sourceId;
    const two = store.attachSource(id, 'local', file('y.png')).sourceId;
    assert.equal(store.detachSource(one, id), undefined);
    assert.ok(store.getImage(id));
    assert.equal(store.detachSource(two, id), id);
    assert.equal(store.getImage(id), undefined);
    store.close();
  });

  it('keys Discord sources by guild, channel, message and attachment', () => {
    const source: SourceInput = { kind: 'discord', guildId: 'g', channelId: 'c', messageId: 'm', attachmentId: 'a', authorId: 'u' };
    assert.equal(sourceKey(source), 'discord:g/c/m/a');
    const store = SqliteStore.open(tempDb(), identity);
    const id = store.insertImage(image('a', 'g'));
    store.attachSource(id, 'g', source);
    assert.deepEqual(store.findSources({ guildId: 'g', messageId: 'm' }).map((s) => [s.channelId, s.authorId, s.path]), [['c', 'u', null]]);
    store.close();
  });

  it('refuses an embedding from another model', () => {
    const store = SqliteStore.open(tempDb(), identity);
    assert.throws(() => store.insertImage({ ...image('a'), embedding: new Float32Array(4) }), (e: unknown) => e instanceof SagasuError && e.code === 'MODEL_MISMATCH');
    store.close();
  });
});

describe('SqliteStore changes', () => {
  it('lists changes after a sequence number and trims them', () => {
    const store = SqliteStore.open(tempDb(), identity);
    store.insertImage(image('a'));
    store.insertImage(image('b'));
    const last = store.lastChangeSeq();
    assert.equal(last, 2);
    assert.deepEqual(store.changesSince(1).map((c) => c.seq), [2]);
    store.trimChanges(last);
    assert.deepEqual(store.changesSince(0), []);
    store.insertImage(image('c'));
    assert.equal(store.lastChangeSeq(), 3); // sequence numbers are never reused
    store.close();
  });
});

describe('SqliteStore locking', () => {
  it('refuses a second opener of the same file with a clear LOCKED error, and lets it in after close', () => {
    const db = tempDb();
    const first = SqliteStore.open(db, identity);
    assert.throws(
      () => SqliteStore.open(db, identity),
      (error: unknown) =>
        error instanceof SagasuError &&
        error.code === 'LOCKED' &&
        error.message.includes(`is in use by another sagasu process (process ${process.pid}, since `),
    );
    first.close();
    SqliteStore.open(db, identity).close();
  });
});

describe('SqliteStore.backup', () => {
  it('copies a store in use into a file that opens with the same content', async () => {
    const db = tempDb();
    const store = SqliteStore.open(db, identity);
    const id = store.insertImage(image('a'));
    store.attachSource(id, 'local', file('x.png'));
    const copy = tempDb();
    await store.backup(copy);
    store.close();
    const restored = SqliteStore.open(copy, identity);
    assert.deepEqual(restored.getImage(id)?.ocrText, 'hello');
    assert.deepEqual(restored.sourcesOf(id).map((s) => s.path), ['x.png']);
    restored.close();
  });
});

describe('SqliteStore region vectors', () => {
  it('stores an image\'s region vectors as half floats, returns them in order, counts them and deletes them with the image', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const regions = [Float32Array.of(1, 0, 0), Float32Array.of(0, 0.5, -0.25)];
    const withRegions = store.insertImage({ ...image('a'.repeat(64)), regionEmbeddings: { layout: '2x1@0.500', vectors: regions } });
    store.attachSource(withRegions, 'local', file('a.png'));
    const without = store.insertImage(image('b'.repeat(64)));
    store.attachSource(without, 'local', file('b.png'));
    assert.deepEqual([...store.regionEmbeddingsOf([withRegions, without, 999])].map(([id, vectors]) => [id, vectors.map((v) => Array.from(v))]), [
      [withRegions, [[1, 0, 0], [0, 0.5, -0.25]]],
    ]);
    assert.equal(store.regionVectorCount(), 2);
    assert.deepEqual(
      [...store.iterateIndexRows()].map((row) => [row.id, row.regions?.length]),
      [[withRegions, 2], [without, undefined]],
    );
    assert.throws(() => store.insertImage({ ...image('c'.repeat(64)), regionEmbeddings: { layout: 'x', vectors: [Float32Array.of(1, 0)] } }), /region vector of 2 values/);
    assert.equal(store.findImageBySha('local', 'c'.repeat(64)), undefined);
    store.deleteImageIfOrphaned(withRegions);
    assert.equal(store.detachSource(store.findSource('local', sourceKey(file('a.png')))!.id, withRegions), withRegions);
    assert.equal(store.regionVectorCount(), 0);
    store.close();
  });
});

describe('SqliteStore colour signatures', () => {
  it('returns the signatures of the asked images made by the asked version, and deletes them with the image', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const signature = Uint8Array.from({ length: 16 }, (_, i) => i * 2);
    const coloured = store.insertImage({ ...image('a'.repeat(64)), colour: { kind: 'hue16-v1', signature } });
    store.attachSource(coloured, 'local', file('a.png'));
    const grey = store.insertImage(image('b'.repeat(64)));
    const older = store.insertImage({ ...image('c'.repeat(64)), colour: { kind: 'hue8-v0', signature: new Uint8Array(8) } });
    assert.deepEqual([...store.colourSignaturesOf([coloured, grey, older, 999], 'hue16-v1')].map(([id, s]) => [id, Array.from(s)]), [[coloured, Array.from(signature)]]);
    assert.deepEqual([...store.colourSignaturesOf([], 'hue16-v1')], []);
    store.detachSource(store.findSource('local', sourceKey(file('a.png')))!.id, coloured);
    assert.deepEqual([...store.colourSignaturesOf([coloured], 'hue16-v1')], []);
    store.close();
  });
  it('keeps an empty signature (an image measured without colour) apart from none', () => {
    const store = SqliteStore.open(tempDb(), identity);
    const blackAndWhite = store.insertImage({ ...image('d'.repeat(64)), colour: { kind: 'hue16-v1', signature: new Uint8Array(0) } });
    const unmeasured = store.insertImage(image('e'.repeat(64)));
    assert.deepEqual([...store.colourSignaturesOf([blackAndWhite, unmeasured], 'hue16-v1')], [[blackAndWhite, new Uint8Array(0)]]);
    store.close();
  });
});
