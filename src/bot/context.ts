import type {
  ChatInputCommandInteraction,
  Client,
  ContextMenuCommandBuilder,
  MessageContextMenuCommandInteraction,
  SlashCommandOptionsOnlyBuilder,
  SlashCommandSubcommandsOnlyBuilder,
} from 'discord.js';
import type { Sagasu } from '../sagasu.js';
import type { Backfiller } from './backfill.js';
import type { BotState } from './bot-state.js';
import type { BotConfig } from './config.js';
import type { IndexQueue } from './index-queue.js';
import type { UserRateLimiter } from './rate-limit.js';
import type { ResultSessions } from './results.js';

/** Where the bot's quiet messages go. The default writes to stderr with the token blanked out. */
export interface BotLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything a command handler may use: the engine underneath and the bot's own parts. */
export interface BotContext {
  client: Client;
  config: BotConfig;
  engine: Sagasu;
  state: BotState;
  queue: IndexQueue;
  backfill: Backfiller;
  limiter: UserRateLimiter;
  results: ResultSessions;
  logger: BotLogger;
}

/** A slash command module: its definition and its handler. */
export interface SlashCommand {
  kind: 'slash';
  data: SlashCommandOptionsOnlyBuilder | SlashCommandSubcommandsOnlyBuilder;
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
}

/** A message context-menu command module. */
export interface MessageMenuCommand {
  kind: 'message-menu';
  data: ContextMenuCommandBuilder;
  execute(interaction: MessageContextMenuCommandInteraction, context: BotContext): Promise<void>;
}

export type BotCommand = SlashCommand | MessageMenuCommand;
