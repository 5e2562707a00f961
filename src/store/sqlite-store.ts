import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as DatabaseHandle, Statement } from 'better-sqlite3';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { SagasuError } from '../errors.js';
import type { OcrLine, OcrRegion } from '../types.js';

/**
 * The source of truth: one SQLite file. The text, vector and hash indexes are derived from it
 * and can be rebuilt from it at any time.
 *
 * Images are stored once per (scope, SHA-256 of the bytes); every place the same bytes were seen
 * (a file path, a Discord attachment) is a source pointing at that image. Re-indexing the same
 * bytes therefore never duplicates an index entry, and an image disappears from the indexes when
 * its last source is removed.
 */
export const storeSchemaVersion = 1;

export type SourceInput =
  | { kind: 'file'; path: string; absolutePath: string; caption?: string }
  | {
      kind: 'discord';
      guildId: string;
      channelId: string;
      messageId: string;
      attachmentId: string;
      authorId?: string;
      fileName?: string;
      caption?: string;
      /** When the message was posted (ms since epoch). */
      postedAt?: number;
    };

/** One image as the text and vector indexes see it (see {@link SqliteStore.iterateIndexRows}). */
export interface IndexRow {
  id: number;
  ocrText: string;
  /** File name and caption of each source, in source order. */
  names: string[];
  embedding: Float32Array;
  /** The image's region vectors, when it has any (see {@link SqliteStore.regionEmbeddingsOf}). */
  regions?: Float32Array[];
}

export interface SourceRecord {
  id: number;
  imageId: number;
  scope: string;
  kind: 'file' | 'discord';
  /** Unique within a scope: the absolute file path, or guild/channel/message/attachment ids. */
  key: string;
  path: string | null;
  guildId: string | null;
  channelId: string | null;
  messageId: string | null;
  attachmentId: string | null;
  authorId: string | null;
  fileName: string | null;
  caption: string | null;
  postedAt: number | null;
  createdAt: number;
}

export interface ImageRecord {
  id: number;
  scope: string;
  sha256: string;
  phash: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  ocrText: string;
  ocrLines: OcrLine[];
  /** The text regions OCR read; each line's `region` indexes into this. */
  ocrRegions: OcrRegion[];
  embedding: Float32Array;
  modelId: string;
  ocrId: string;
  createdAt: number;
  updatedAt: number;
}

export type NewImage = Omit<ImageRecord, 'id' | 'createdAt' | 'updatedAt'> & {
  /** Encoded local features (src/verification) and the extractor that made them. */
  localFeatures?: { extractor: string; features: Buffer };
  /** Vectors of parts of the image (see the engine's `regionVectors`), each of the store's dimension. */
  regionEmbeddings?: { layout: string; vectors: readonly Float32Array[] };
  /** The image's colour signature (src/embedding/colour.ts) and the version that made it. */
  colour?: { kind: string; signature: Uint8Array };
};

export interface StoreIdentity {
  modelId: string;
  dimension: number;
}

export interface ChangeRecord {
  seq: number;
  imageId: number;
  op: 'add' | 'remove';
}

export function sourceKey(source: SourceInput): string {
  return source.kind === 'file'
    ? `file:${source.absolutePath}`
    : `discord:${source.guildId}/${source.channelId}/${source.messageId}/${source.attachmentId}`;
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
  id INTEGER PRIMARY KEY,
  scope TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  phash TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  format TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  ocr_text TEXT NOT NULL,
  ocr_lines TEXT NOT NULL,
  ocr_regions TEXT NOT NULL DEFAULT '[]',
  embedding BLOB NOT NULL,
  model_id TEXT NOT NULL,
  ocr_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (scope, sha256)
);
CREATE TABLE IF NOT EXISTS sources (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  path TEXT,
  guild_id TEXT,
  channel_id TEXT,
  message_id TEXT,
  attachment_id TEXT,
  author_id TEXT,
  file_name TEXT,
  caption TEXT,
  posted_at INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (scope, key)
);
-- What start-up reads for every image (imageKeys), in an index of its own: a scan of the images
-- table reads each row's local part (up to 4 KB with the embedding), 5.3 s at 1M images.
CREATE INDEX IF NOT EXISTS images_scope_phash ON images (id, scope, phash);
CREATE INDEX IF NOT EXISTS sources_image ON sources (image_id);
CREATE INDEX IF NOT EXISTS sources_path ON sources (path);
CREATE INDEX IF NOT EXISTS sources_message ON sources (guild_id, channel_id, message_id);
-- Every change to the set of images, in order: derived indexes snapshot the last sequence
-- number they include and replay the rest at start, so a crash between a commit and a
-- snapshot loses nothing.
-- ORB keypoints and descriptors for spatial verification, apart from images so that reading
-- an image record does not drag ~40 KB of features along. Rows are optional: a store indexed
-- before they existed, or an image without texture, has none and is simply not verified.
CREATE TABLE IF NOT EXISTS local_features (
  image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  extractor TEXT NOT NULL,
  features BLOB NOT NULL
);
-- Vectors of parts of an image (a grid of regions), so that a crop or one panel finds the page.
-- All of an image's regions in one row, as half floats: they are always read and written together. Optional
-- rows, as for local_features: a store indexed before they existed simply has none.
CREATE TABLE IF NOT EXISTS region_embeddings (
  image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  layout TEXT NOT NULL,
  count INTEGER NOT NULL,
  vectors BLOB NOT NULL
);
-- Colour signatures (a hue histogram of a few bytes), read for the visual candidates of a query.
-- An image without colour has an empty signature; one indexed before they existed has no row.
CREATE TABLE IF NOT EXISTS colour_signatures (
  image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id INTEGER NOT NULL,
  op TEXT NOT NULL
);
`;

interface ImageRow {
  id: number;
  scope: string;
  sha256: string;
  phash: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  ocr_text: string;
  ocr_lines: string;
  ocr_regions: string;
  embedding: Buffer;
  model_id: string;
  ocr_id: string;
  created_at: number;
  updated_at: number;
}

interface SourceRow {
  id: number;
  image_id: number;
  scope: string;
  kind: 'file' | 'discord';
  key: string;
  path: string | null;
  guild_id: string | null;
  channel_id: string | null;
  message_id: string | null;
  attachment_id: string | null;
  author_id: string | null;
  file_name: string | null;
  caption: string | null;
  posted_at: number | null;
  created_at: number;
}

export class SqliteStore {
  readonly file: string;
  readonly identity: StoreIdentity;
  private readonly db: DatabaseHandle;
  private readonly statements: Record<string, Statement>;

  private constructor(file: string, db: DatabaseHandle, identity: StoreIdentity) {
    this.file = file;
    this.db = db;
    this.identity = identity;
    const prepare = (sql: string) => db.prepare(sql);
    this.statements = {
      imageBySha: prepare('SELECT * FROM images WHERE scope = ? AND sha256 = ?'),
      imageIdBySha: prepare('SELECT id FROM images WHERE scope = ? AND sha256 = ?'),
      imageById: prepare('SELECT * FROM images WHERE id = ?'),
      imageTextById: prepare('SELECT id, ocr_text, ocr_lines, ocr_regions FROM images WHERE id = ?'),
      embeddingsByIds: prepare('SELECT id, embedding FROM images WHERE id IN (SELECT value FROM json_each(?))'),
      changeCount: prepare('SELECT COUNT(*) AS n FROM changes WHERE seq > ?'),
      insertImage: prepare(`INSERT INTO images (scope, sha256, phash, width, height, format, bytes, ocr_text, ocr_lines,
        ocr_regions, embedding, model_id, ocr_id, created_at, updated_at)
        VALUES (@scope, @sha256, @phash, @width, @height, @format, @bytes, @ocr_text, @ocr_lines, @ocr_regions, @embedding,
        @model_id, @ocr_id, @now, @now)`),
      deleteImage: prepare('DELETE FROM images WHERE id = ?'),
      touchImage: prepare('UPDATE images SET updated_at = ? WHERE id = ?'),
      sourceByKey: prepare('SELECT * FROM sources WHERE scope = ? AND key = ?'),
      sourcesByImage: prepare('SELECT * FROM sources WHERE image_id = ? ORDER BY id'),
      sourcesByPath: prepare('SELECT * FROM sources WHERE path = ? ORDER BY id'),
      countSourcesOfImage: prepare('SELECT COUNT(*) AS n FROM sources WHERE image_id = ?'),
      insertSource: prepare(`INSERT INTO sources (image_id, scope, kind, key, path, guild_id, channel_id, message_id,
        attachment_id, author_id, file_name, caption, posted_at, created_at)
        VALUES (@image_id, @scope, @kind, @key, @path, @guild_id, @channel_id, @message_id, @attachment_id, @author_id,
        @file_name, @caption, @posted_at, @now)`),
      updateSource: prepare(`UPDATE sources SET image_id = @image_id, path = @path, file_name = @file_name,
        caption = @caption, author_id = @author_id, posted_at = @posted_at WHERE id = @id`),
      deleteSource: prepare('DELETE FROM sources WHERE id = ?'),
      addChange: prepare('INSERT INTO changes (image_id, op) VALUES (?, ?)'),
      changesSince: prepare('SELECT seq, image_id AS imageId, op FROM changes WHERE seq > ? ORDER BY seq'),
      lastSeq: prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0) AS seq"),
      trimChanges: prepare('DELETE FROM changes WHERE seq <= ?'),
      setMeta: prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      getMeta: prepare('SELECT value FROM meta WHERE key = ?'),
      insertFeatures: prepare('INSERT OR REPLACE INTO local_features (image_id, extractor, features) VALUES (?, ?, ?)'),
      featuresById: prepare('SELECT features FROM local_features WHERE image_id = ? AND extractor = ?'),
      insertRegions: prepare('INSERT OR REPLACE INTO region_embeddings (image_id, layout, count, vectors) VALUES (?, ?, ?, ?)'),
      regionsByIds: prepare('SELECT image_id AS id, vectors FROM region_embeddings WHERE image_id IN (SELECT value FROM json_each(?))'),
      regionLayoutsByIds: prepare('SELECT image_id AS id, layout FROM region_embeddings WHERE image_id IN (SELECT value FROM json_each(?))'),
      insertColour: prepare('INSERT OR REPLACE INTO colour_signatures (image_id, kind, signature) VALUES (?, ?, ?)'),
      coloursByIds: prepare('SELECT image_id AS id, signature FROM colour_signatures WHERE kind = ? AND image_id IN (SELECT value FROM json_each(?))'),
      regionCount: prepare('SELECT COALESCE(SUM(count), 0) AS n FROM region_embeddings'),
    };
  }

  /**
   * Opens (creating if needed) the store. A store written with another embedding model or
   * dimension is refused: vectors from two models are not comparable.
   */
  static open(file: string, identity: StoreIdentity): SqliteStore {
    let db: DatabaseHandle;
    try {
      db = new Database(file);
    } catch (error) {
      throw new SagasuError('NOT_FOUND', `cannot open the store ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
      lockExclusively(db, file);
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a process crash (kill -9); only an OS crash can lose the last commits.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Deleted rows (OCR text, hashes, embeddings) are overwritten, not left in free pages.
      db.pragma('secure_delete = ON');
      db.exec(schema);
      // Added after schema version 1 shipped; older files get the column with an empty default.
      const columns = (db.prepare('PRAGMA table_info(images)').all() as Array<{ name: string }>).map((c) => c.name);
      if (!columns.includes('ocr_regions')) db.exec("ALTER TABLE images ADD COLUMN ocr_regions TEXT NOT NULL DEFAULT '[]'");
      const get = (key: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
      const version = get('schema_version');
      if (version !== undefined && Number(version) !== storeSchemaVersion) {
        throw new SagasuError(
          'STORE_VERSION',
          `the store ${file} has schema version ${version}; this sagasu reads version ${storeSchemaVersion}`,
        );
      }
      const storedModel = get('model_id');
      const storedDimension = get('dimension');
      if (storedModel !== undefined && (storedModel !== identity.modelId || Number(storedDimension) !== identity.dimension)) {
        throw new SagasuError(
          'MODEL_MISMATCH',
          `the store ${file} was indexed with model "${storedModel}" (${storedDimension}-d) but this process uses ` +
            `"${identity.modelId}" (${identity.dimension}-d); use another data directory or re-index`,
        );
      }
      if (storedModel === undefined) {
        const set = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
        db.transaction(() => {
          set.run('schema_version', String(storeSchemaVersion));
          set.run('model_id', identity.modelId);
          set.run('dimension', String(identity.dimension));
        })();
      }
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') throw lockedError(file, error);
      throw error;
    }
    writeOwner(file);
    return new SqliteStore(file, db, identity);
  }

  close(): void {
    if (!this.db.open) return;
    // Fold the write-ahead log into the main file: a backup of sagasu.db alone is then complete,
    // and pages of deleted records do not linger in the log.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
    rmSync(ownerFile(this.file), { force: true });
  }

  /** Copies the store to `destination` while it is in use (SQLite online backup). */
  async backup(destination: string): Promise<void> {
    await this.db.backup(destination);
  }

  /** Folds the write-ahead log into the main file (see close). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Runs `fn` in one transaction: all its writes land together or not at all. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | undefined {
    return (this.statements.getMeta!.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.statements.setMeta!.run(key, value);
  }

  findImageBySha(scope: string, sha256: string): ImageRecord | undefined {
    const row = this.statements.imageBySha!.get(scope, sha256) as ImageRow | undefined;
    return row && toImage(row);
  }

  getImage(id: number): ImageRecord | undefined {
    const row = this.statements.imageById!.get(id) as ImageRow | undefined;
    return row && toImage(row);
  }

  /**
   * An image's OCR text and lines, without its vector: what a search result shows. The columns
   * come before the embedding in the row, so its overflow pages (5 KB) are not read.
   */
  getImageText(id: number): Pick<ImageRecord, 'id' | 'ocrText' | 'ocrLines' | 'ocrRegions'> | undefined {
    const row = this.statements.imageTextById!.get(id) as Pick<ImageRow, 'id' | 'ocr_text' | 'ocr_lines' | 'ocr_regions'> | undefined;
    return row && { id: row.id, ocrText: row.ocr_text, ocrLines: JSON.parse(row.ocr_lines) as OcrLine[], ocrRegions: JSON.parse(row.ocr_regions) as OcrRegion[] };
  }

  findSource(scope: string, key: string): SourceRecord | undefined {
    const row = this.statements.sourceByKey!.get(scope, key) as SourceRow | undefined;
    return row && toSource(row);
  }

  sourcesOf(imageId: number): SourceRecord[] {
    return (this.statements.sourcesByImage!.all(imageId) as SourceRow[]).map(toSource);
  }

  sourcesByPath(path: string): SourceRecord[] {
    return (this.statements.sourcesByPath!.all(path) as SourceRow[]).map(toSource);
  }

  /** Sources matching a column filter, e.g. every attachment of one Discord message. */
  findSources(where: Partial<Record<'scope' | 'guildId' | 'channelId' | 'messageId' | 'authorId' | 'kind', string>>): SourceRecord[] {
    const columns: Record<string, string> = {
      scope: 'scope',
      guildId: 'guild_id',
      channelId: 'channel_id',
      messageId: 'message_id',
      authorId: 'author_id',
      kind: 'kind',
    };
    const entries = Object.entries(where).filter(([, value]) => value !== undefined);
    if (entries.length === 0) throw new SagasuError('INVALID_OPTION', 'findSources needs at least one condition');
    const sql = 'SELECT * FROM sources WHERE ' + entries.map(([key]) => `${columns[key]} = ?`).join(' AND ') + ' ORDER BY id';
    return (this.db.prepare(sql).all(...entries.map(([, value]) => value)) as SourceRow[]).map(toSource);
  }

  /** Inserts a new image and records the change. Call inside `transaction` together with `attachSource`. */
  insertImage(image: NewImage): number {
    if (image.embedding.length !== this.identity.dimension || image.modelId !== this.identity.modelId) {
      throw new SagasuError(
        'MODEL_MISMATCH',
        `an embedding from "${image.modelId}" (${image.embedding.length}-d) cannot go into a store of ` +
          `"${this.identity.modelId}" (${this.identity.dimension}-d)`,
      );
    }
    // Checked before anything is written: a bad region vector must not leave a half-inserted image.
    let regions: Buffer | undefined;
    if (image.regionEmbeddings && image.regionEmbeddings.vectors.length > 0) {
      const { vectors } = image.regionEmbeddings;
      const dimension = this.identity.dimension;
      const packed = new Float32Array(vectors.length * dimension);
      vectors.forEach((vector, index) => {
        if (vector.length !== dimension) {
          throw new SagasuError('MODEL_MISMATCH', `a region vector of ${vector.length} values cannot go into a store of ${dimension}-d vectors`);
        }
        packed.set(vector, index * dimension);
      });
      regions = encodeFloat16(packed);
    }
    const result = this.statements.insertImage!.run({
      scope: image.scope,
      sha256: image.sha256,
      phash: image.phash,
      width: image.width,
      height: image.height,
      format: image.format,
      bytes: image.bytes,
      ocr_text: image.ocrText,
      ocr_lines: JSON.stringify(image.ocrLines),
      ocr_regions: JSON.stringify(image.ocrRegions),
      embedding: Buffer.from(image.embedding.buffer, image.embedding.byteOffset, image.embedding.byteLength),
      model_id: image.modelId,
      ocr_id: image.ocrId,
      now: Date.now(),
    });
    const id = Number(result.lastInsertRowid);
    if (image.localFeatures) this.statements.insertFeatures!.run(id, image.localFeatures.extractor, image.localFeatures.features);
    if (regions) this.statements.insertRegions!.run(id, image.regionEmbeddings!.layout, image.regionEmbeddings!.vectors.length, regions);
    if (image.colour) this.statements.insertColour!.run(id, image.colour.kind, Buffer.from(image.colour.signature));
    this.statements.addChange!.run(id, 'add');
    return id;
  }

  /** The encoded local features of an image from this extractor, if any were stored. */
  getLocalFeatures(imageId: number, extractor: string): Buffer | undefined {
    return (this.statements.featuresById!.get(imageId, extractor) as { features: Buffer } | undefined)?.features;
  }

  /**
   * Points a source at an image (creating or moving it). Returns the image the source pointed at
   * before, if it was another one.
   */
  attachSource(imageId: number, scope: string, source: SourceInput): { sourceId: number; previousImageId?: number } {
    const key = sourceKey(source);
    const fields = {
      image_id: imageId,
      path: source.kind === 'file' ? source.path : null,
      file_name: source.kind === 'file' ? basename(source.path) : (source.fileName ?? null),
      caption: source.caption ?? null,
      author_id: source.kind === 'discord' ? (source.authorId ?? null) : null,
      posted_at: source.kind === 'discord' ? (source.postedAt ?? null) : null,
    };
    const existing = this.findSource(scope, key);
    if (existing) {
      this.statements.updateSource!.run({ ...fields, id: existing.id });
      this.statements.touchImage!.run(Date.now(), imageId);
      return existing.imageId === imageId
        ? { sourceId: existing.id }
        : { sourceId: existing.id, previousImageId: existing.imageId };
    }
    const result = this.statements.insertSource!.run({
      ...fields,
      scope,
      kind: source.kind,
      key,
      guild_id: source.kind === 'discord' ? source.guildId : null,
      channel_id: source.kind === 'discord' ? source.channelId : null,
      message_id: source.kind === 'discord' ? source.messageId : null,
      attachment_id: source.kind === 'discord' ? source.attachmentId : null,
      now: Date.now(),
    });
    return { sourceId: Number(result.lastInsertRowid) };
  }

  /** Removes a source; when it was the image's last one, removes the image too and returns its id. */
  detachSource(sourceId: number, imageId: number): number | undefined {
    this.statements.deleteSource!.run(sourceId);
    return this.deleteImageIfOrphaned(imageId);
  }

  deleteImageIfOrphaned(imageId: number): number | undefined {
    const { n } = this.statements.countSourcesOfImage!.get(imageId) as { n: number };
    if (n > 0) return undefined;
    this.statements.deleteImage!.run(imageId);
    this.statements.addChange!.run(imageId, 'remove');
    return imageId;
  }

  /**
   * What the text and vector indexes need of every image (id, OCR text, source names, embedding),
   * in id order, a page at a time with one query per page for the sources: rebuilding the indexes
   * of a million images must not cost two queries per image, nor hold them all in memory.
   */
  *iterateIndexRows(options: { regions?: boolean; pageSize?: number } = {}): Generator<IndexRow> {
    const { regions: withRegions = true, pageSize = 2000 } = options;
    // Region blobs (50 KB per image) are read only for a rebuild that needs them.
    const images = this.db.prepare(
      withRegions
        ? 'SELECT id, ocr_text, embedding, r.vectors AS regions FROM images LEFT JOIN region_embeddings r ON r.image_id = images.id WHERE id > ? ORDER BY id LIMIT ?'
        : 'SELECT id, ocr_text, embedding, NULL AS regions FROM images WHERE id > ? ORDER BY id LIMIT ?',
    );
    const sources = this.db.prepare('SELECT image_id, file_name, caption FROM sources WHERE image_id BETWEEN ? AND ? ORDER BY image_id, id');
    let after = 0;
    for (;;) {
      const rows = images.all(after, pageSize) as Array<{ id: number; ocr_text: string; embedding: Buffer; regions: Buffer | null }>;
      if (rows.length === 0) return;
      const names = new Map<number, string[]>();
      for (const source of sources.all(rows[0]!.id, rows[rows.length - 1]!.id) as Array<{ image_id: number; file_name: string | null; caption: string | null }>) {
        const name = sourceName({ fileName: source.file_name, caption: source.caption });
        const list = names.get(source.image_id);
        if (list) list.push(name);
        else names.set(source.image_id, [name]);
      }
      for (const row of rows) {
        const regions = row.regions ? this.unpackRegions(row.regions) : undefined;
        yield { id: row.id, ocrText: row.ocr_text, names: names.get(row.id) ?? [], embedding: toEmbedding(row.embedding), ...(regions ? { regions } : {}) };
      }
      after = rows[rows.length - 1]!.id;
    }
  }

  /** The stored (full) embeddings of these images (absent ids are left out), e.g. to re-rank candidates found in a reduced vector index. */
  embeddingsOf(ids: readonly number[]): Map<number, Float32Array> {
    const found = new Map<number, Float32Array>();
    if (ids.length === 0) return found;
    // One prepared statement for any number of ids (a JSON array), called on every visual search.
    for (const row of this.statements.embeddingsByIds!.all(JSON.stringify(ids)) as Array<{ id: number; embedding: Buffer }>) {
      found.set(row.id, toEmbedding(row.embedding));
    }
    return found;
  }

  /** The stored region vectors of these images, in region order (images without any are left out). */
  regionEmbeddingsOf(ids: readonly number[]): Map<number, Float32Array[]> {
    const found = new Map<number, Float32Array[]>();
    if (ids.length === 0) return found;
    for (const row of this.statements.regionsByIds!.all(JSON.stringify(ids)) as Array<{ id: number; vectors: Buffer }>) {
      found.set(row.id, this.unpackRegions(row.vectors));
    }
    return found;
  }

  /** The layout each of these images' region vectors were stored with (see the engine's RegionWindows.layout). */
  regionLayoutsOf(ids: readonly number[]): Map<number, string> {
    const found = new Map<number, string>();
    if (ids.length === 0) return found;
    for (const row of this.statements.regionLayoutsByIds!.all(JSON.stringify(ids)) as Array<{ id: number; layout: string }>) found.set(row.id, row.layout);
    return found;
  }

  /** The colour signatures of these images made by this version (`kind`): empty for an image without colour, absent when never measured. */
  colourSignaturesOf(ids: readonly number[], kind: string): Map<number, Uint8Array> {
    const found = new Map<number, Uint8Array>();
    if (ids.length === 0) return found;
    for (const row of this.statements.coloursByIds!.all(kind, JSON.stringify(ids)) as Array<{ id: number; signature: Buffer }>) {
      found.set(row.id, new Uint8Array(row.signature));
    }
    return found;
  }

  /** How many region vectors the store holds in all (the region index must hold as many). */
  regionVectorCount(): number {
    return (this.statements.regionCount!.get() as { n: number }).n;
  }

  private unpackRegions(blob: Buffer): Float32Array[] {
    const all = decodeFloat16(blob);
    const dimension = this.identity.dimension;
    const out: Float32Array[] = [];
    for (let at = 0; at + dimension <= all.length; at += dimension) out.push(all.subarray(at, at + dimension));
    return out;
  }

  /** Light rows for building the hash index and scope filters. */
  imageKeys(): Array<{ id: number; scope: string; phash: string }> {
    return this.db.prepare('SELECT id, scope, phash FROM images ORDER BY id').all() as Array<{ id: number; scope: string; phash: string }>;
  }

  /** The image in `scope` with these exact bytes, if any (without reading its record). */
  imageIdWithSha(scope: string, sha256: string): number | undefined {
    return (this.statements.imageIdBySha!.get(scope, sha256) as { id: number } | undefined)?.id;
  }

  /** How many changes were recorded after `seq` (to choose between replaying them and rebuilding). */
  changeCountSince(seq: number): number {
    return (this.statements.changeCount!.get(seq) as { n: number }).n;
  }

  changesSince(seq: number): ChangeRecord[] {
    return this.statements.changesSince!.all(seq) as ChangeRecord[];
  }

  lastChangeSeq(): number {
    return (this.statements.lastSeq!.get() as { seq: number }).seq;
  }

  /** Forgets changes every derived index has already snapshotted. */
  trimChanges(throughSeq: number): void {
    this.statements.trimChanges!.run(throughSeq);
  }

  counts(): { images: number; sources: number; scopes: number; ocrCharacters: number; bytes: number } {
    const images = this.db
      .prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT scope) AS scopes, COALESCE(SUM(LENGTH(ocr_text)), 0) AS chars, COALESCE(SUM(bytes), 0) AS bytes FROM images')
      .get() as { n: number; scopes: number; chars: number; bytes: number };
    const sources = this.db.prepare('SELECT COUNT(*) AS n FROM sources').get() as { n: number };
    return { images: images.n, sources: sources.n, scopes: images.scopes, ocrCharacters: images.chars, bytes: images.bytes };
  }
}

/**
 * One process per data directory: SQLite's exclusive locking mode holds an OS file lock for as
 * long as the connection is open, and the OS releases it when the process dies (even by kill -9),
 * so a crashed process never leaves a stale lock behind, unlike a pid or mkdir lock file.
 */
function lockExclusively(db: DatabaseHandle, file: string): void {
  db.pragma('busy_timeout = 250');
  db.pragma('locking_mode = EXCLUSIVE');
  try {
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    throw lockedError(file, error);
  }
  db.pragma('busy_timeout = 5000');
}

const ownerFile = (file: string) => `${file}.owner.json`;

/** Who holds the lock, for the message another process shows (informative only: the lock is the OS's). */
function writeOwner(file: string): void {
  try {
    writeFileSync(ownerFile(file), JSON.stringify({ pid: process.pid, since: new Date().toISOString(), argv: process.argv.slice(1, 4) }));
  } catch {
    // Informative only.
  }
}

function lockedError(file: string, cause: unknown): SagasuError {
  let owner = '';
  try {
    const info = JSON.parse(readFileSync(ownerFile(file), 'utf8')) as { pid: number; since: string };
    owner = ` (process ${info.pid}, since ${info.since})`;
  } catch {
    // No owner file: say nothing more.
  }
  return new SagasuError(
    'LOCKED',
    `the data directory ${dirname(file)} is in use by another sagasu process${owner}; stop it, or use another --data directory`,
    { cause },
  );
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** How a source is named in the text index: its file name and caption. */
export function sourceName(source: Pick<SourceRecord, 'fileName' | 'caption'>): string {
  return [source.fileName, source.caption].filter(Boolean).join(' ');
}

function toEmbedding(blob: Buffer): Float32Array {
  const embedding = new Float32Array(blob.byteLength / 4);
  // Copy: the Buffer from SQLite may not be 4-byte aligned.
  new Uint8Array(embedding.buffer).set(blob);
  return embedding;
}

function toImage(row: ImageRow): ImageRecord {
  const embedding = toEmbedding(row.embedding);
  return {
    id: row.id,
    scope: row.scope,
    sha256: row.sha256,
    phash: row.phash,
    width: row.width,
    height: row.height,
    format: row.format,
    bytes: row.bytes,
    ocrText: row.ocr_text,
    ocrLines: JSON.parse(row.ocr_lines) as OcrLine[],
    ocrRegions: JSON.parse(row.ocr_regions) as OcrRegion[],
    embedding,
    modelId: row.model_id,
    ocrId: row.ocr_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toSource(row: SourceRow): SourceRecord {
  return {
    id: row.id,
    imageId: row.image_id,
    scope: row.scope,
    kind: row.kind,
    key: row.key,
    path: row.path,
    guildId: row.guild_id,
    channelId: row.channel_id,
    messageId: row.message_id,
    attachmentId: row.attachment_id,
    authorId: row.author_id,
    fileName: row.file_name,
    caption: row.caption,
    postedAt: row.posted_at,
    createdAt: row.created_at,
  };
}
