import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IndexJob } from './index-queue.js';
import { SagasuError } from '../errors.js';

/** Bumped when the schema changes; a newer file is refused rather than misread. */
export const botStateVersion = 1;

export interface IndexedChannel {
  guildId: string;
  channelId: string;
  addedBy: string;
  addedAt: number;
}

/** A channel history walk, saved after each finished page so a restart goes on where it stopped. */
export interface BackfillRecord {
  guildId: string;
  channelId: string;
  /** Messages older than this id are still to be read; null = start from the newest. */
  before: string | null;
  /** Messages read / images queued so far. */
  scanned: number;
  images: number;
  failed: number;
  done: boolean;
  /** Where progress is reported (a message the bot posted and edits). */
  progressChannelId: string | null;
  progressMessageId: string | null;
  startedBy: string;
  startedAt: number;
  updatedAt: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
  channel_id TEXT PRIMARY KEY,
  guild_id TEXT NOT NULL,
  added_by TEXT NOT NULL,
  added_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS channels_guild ON channels (guild_id);
CREATE TABLE IF NOT EXISTS backfills (
  channel_id TEXT PRIMARY KEY,
  guild_id TEXT NOT NULL,
  before_id TEXT,
  scanned INTEGER NOT NULL,
  images INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  done INTEGER NOT NULL,
  progress_channel_id TEXT,
  progress_message_id TEXT,
  started_by TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Images seen in indexed channels and not yet indexed: written before the job is queued and
-- deleted once it ran, so a burst larger than the in-memory queue waits here instead of being
-- dropped, and a crash or restart loses none. Ids only: attachment URLs expire, a fresh one is
-- fetched from the message when the job runs.
CREATE TABLE IF NOT EXISTS pending_images (
  message_id TEXT NOT NULL,
  attachment_id TEXT NOT NULL,
  guild_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  author_id TEXT,
  posted_at INTEGER NOT NULL,
  caption TEXT,
  file_name TEXT NOT NULL,
  size INTEGER,
  content_type TEXT,
  queued_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, attachment_id)
);
CREATE INDEX IF NOT EXISTS pending_order ON pending_images (queued_at);
`;

interface BackfillRow {
  channel_id: string;
  guild_id: string;
  before_id: string | null;
  scanned: number;
  images: number;
  failed: number;
  done: number;
  progress_channel_id: string | null;
  progress_message_id: string | null;
  started_by: string;
  started_at: number;
  updated_at: number;
}

function toBackfill(row: BackfillRow): BackfillRecord {
  return {
    guildId: row.guild_id,
    channelId: row.channel_id,
    before: row.before_id,
    scanned: row.scanned,
    images: row.images,
    failed: row.failed,
    done: row.done === 1,
    progressChannelId: row.progress_channel_id,
    progressMessageId: row.progress_message_id,
    startedBy: row.started_by,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The bot's own state (which channels are indexed, backfill cursors) in `bot.db`, apart from the
 * engine's store so neither schema depends on the other.
 */
export class BotState {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(dataDir: string): BotState {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'bot.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(schema);
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('version') as { value: string } | undefined;
      if (!row) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('version', String(botStateVersion));
      else if (Number(row.value) !== botStateVersion) {
        throw new SagasuError('STORE_VERSION', `bot.db in ${dataDir} has version ${row.value}; this sagasu reads version ${botStateVersion}`);
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new BotState(db);
  }

  /** Returns false when the channel was indexed already. */
  addChannel(channel: { guildId: string; channelId: string; addedBy: string }): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO channels (channel_id, guild_id, added_by, added_at) VALUES (?, ?, ?, ?)')
      .run(channel.channelId, channel.guildId, channel.addedBy, Date.now());
    return result.changes > 0;
  }

  /** Stops indexing a channel and drops its backfill and pending images; returns false when it was not indexed. */
  removeChannel(channelId: string): boolean {
    const result = this.db.prepare('DELETE FROM channels WHERE channel_id = ?').run(channelId);
    this.db.prepare('DELETE FROM backfills WHERE channel_id = ?').run(channelId);
    this.db.prepare('DELETE FROM pending_images WHERE channel_id = ?').run(channelId);
    return result.changes > 0;
  }

  isIndexed(channelId: string): boolean {
    return this.db.prepare('SELECT 1 FROM channels WHERE channel_id = ?').get(channelId) !== undefined;
  }

  channels(guildId: string): IndexedChannel[] {
    return (this.db.prepare('SELECT * FROM channels WHERE guild_id = ? ORDER BY added_at, channel_id').all(guildId) as Array<Record<string, any>>).map(
      (row) => ({ guildId: row['guild_id'], channelId: row['channel_id'], addedBy: row['added_by'], addedAt: row['added_at'] }),
    );
  }

  /** Everything about a guild the bot left. */
  forgetGuild(guildId: string): void {
    this.db.prepare('DELETE FROM channels WHERE guild_id = ?').run(guildId);
    this.db.prepare('DELETE FROM backfills WHERE guild_id = ?').run(guildId);
    this.db.prepare('DELETE FROM pending_images WHERE guild_id = ?').run(guildId);
  }

  /** Records an image to index (idempotent): it stays until `removePending`. */
  addPending(job: IndexJob): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO pending_images (message_id, attachment_id, guild_id, channel_id, author_id, posted_at, caption, file_name, size, content_type, queued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(job.messageId, job.image.attachmentId, job.guildId, job.channelId, job.authorId, job.postedAt, job.caption, job.image.fileName, job.image.size, job.image.contentType, Date.now());
  }

  removePending(messageId: string, attachmentId: string): void {
    this.db.prepare('DELETE FROM pending_images WHERE message_id = ? AND attachment_id = ?').run(messageId, attachmentId);
  }

  /** A deleted message's images will never be indexed. */
  dropPendingMessage(messageId: string): void {
    this.db.prepare('DELETE FROM pending_images WHERE message_id = ?').run(messageId);
  }

  pendingCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM pending_images').get() as { n: number }).n;
  }

  /** The oldest pending images, as jobs without a URL (the queue fetches a fresh one). */
  pendingJobs(limit: number): IndexJob[] {
    const rows = this.db.prepare('SELECT * FROM pending_images ORDER BY queued_at, message_id, attachment_id LIMIT ?').all(limit) as Array<Record<string, any>>;
    return rows.map((row) => ({
      guildId: row['guild_id'],
      channelId: row['channel_id'],
      messageId: row['message_id'],
      authorId: row['author_id'],
      postedAt: row['posted_at'],
      caption: row['caption'],
      image: { attachmentId: row['attachment_id'], url: '', fileName: row['file_name'], size: row['size'], contentType: row['content_type'] },
    }));
  }

  backfill(channelId: string): BackfillRecord | undefined {
    const row = this.db.prepare('SELECT * FROM backfills WHERE channel_id = ?').get(channelId) as BackfillRow | undefined;
    return row ? toBackfill(row) : undefined;
  }

  /** Backfills not finished yet (to resume after a restart). */
  unfinishedBackfills(): BackfillRecord[] {
    return (this.db.prepare('SELECT * FROM backfills WHERE done = 0 ORDER BY started_at').all() as BackfillRow[]).map(toBackfill);
  }

  saveBackfill(record: BackfillRecord): void {
    this.db
      .prepare(
        `INSERT INTO backfills (channel_id, guild_id, before_id, scanned, images, failed, done, progress_channel_id, progress_message_id, started_by, started_at, updated_at)
         VALUES (@channelId, @guildId, @before, @scanned, @images, @failed, @done, @progressChannelId, @progressMessageId, @startedBy, @startedAt, @updatedAt)
         ON CONFLICT (channel_id) DO UPDATE SET before_id = @before, scanned = @scanned, images = @images, failed = @failed, done = @done,
           progress_channel_id = @progressChannelId, progress_message_id = @progressMessageId, started_by = @startedBy, started_at = @startedAt, updated_at = @updatedAt`,
      )
      .run({ ...record, done: record.done ? 1 : 0, updatedAt: Date.now() });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
