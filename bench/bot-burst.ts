/**
 * A burst of images posted at once into an indexed channel: how long the bot takes to index them
 * all and how much memory it holds meanwhile (real engine, real discord.js, local test server).
 *
 *   npm run build && node dist/bench/bot-burst.js [--images 1000] [--queue 500]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startBot } from '../src/bot/bot.js';
import { loadBotConfig } from '../src/bot/config.js';
import { startDiscordTestServer } from '../test/discord/discord-test-server.js';
import { blocksPng } from '../test/helpers/fakes.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '1000' }, queue: { type: 'string', default: '500' } } });
const count = Number(values.images);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

const server = await startDiscordTestServer();
const guild = server.addGuild({ name: 'burst' });
const channel = server.addChannel(guild.id, { name: 'art' });
const poster = server.addUser({ username: 'poster' });
server.addMember(guild.id, poster.id);
const dataDir = mkdtempSync(join(tmpdir(), 'sagasu-burst-'));
const quiet = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
const bot = await startBot(loadBotConfig({}, { token: server.token, apiBase: server.apiBase, dataDir, queueSize: Number(values.queue) }), { logger: quiet });
await server
  .invokeSlashCommand({ guildId: guild.id, channelId: channel.id, userId: guild.ownerId, name: 'sagasu', options: [{ name: 'channel', type: 2, options: [{ name: 'add', type: 1, options: [{ name: 'channel', type: 7, value: channel.id }] }] }] })
  .waitForResponse();

const images = await Promise.all(Array.from({ length: count }, (_, i) => blocksPng(1000 + i, 320, 240)));
const baseline = process.memoryUsage().rss;
let peak = baseline;
let largestQueue = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
  largestQueue = Math.max(largestQueue, bot.context.queue.size);
}, 20);
const start = performance.now();
for (const [i, bytes] of images.entries()) server.postMessage(channel.id, { authorId: poster.id, content: `post ${i}`, attachments: [{ filename: `p${i}.png`, contentType: 'image/png', bytes }] });
const postedMs = performance.now() - start;
// Every image is distinct, so the burst is done when the store holds them all.
while (bot.context.engine.stats().sources < count) await new Promise((r) => setTimeout(r, 200));
const seconds = (performance.now() - start) / 1000;
clearInterval(sampler);
const indexed = bot.context.engine.stats();
console.log(`posted ${count} images (320x240 PNG) in ${postedMs.toFixed(0)} ms; all handled in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(2)} images/s)`);
console.log(`indexed images: ${indexed.images}; largest in-memory queue: ${largestQueue} (limit ${values.queue})`);
console.log(`RSS before the burst ${mib(baseline)}, peak ${mib(peak)} (sampled every 20 ms)`);
await bot.stop();
await server.stop();
rmSync(dataDir, { recursive: true, force: true });
