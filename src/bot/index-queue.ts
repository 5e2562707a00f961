import { SagasuError, isSagasuError } from '../errors.js';
import type { AddStatus, Sagasu } from '../sagasu.js';
import { downloadImage, type MessageImage } from './message-images.js';

/** One image of one message to index. */
export interface IndexJob {
  guildId: string;
  channelId: string;
  messageId: string;
  authorId: string | null;
  postedAt: number;
  caption: string | null;
  image: MessageImage;
}

export type IndexOutcome =
  | { job: IndexJob; status: AddStatus }
  /** Deleted before it was indexed, or dropped when the queue closed. */
  | { job: IndexJob; status: 'skipped'; reason: string }
  | { job: IndexJob; status: 'failed'; error: SagasuError };

export interface IndexQueueOptions {
  engine: Pick<Sagasu, 'add' | 'forget' | 'flush'>;
  /** Jobs waiting at most. Default 500. */
  maxPending?: number;
  /** Jobs run at once. Default 2. */
  concurrency?: number;
  maxBytes: number;
  fetchTimeoutMs: number;
  /** Asked for a fresh URL when the one in the job expired (re-fetches the message). */
  refreshUrl?: (job: IndexJob) => Promise<string | undefined>;
  /** Called after every job. */
  onOutcome?: (outcome: IndexOutcome) => void;
  /** Index snapshots are saved when the queue goes idle after this many changes. Default 50. */
  flushEvery?: number;
  /**
   * Whether a job is still wanted (its channel still indexed, its guild still joined); checked
   * before and after reading it, so a channel removed or a guild left meanwhile keeps nothing.
   */
  stillWanted?: (job: IndexJob) => boolean;
  /** Replaces the download (tests). */
  download?: (url: string) => Promise<Buffer>;
}

interface Entry {
  job: IndexJob;
  resolve: (outcome: IndexOutcome) => void;
}

/**
 * Indexes message images in the background, a few at a time, with a bounded waiting list: the
 * gateway handler `offer`s (never waits; a full queue refuses), a backfill `push`es (waits for
 * room, which is its backpressure). A failure is an outcome, never a throw.
 */
export class IndexQueue {
  private readonly pending: Entry[] = [];
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly deleted = new Set<string>();
  /** Jobs waiting or running, by message/attachment: the same image is never queued twice. */
  private readonly queued = new Set<string>();
  private running = 0;
  private closed = false;
  private changesSinceFlush = 0;
  private readonly options: Required<Omit<IndexQueueOptions, 'refreshUrl' | 'onOutcome' | 'download' | 'stillWanted'>> & IndexQueueOptions;

  constructor(options: IndexQueueOptions) {
    this.options = { maxPending: 500, concurrency: 2, flushEvery: 50, ...options };
  }

  get size(): number {
    return this.pending.length;
  }

  get active(): number {
    return this.running;
  }

  /** Whether there is room for `offer`. */
  get hasRoom(): boolean {
    return !this.closed && this.pending.length < this.options.maxPending;
  }

  /** Whether this image is waiting or running. */
  isQueued(job: IndexJob): boolean {
    return this.queued.has(jobKey(job));
  }

  /** Queues a job if there is room (or it is queued already); false when the queue is full or closed. */
  offer(job: IndexJob): boolean {
    if (this.queued.has(jobKey(job))) return true;
    if (!this.hasRoom) return false;
    void this.enqueue(job);
    return true;
  }

  /** Queues a job, waiting for room first; resolves when it was indexed (or failed, or was skipped). */
  async push(job: IndexJob): Promise<IndexOutcome> {
    while (!this.closed && this.pending.length >= this.options.maxPending) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.closed) return { job, status: 'skipped', reason: 'the queue is closed' };
    return this.enqueue(job);
  }

  /** A message was deleted: its waiting jobs are skipped, and one being indexed is undone afterwards. */
  markDeleted(messageId: string): void {
    this.deleted.add(messageId);
    if (this.deleted.size > 10_000) this.deleted.delete(this.deleted.values().next().value!);
  }

  /** Resolves when nothing is waiting or running. */
  onIdle(): Promise<void> {
    if (this.pending.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking jobs, skips those waiting, and waits for those running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.pending.splice(0)) entry.resolve({ job: entry.job, status: 'skipped', reason: 'the bot is stopping' });
    for (const wake of this.roomWaiters.splice(0)) wake();
    await this.onIdle();
  }

  private enqueue(job: IndexJob): Promise<IndexOutcome> {
    const key = jobKey(job);
    this.queued.add(key);
    return new Promise<IndexOutcome>((resolve) => {
      this.pending.push({ job, resolve: (outcome) => (this.queued.delete(key), resolve(outcome)) });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.pending.length > 0) {
      const entry = this.pending.shift()!;
      this.roomWaiters.shift()?.();
      this.running += 1;
      void this.run(entry.job).then((outcome) => {
        this.running -= 1;
        try {
          this.options.onOutcome?.(outcome);
        } catch {
          // feedback is best effort
        }
        entry.resolve(outcome);
        this.pump();
        if (this.pending.length === 0 && this.running === 0) this.becameIdle();
      });
    }
  }

  private becameIdle(): void {
    if (this.changesSinceFlush >= this.options.flushEvery && !this.closed) {
      this.changesSinceFlush = 0;
      try {
        this.options.engine.flush();
      } catch {
        // a failed snapshot only makes the next start replay more changes
      }
    }
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async fetchBytes(job: IndexJob): Promise<Buffer> {
    const download = this.options.download ?? ((url: string) => downloadImage(url, { maxBytes: this.options.maxBytes, timeoutMs: this.options.fetchTimeoutMs }));
    if (!job.image.url) {
      // A job resumed from bot.db carries no URL (they expire): ask the message for a fresh one.
      const fresh = await this.options.refreshUrl?.(job);
      if (!fresh) throw new SagasuError('NOT_FOUND', 'the message or its image is gone');
      return download(fresh);
    }
    try {
      return await download(job.image.url);
    } catch (error) {
      // A queued job can outlive its signed URL: ask for the message again once.
      if (!isSagasuError(error) || error.code !== 'NOT_FOUND' || !this.options.refreshUrl) throw error;
      const fresh = await this.options.refreshUrl(job);
      if (!fresh) throw new SagasuError('NOT_FOUND', 'the message or its image is gone');
      return download(fresh);
    }
  }

  private async run(job: IndexJob): Promise<IndexOutcome> {
    if (this.deleted.has(job.messageId)) return { job, status: 'skipped', reason: 'the message was deleted' };
    if (this.options.stillWanted && !this.options.stillWanted(job)) return { job, status: 'skipped', reason: 'the channel is no longer indexed' };
    if (job.image.size !== null && job.image.size > this.options.maxBytes) {
      return { job, status: 'failed', error: new SagasuError('TOO_LARGE', `${job.image.fileName} is over the size limit`) };
    }
    try {
      const bytes = await this.fetchBytes(job);
      const result = await this.options.engine.add({
        bytes,
        scope: job.guildId,
        source: {
          kind: 'discord',
          guildId: job.guildId,
          channelId: job.channelId,
          messageId: job.messageId,
          attachmentId: job.image.attachmentId,
          ...(job.authorId ? { authorId: job.authorId } : {}),
          fileName: job.image.fileName,
          ...(job.caption ? { caption: job.caption } : {}),
          postedAt: job.postedAt,
        },
      });
      const deleted = this.deleted.has(job.messageId);
      if (deleted || (this.options.stillWanted && !this.options.stillWanted(job))) {
        // Deleted (or its channel dropped) while it was being read: undo, so a delete always wins.
        this.options.engine.forget({ guildId: job.guildId, messageId: job.messageId });
        return { job, status: 'skipped', reason: deleted ? 'the message was deleted' : 'the channel is no longer indexed' };
      }
      if (result.status !== 'unchanged') this.changesSinceFlush += 1;
      return { job, status: result.status };
    } catch (error) {
      const failure = isSagasuError(error) ? error : new SagasuError('CORRUPT_IMAGE', (error as Error).message ?? String(error), { cause: error });
      return { job, status: 'failed', error: failure };
    }
  }
}

function jobKey(job: IndexJob): string {
  return `${job.messageId}/${job.image.attachmentId}`;
}
