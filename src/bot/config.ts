import { resolve } from 'node:path';
import { SagasuError } from '../errors.js';

/** How the bot tells that a posted image was indexed. */
export type IndexFeedback = 'reaction' | 'log' | 'none';

export interface BotConfig {
  /** Bot token (`DISCORD_TOKEN`). Required to run the bot or deploy commands; never logged. */
  token: string;
  /** Discord REST base, without the version (`DISCORD_API_BASE`). Default `https://discord.com/api`. */
  apiBase: string;
  /** Where the engine's store and indexes and the bot's own `bot.db` live (`SAGASU_DATA`). Default `./data`. */
  dataDir: string;
  /**
   * Hits below this confidence (0..1) are not shown (`SAGASU_MIN_CONFIDENCE`). Default null: the
   * threshold the engine gives with each result (SearchResult.confidenceThreshold: calibrated, chosen by `sagasu eval`
   * for at most 5% confident answers to pictures that are not indexed).
   */
  minConfidence: number | null;
  /** Results a search returns at most (`SAGASU_MAX_RESULTS`); `/search k:` may ask for fewer. Default 10. */
  maxResults: number;
  /** Result embeds per page, 1-10 (`SAGASU_PAGE_SIZE`). Default 5. */
  pageSize: number;
  /** Largest image downloaded, for searches and indexing (`SAGASU_MAX_ATTACHMENT_BYTES`). Default 10 MiB. */
  maxAttachmentBytes: number;
  /** Searches one member may run per window (`SAGASU_RATE_LIMIT`, e.g. `5/60` = 5 per 60 s). Default 5 per 60 s. */
  rateLimit: { searches: number; windowMs: number };
  /** Images waiting to be indexed at most; more are dropped (logged) until there is room (`SAGASU_QUEUE_SIZE`). Default 500. */
  queueSize: number;
  /** Images indexed at once (`SAGASU_INDEX_CONCURRENCY`). Default 2 (one per OCR worker on 2 cores). */
  indexConcurrency: number;
  /** Per-message feedback when an image is indexed (`SAGASU_INDEX_FEEDBACK`): reaction, log or none. Default `log`. */
  indexFeedback: IndexFeedback;
  /** Emoji of the `reaction` feedback (`SAGASU_INDEX_EMOJI`). Default 🔎. */
  indexEmoji: string;
  /** Whether search results are shown only to the member who asked (`SAGASU_EPHEMERAL`). Default true. */
  ephemeralResults: boolean;
  /** Milliseconds a download may take (`SAGASU_FETCH_TIMEOUT_MS`). Default 20000. */
  fetchTimeoutMs: number;
}

export const defaultBotConfig: Omit<BotConfig, 'token'> = {
  apiBase: 'https://discord.com/api',
  dataDir: './data',
  minConfidence: null,
  maxResults: 10,
  pageSize: 5,
  maxAttachmentBytes: 10 * 1024 * 1024,
  rateLimit: { searches: 5, windowMs: 60_000 },
  queueSize: 500,
  indexConcurrency: 2,
  indexFeedback: 'log',
  indexEmoji: '🔎',
  ephemeralResults: true,
  fetchTimeoutMs: 20_000,
};

type Env = Record<string, string | undefined>;

function fail(message: string): never {
  throw new SagasuError('INVALID_OPTION', message);
}

function number(env: Env, name: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) fail(`${name} must be ${expected}, got "${raw}"`);
  return n;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  return fail(`${name} must be true or false, got "${raw}"`);
}

/**
 * Reads the bot's configuration from the environment (and explicit overrides, which win),
 * validating every value at once so a mistake stops the start with a clear message.
 * `requireToken: false` is for commands that do not talk to Discord.
 */
export function loadBotConfig(env: Env = process.env, overrides: Partial<BotConfig> = {}, { requireToken = true } = {}): BotConfig {
  const token = overrides.token ?? env['DISCORD_TOKEN']?.trim() ?? '';
  if (requireToken && !token) fail('DISCORD_TOKEN is not set: put the bot token of your application in the environment');
  if (token && /\s/.test(token)) fail('DISCORD_TOKEN contains white space; copy the token again');
  const apiBase = (overrides.apiBase ?? env['DISCORD_API_BASE']?.trim()) || defaultBotConfig.apiBase;
  let parsed: URL;
  try {
    parsed = new URL(apiBase);
  } catch {
    return fail(`DISCORD_API_BASE must be an http(s) URL, got "${apiBase}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') fail(`DISCORD_API_BASE must be an http(s) URL, got "${apiBase}"`);

  let rateLimit = defaultBotConfig.rateLimit;
  const rawRate = env['SAGASU_RATE_LIMIT']?.trim();
  if (rawRate) {
    const m = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(rawRate);
    if (!m || Number(m[1]) < 1 || Number(m[2]) <= 0) fail(`SAGASU_RATE_LIMIT must look like "5/60" (searches per seconds), got "${rawRate}"`);
    rateLimit = { searches: Number(m[1]), windowMs: Number(m[2]) * 1000 };
  }
  const feedback = (env['SAGASU_INDEX_FEEDBACK']?.trim() || defaultBotConfig.indexFeedback) as IndexFeedback;
  if (!['reaction', 'log', 'none'].includes(feedback)) fail(`SAGASU_INDEX_FEEDBACK must be reaction, log or none, got "${feedback}"`);
  const int = (n: number) => Number.isInteger(n);

  const config: BotConfig = {
    token,
    apiBase: apiBase.replace(/\/+$/, ''),
    dataDir: resolve(env['SAGASU_DATA']?.trim() || defaultBotConfig.dataDir),
    minConfidence: env['SAGASU_MIN_CONFIDENCE']?.trim() ? number(env, 'SAGASU_MIN_CONFIDENCE', 0, (n) => n >= 0 && n <= 1, 'a number from 0 to 1') : defaultBotConfig.minConfidence,
    maxResults: number(env, 'SAGASU_MAX_RESULTS', defaultBotConfig.maxResults, (n) => int(n) && n >= 1 && n <= 50, 'a whole number from 1 to 50'),
    pageSize: number(env, 'SAGASU_PAGE_SIZE', defaultBotConfig.pageSize, (n) => int(n) && n >= 1 && n <= 10, 'a whole number from 1 to 10'),
    maxAttachmentBytes: number(env, 'SAGASU_MAX_ATTACHMENT_BYTES', defaultBotConfig.maxAttachmentBytes, (n) => int(n) && n >= 1024, 'a whole number of bytes, at least 1024'),
    rateLimit,
    queueSize: number(env, 'SAGASU_QUEUE_SIZE', defaultBotConfig.queueSize, (n) => int(n) && n >= 1, 'a whole number, at least 1'),
    indexConcurrency: number(env, 'SAGASU_INDEX_CONCURRENCY', defaultBotConfig.indexConcurrency, (n) => int(n) && n >= 1 && n <= 16, 'a whole number from 1 to 16'),
    indexFeedback: feedback,
    indexEmoji: env['SAGASU_INDEX_EMOJI']?.trim() || defaultBotConfig.indexEmoji,
    ephemeralResults: boolean(env, 'SAGASU_EPHEMERAL', defaultBotConfig.ephemeralResults),
    fetchTimeoutMs: number(env, 'SAGASU_FETCH_TIMEOUT_MS', defaultBotConfig.fetchTimeoutMs, (n) => int(n) && n >= 100, 'a whole number of milliseconds, at least 100'),
    ...overrides,
  };
  if (overrides.dataDir) config.dataDir = resolve(overrides.dataDir);
  return config;
}

/** The configuration as it may be printed: the token replaced by a mark. */
export function describeConfig(config: BotConfig): Record<string, unknown> {
  return { ...config, token: config.token ? '[set]' : '[not set]' };
}

/** Replaces the token wherever it occurs in a text (error messages can quote request headers). */
export function redact(text: string, token: string): string {
  return token ? text.split(token).join('[token]') : text;
}
