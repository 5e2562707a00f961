import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  REST,
  Routes,
  type Interaction,
  type Message,
  type PartialMessage,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { commands } from '../../commands/index.js';
import { SagasuError, isSagasuError } from '../errors.js';
import { Sagasu, type SagasuOptions } from '../sagasu.js';
import { Backfiller, jobsOf } from './backfill.js';
import { BotState } from './bot-state.js';
import { redact, type BotConfig } from './config.js';
import type { BotCommand, BotContext, BotLogger } from './context.js';
import { IndexQueue, type IndexJob, type IndexOutcome } from './index-queue.js';
import { imagesOf } from './message-images.js';
import { UserRateLimiter } from './rate-limit.js';
import { ResultSessions, handlePageButton, userMessage } from './results.js';

export interface StartBotOptions {
  /** An engine to use (the caller closes it); default: one opened on `config.dataDir`, closed by `stop()`. */
  engine?: Sagasu;
  /** Options for the engine opened by the bot. */
  engineOptions?: Omit<SagasuOptions, 'dataDir'>;
  logger?: BotLogger;
  /** Commands answered. Default: `commands/index.ts`. */
  commands?: readonly BotCommand[];
}

export interface BotHandle {
  client: Client;
  context: BotContext;
  /** Waits for the index queue to empty (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops backfills after their current request, lets running index jobs finish, logs out, closes the engine (if the bot opened it). */
  stop(): Promise<void>;
}

/** Writes to stderr with a timestamp; the token is blanked out of every line. */
export function consoleLogger(token: string, { quiet = false } = {}): BotLogger {
  const write = (level: string, message: string) => process.stderr.write(`${new Date().toISOString()} ${level} ${redact(message, token)}\n`);
  return {
    info: (message) => {
      if (!quiet) write('info', message);
    },
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
  };
}

/** The intents the bot needs; Message Content is privileged and must be enabled for the application. */
export const botIntents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent] as const;

function describeError(error: unknown): string {
  if (isSagasuError(error)) return error.message;
  if (error instanceof DiscordAPIError) return `Discord ${error.status} ${error.code}: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

/** Answers an interaction that failed: once, ephemerally, whatever state it was left in. */
async function answerFailure(interaction: Interaction, error: unknown, logger: BotLogger): Promise<void> {
  if (!interaction.isRepliable()) return;
  const content = isSagasuError(error) ? userMessage(error) : 'Something went wrong on the bot side; the error was logged.';
  if (!isSagasuError(error)) logger.error(`interaction ${interaction.id} failed: ${(error as Error)?.stack ?? String(error)}`);
  try {
    if (interaction.deferred || interaction.replied) await interaction.editReply({ content, embeds: [], components: [] });
    else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  } catch (second) {
    logger.warn(`could not tell the member about a failure: ${describeError(second)}`);
  }
}

/** Routes one interaction to its command (or the page buttons); errors are caught here, once. */
export async function dispatchInteraction(interaction: Interaction, context: BotContext, list: readonly BotCommand[] = commands): Promise<void> {
  try {
    if (interaction.isButton()) {
      if (!(await handlePageButton(interaction, context))) await interaction.reply({ content: 'Unknown button.', flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.isChatInputCommand()) {
      const command = list.find((c) => c.kind === 'slash' && c.data.name === interaction.commandName);
      if (command?.kind === 'slash') return await command.execute(interaction, context);
    } else if (interaction.isMessageContextMenuCommand()) {
      const command = list.find((c) => c.kind === 'message-menu' && c.data.name === interaction.commandName);
      if (command?.kind === 'message-menu') return await command.execute(interaction, context);
    } else return;
    if (interaction.isRepliable()) await interaction.reply({ content: 'This command is not known to this version of the bot.', flags: MessageFlags.Ephemeral });
  } catch (error) {
    await answerFailure(interaction, error, context.logger);
  }
}

function isIndexedChannelId(client: Client, state: BotState, channelId: string): boolean {
  if (state.isIndexed(channelId)) return true;
  // Threads of an indexed channel are indexed with it.
  const channel = client.channels.cache.get(channelId);
  return Boolean(channel && channel.isThread() && channel.parentId && state.isIndexed(channel.parentId));
}

function isIndexedChannel(context: BotContext, message: Message | PartialMessage): boolean {
  return isIndexedChannelId(context.client, context.state, message.channelId);
}

/**
 * Records each image in bot.db first, then queues it if the bounded queue has room. A burst
 * larger than the queue waits on disk (a few hundred bytes per image) and is drained as the queue
 * empties, so nothing is dropped and memory stays bounded; a crash loses nothing either.
 */
function offerAll(context: BotContext, jobs: IndexJob[]): void {
  let spilled = 0;
  for (const job of jobs) {
    context.state.addPending(job);
    if (!context.queue.offer(job)) spilled += 1;
  }
  if (spilled > 0) context.logger.info(`index queue full: ${spilled} image(s) wait in bot.db (${context.state.pendingCount()} in all)`);
}

/** Moves images waiting in bot.db into the queue while it has room. */
function drainPending(context: BotContext): void {
  if (!context.queue.hasRoom) return;
  const room = context.config.queueSize - context.queue.size;
  // Ask for more than the room: some of the oldest rows are the jobs already queued.
  for (const job of context.state.pendingJobs(room + context.queue.size + context.queue.active)) {
    if (context.queue.isQueued(job)) continue;
    if (!context.queue.offer(job)) break;
  }
}

function onOutcome(context: () => BotContext | undefined): (outcome: IndexOutcome) => void {
  return (outcome) => {
    const ctx = context();
    if (!ctx) return;
    const { job } = outcome;
    // Stopping leaves the image pending for the next start; every other outcome is final.
    if (!(outcome.status === 'skipped' && /stopping|closed/.test(outcome.reason))) {
      ctx.state.removePending(job.messageId, job.image.attachmentId);
      drainPending(ctx);
    }
    const where = `${job.guildId}/${job.channelId}/${job.messageId}/${job.image.attachmentId}`;
    if (outcome.status === 'failed') {
      ctx.logger.warn(`not indexed ${where}: ${outcome.error.message}`);
      return;
    }
    if (outcome.status === 'skipped') return;
    if (ctx.config.indexFeedback === 'log') ctx.logger.info(`indexed ${where} (${outcome.status})`);
    if (ctx.config.indexFeedback === 'reaction' && outcome.status !== 'unchanged') {
      const channel = ctx.client.channels.cache.get(job.channelId);
      if (channel?.isTextBased() && !channel.isDMBased()) {
        channel.messages.react(job.messageId, ctx.config.indexEmoji).catch((error: unknown) => ctx.logger.warn(`cannot react on ${where}: ${describeError(error)}`));
      }
    }
  };
}

/** A message was edited: drop the images it no longer has, queue the ones it has (unchanged ones cost a decode). */
async function reindex(context: BotContext, message: Message | PartialMessage): Promise<void> {
  if (!message.guildId) return;
  const full = message.partial ? await message.fetch() : message;
  const current = new Set(imagesOf(full).map((i) => i.attachmentId));
  for (const source of context.engine.store.findSources({ guildId: message.guildId, messageId: message.id })) {
    if (source.attachmentId && !current.has(source.attachmentId)) context.engine.removeSource(source.scope, source.key);
  }
  offerAll(context, jobsOf(full));
}

function forgetChannel(context: BotContext, guildId: string, channelId: string): void {
  const removed = context.engine.forget({ guildId, channelId });
  context.state.removeChannel(channelId);
  if (removed) context.logger.info(`channel ${guildId}/${channelId} deleted: ${removed} image post(s) forgotten`);
}

function wireEvents(client: Client, context: BotContext, list: readonly BotCommand[]): void {
  const guard = (what: string, run: () => unknown) => {
    try {
      const result = run();
      if (result instanceof Promise) result.catch((error: unknown) => context.logger.warn(`${what}: ${describeError(error)}`));
    } catch (error) {
      context.logger.warn(`${what}: ${describeError(error)}`);
    }
  };
  client.on(Events.InteractionCreate, (interaction) => void dispatchInteraction(interaction, context, list));
  // The gateway handlers only queue work; indexing never runs inline here.
  client.on(Events.MessageCreate, (message) =>
    guard('message create', () => {
      if (!message.inGuild() || message.author.id === client.user?.id || !isIndexedChannel(context, message)) return;
      offerAll(context, jobsOf(message));
    }),
  );
  client.on(Events.MessageUpdate, (_old, message) =>
    guard('message update', () => {
      if (!message.guildId || message.author?.id === client.user?.id || !isIndexedChannel(context, message)) return;
      return reindex(context, message);
    }),
  );
  client.on(Events.MessageDelete, (message) =>
    guard('message delete', () => {
      context.queue.markDeleted(message.id);
      context.state.dropPendingMessage(message.id);
      if (message.guildId) context.engine.forget({ guildId: message.guildId, messageId: message.id });
    }),
  );
  client.on(Events.MessageBulkDelete, (messages) =>
    guard('bulk delete', () => {
      for (const message of messages.values()) {
        context.queue.markDeleted(message.id);
        context.state.dropPendingMessage(message.id);
        if (message.guildId) context.engine.forget({ guildId: message.guildId, messageId: message.id });
      }
    }),
  );
  client.on(Events.ChannelDelete, (channel) =>
    guard('channel delete', () => {
      if (channel.isDMBased()) return;
      for (const thread of channel.guild.channels.cache.values()) if (thread.isThread() && thread.parentId === channel.id) forgetChannel(context, channel.guildId, thread.id);
      forgetChannel(context, channel.guildId, channel.id);
    }),
  );
  client.on(Events.ThreadDelete, (thread) => guard('thread delete', () => forgetChannel(context, thread.guildId, thread.id)));
  // Emitted only when the bot is removed (an outage emits guildUnavailable instead).
  client.on(Events.GuildDelete, (guild) =>
    guard('guild delete', () => {
      const removed = context.engine.forget({ scope: guild.id });
      context.state.forgetGuild(guild.id);
      context.logger.info(`left guild ${guild.id}: ${removed} image post(s) forgotten`);
    }),
  );
  client.on(Events.Error, (error) => context.logger.warn(`client error: ${describeError(error)}`));
  client.on(Events.Warn, (message) => context.logger.warn(message));
  client.rest.on('rateLimited', (info) => context.logger.info(`rate limited on ${info.method} ${info.route}: waiting ${info.retryAfter} ms`));
}

/**
 * Logs in, answers commands, indexes configured channels in the background and resumes
 * unfinished backfills. Resolves once the client is ready.
 */
export async function startBot(config: BotConfig, options: StartBotOptions = {}): Promise<BotHandle> {
  if (!config.token) throw new SagasuError('INVALID_OPTION', 'DISCORD_TOKEN is not set');
  const logger = options.logger ?? consoleLogger(config.token);
  const list = options.commands ?? commands;
  const engine = options.engine ?? (await Sagasu.open({ ...options.engineOptions, dataDir: config.dataDir }));
  const ownsEngine = !options.engine;
  let state: BotState | undefined;
  let client: Client | undefined;
  try {
    state = BotState.open(config.dataDir);
    client = new Client({
      intents: [...botIntents],
      // Deletes and edits of messages sent before the bot started arrive only as partials.
      partials: [Partials.Message, Partials.Channel],
      rest: { api: config.apiBase },
      allowedMentions: { parse: [] },
    });
    let context: BotContext | undefined;
    const queue = new IndexQueue({
      engine,
      maxPending: config.queueSize,
      concurrency: config.indexConcurrency,
      maxBytes: config.maxAttachmentBytes,
      fetchTimeoutMs: config.fetchTimeoutMs,
      refreshUrl: async (job) => {
        const channel = client!.channels.cache.get(job.channelId);
        if (!channel?.isTextBased()) return undefined;
        const message = await channel.messages.fetch({ message: job.messageId, cache: false }).catch(() => undefined);
        return message ? imagesOf(message).find((i) => i.attachmentId === job.image.attachmentId)?.url : undefined;
      },
      onOutcome: onOutcome(() => context),
      stillWanted: (job) => client!.guilds.cache.has(job.guildId) && isIndexedChannelId(client!, state!, job.channelId),
    });
    const backfill = new Backfiller({ client, state, queue, logger });
    context = {
      client,
      config,
      engine,
      state,
      queue,
      backfill,
      limiter: new UserRateLimiter(config.rateLimit.searches, config.rateLimit.windowMs),
      results: new ResultSessions(),
      logger,
    };
    wireEvents(client, context, list);
    const ready = new Promise<void>((resolve) => client!.once(Events.ClientReady, () => resolve()));
    try {
      await client.login(config.token);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new SagasuError(
        'INVALID_OPTION',
        code === 'TokenInvalid' ? 'Discord refused the token (DISCORD_TOKEN): copy it again from the Developer Portal' : `cannot log in to Discord: ${redact(describeError(error), config.token)}`,
        { cause: error },
      );
    }
    await ready;
    logger.info(`logged in as ${client.user?.tag ?? '?'} in ${client.guilds.cache.size} guild(s)`);
    backfill.resumeAll();
    // Images that were waiting when the bot last stopped (or crashed).
    drainPending(context);
    const ctx = context;
    let stopped = false;
    return {
      client,
      context: ctx,
      idle: () => queue.onIdle(),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        // Ask the walks to stop first, then skip the waiting jobs they may be blocked on.
        const walks = backfill.stop();
        await queue.close();
        await walks;
        await client!.destroy();
        state!.close();
        if (ownsEngine) await engine.close();
      },
    };
  } catch (error) {
    await client?.destroy().catch(() => undefined);
    state?.close();
    if (ownsEngine) await engine.close();
    throw error;
  }
}

/** Registers every command in one bulk call: globally, or to one guild (instant, for testing). */
export async function deployCommands(config: BotConfig, options: { guildId?: string; commands?: readonly BotCommand[] } = {}): Promise<{ scope: string; names: string[] }> {
  if (!config.token) throw new SagasuError('INVALID_OPTION', 'DISCORD_TOKEN is not set');
  const rest = new REST({ api: config.apiBase }).setToken(config.token);
  const body: RESTPutAPIApplicationCommandsJSONBody = (options.commands ?? commands).map((c) => c.data.toJSON());
  try {
    const application = (await rest.get(Routes.currentApplication())) as { id: string };
    const route = options.guildId ? Routes.applicationGuildCommands(application.id, options.guildId) : Routes.applicationCommands(application.id);
    const stored = (await rest.put(route, { body })) as Array<{ name: string }>;
    return { scope: options.guildId ? `guild ${options.guildId}` : 'global', names: stored.map((c) => c.name) };
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) throw new SagasuError('INVALID_OPTION', 'Discord refused the token (DISCORD_TOKEN)', { cause: error });
    throw new SagasuError('NOT_FOUND', `registering commands failed: ${redact(describeError(error), config.token)}`, { cause: error });
  }
}
