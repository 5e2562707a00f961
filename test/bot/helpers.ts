import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { startBot, type BotHandle } from '../../src/bot/bot.js';
import { loadBotConfig, type BotConfig } from '../../src/bot/config.js';
import type { BotLogger } from '../../src/bot/context.js';
import type { DiscordTestServer } from '../discord/discord-test-server.js';
import { fixture } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

export const tempDir = (): string => scratchDir('sagasu-bot-');

/** Collects log lines so a test can assert on them (and on the token never appearing). */
export function memoryLogger(): BotLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

export function testConfig(server: DiscordTestServer, dataDir: string, overrides: Partial<BotConfig> = {}): BotConfig {
  return loadBotConfig({}, { token: server.token, apiBase: server.apiBase, dataDir, rateLimit: { searches: 1000, windowMs: 60_000 }, ...overrides });
}

export async function start(server: DiscordTestServer, dataDir: string, logger: BotLogger, overrides: Partial<BotConfig> = {}): Promise<BotHandle> {
  // The real engine with its defaults: tesseract.js OCR, MobileNetV2 on tfjs-wasm, SQLite, HNSW, MiniSearch.
  return startBot(testConfig(server, dataDir, overrides), { logger });
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export const png = (name: string): Buffer => readFileSync(fixture(name));

/** A crop of a fixture (fractions of its size), re-encoded as JPEG: a query that is not the same file. */
export async function cropOf(name: string, box: { left: number; top: number; width: number; height: number }): Promise<Buffer> {
  const image = sharp(fixture(name));
  const { width = 0, height = 0 } = await image.metadata();
  return sharp(fixture(name))
    .extract({ left: Math.round(box.left * width), top: Math.round(box.top * height), width: Math.round(box.width * width), height: Math.round(box.height * height) })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export const attachment = (filename: string, bytes: Buffer, contentType = filename.endsWith('.jpg') ? 'image/jpeg' : 'image/png') => ({ filename, contentType, bytes });
