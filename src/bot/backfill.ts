import { DiscordAPIError, type Client, type GuildTextBasedChannel, type Message } from 'discord.js';
import type { BackfillRecord, BotState } from './bot-state.js';
import type { BotLogger } from './context.js';
import type { IndexJob, IndexQueue } from './index-queue.js';
import { imagesOf } from './message-images.js';

export interface BackfillerOptions {
  client: Client;
  state: BotState;
  queue: IndexQueue;
  logger: BotLogger;
  /** Messages fetched per request, 1-100. Default 100 (Discord's maximum). */
  pageSize?: number;
}

/** The progress line edited into one message. */
export function backfillProgressText(record: BackfillRecord, note = ''): string {
  const state = record.done ? 'done' : 'running';
  return `Backfill of <#${record.channelId}> ${state}: ${record.scanned} message${record.scanned === 1 ? '' : 's'} read, ${record.images} image${record.images === 1 ? '' : 's'} indexed${record.failed ? `, ${record.failed} failed` : ''}.${note ? ` ${note}` : ''}`;
}

/** Builds the index jobs of one message (shared by live indexing and backfill). */
export function jobsOf(message: Message): IndexJob[] {
  if (!message.guildId) return [];
  const caption = message.content?.trim() ? message.content.slice(0, 500) : null;
  return imagesOf(message).map((image) => ({
    guildId: message.guildId!,
    channelId: message.channelId,
    messageId: message.id,
    authorId: message.author?.id ?? null,
    postedAt: message.createdTimestamp,
    caption,
    image,
  }));
}

/**
 * Walks a channel's history from the newest message back, 100 at a time, through the index
 * queue (waiting for room: backpressure). The cursor is saved only once a page's images are all
 * indexed, so after a restart the walk goes on from the last finished page (a half-done page is
 * read again; images already indexed come back 'unchanged' at the cost of a decode).
 */
export class Backfiller {
  private readonly running = new Map<string, Promise<BackfillRecord>>();
  private stopping = false;
  private readonly pageSize: number;

  constructor(private readonly options: BackfillerOptions) {
    this.pageSize = options.pageSize ?? 100;
  }

  /** Starts (or restarts from the beginning) a backfill; progress goes to a message posted in `report`. */
  async start(channel: GuildTextBasedChannel, startedBy: string, report: GuildTextBasedChannel | null): Promise<BackfillRecord> {
    const existing = this.running.get(channel.id);
    if (existing) return this.options.state.backfill(channel.id)!;
    const record: BackfillRecord = {
      guildId: channel.guildId,
      channelId: channel.id,
      before: null,
      scanned: 0,
      images: 0,
      failed: 0,
      done: false,
      progressChannelId: null,
      progressMessageId: null,
      startedBy,
      startedAt: Date.now(),
      updatedAt: Date.now(),
    };
    if (report) {
      try {
        const posted = await report.send({ content: backfillProgressText(record), allowedMentions: { parse: [] } });
        record.progressChannelId = report.id;
        record.progressMessageId = posted.id;
      } catch (error) {
        this.options.logger.warn(`backfill of ${channel.id}: cannot post progress in ${report.id} (${(error as Error).message})`);
      }
    }
    this.options.state.saveBackfill(record);
    this.launch(record);
    return record;
  }

  /** Resumes every unfinished backfill (after a restart). */
  resumeAll(): void {
    for (const record of this.options.state.unfinishedBackfills()) if (!this.running.has(record.channelId)) this.launch(record);
  }

  isRunning(channelId: string): boolean {
    return this.running.has(channelId);
  }

  /** Resolves with the record when the channel's backfill ends (finished, or stopped). */
  async wait(channelId: string): Promise<BackfillRecord | undefined> {
    await this.running.get(channelId);
    return this.options.state.backfill(channelId);
  }

  /** Stops every walk after its current request; cursors stay where the last full page ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.running.values());
  }

  private launch(record: BackfillRecord): void {
    const run = this.walk(record)
      .catch((error: unknown) => {
        this.options.logger.warn(`backfill of ${record.channelId} failed: ${(error as Error).message}`);
        return record;
      })
      .finally(() => this.running.delete(record.channelId));
    this.running.set(record.channelId, run);
  }

  private async report(record: BackfillRecord, note = ''): Promise<void> {
    if (!record.progressChannelId || !record.progressMessageId) return;
    const channel = this.options.client.channels.cache.get(record.progressChannelId);
    if (!channel?.isTextBased() || channel.isDMBased()) return;
    try {
      await channel.messages.edit(record.progressMessageId, { content: backfillProgressText(record, note) });
    } catch (error) {
      this.options.logger.warn(`backfill of ${record.channelId}: cannot edit progress (${(error as Error).message})`);
    }
  }

  private async finish(record: BackfillRecord, note = ''): Promise<BackfillRecord> {
    record.done = true;
    // Reported before it is saved as done: a restart in between reports again rather than never.
    await this.report(record, note);
    this.options.state.saveBackfill(record);
    return record;
  }

  private async walk(record: BackfillRecord): Promise<BackfillRecord> {
    const { client, state, queue } = this.options;
    while (!this.stopping) {
      if (!state.isIndexed(record.channelId)) return record; // removed meanwhile: its row is gone too
      const channel = client.channels.cache.get(record.channelId);
      if (!channel || !channel.isTextBased() || channel.isDMBased()) return this.finish(record, 'The channel is gone.');
      let page;
      try {
        page = await channel.messages.fetch({ limit: this.pageSize, ...(record.before ? { before: record.before } : {}), cache: false });
      } catch (error) {
        if (this.stopping) break;
        const reason = error instanceof DiscordAPIError ? `Discord said: ${error.message}` : (error as Error).message;
        return this.finish(record, `Stopped: ${reason}.`);
      }
      if (this.stopping) break;
      if (page.size === 0) return this.finish(record);
      const jobs = [...page.values()].flatMap((message) => (message.author?.id === client.user?.id ? [] : jobsOf(message)));
      const outcomes = await Promise.all(jobs.map((job) => queue.push(job)));
      if (this.stopping || outcomes.some((o) => o.status === 'skipped' && o.reason === 'the bot is stopping')) break;
      record.scanned += page.size;
      record.images += outcomes.filter((o) => o.status !== 'failed' && o.status !== 'skipped').length;
      record.failed += outcomes.filter((o) => o.status === 'failed').length;
      record.before = [...page.keys()].reduce((oldest, id) => (BigInt(id) < BigInt(oldest) ? id : oldest));
      state.saveBackfill(record);
      if (page.size < this.pageSize) return this.finish(record);
      await this.report(record);
    }
    return record;
  }
}
