import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BotHandle } from '../../src/bot/bot.js';
import { startDiscordTestServer, type Channel, type DiscordTestServer, type Guild, type MessageInput } from '../discord/discord-test-server.js';
import { attachment, memoryLogger, png, start, tempDir, waitFor } from './helpers.js';

const fixtures = ['page-01.png', 'page-02.png', 'page-03.png', 'page-04.png', 'page-05.png', 'page-06.png', 'photo-01.png', 'photo-02.png', 'photo-03.png', 'photo-04.png'];

describe('/sagasu backfill', () => {
  let server: DiscordTestServer;
  let bot: BotHandle | undefined;
  let guild: Guild;
  let history: Channel;
  let commandsChannel: Channel;
  const logger = memoryLogger();
  const dataDir = tempDir();

  before(async () => {
    server = await startDiscordTestServer();
    guild = server.addGuild({ name: 'archive' });
    history = server.addChannel(guild.id, { name: 'history' });
    commandsChannel = server.addChannel(guild.id, { name: 'bot-commands' });
    const poster = server.addUser({ username: 'poster' });
    server.addMember(guild.id, poster.id);
    // 250 old messages; every fifth has an image (ten distinct pictures, each posted five times), the rest are chat.
    server.seedHistory(history.id, 250, (i): MessageInput => ({
      authorId: poster.id,
      content: `message ${i}`,
      ...(i % 5 === 0 ? { attachments: [attachment(fixtures[(i / 5) % fixtures.length]!, png(fixtures[(i / 5) % fixtures.length]!))] } : {}),
    }));
    bot = await start(server, dataDir, logger);
  });

  after(async () => {
    await bot?.stop();
    await server?.stop();
  });

  it('indexes a 250-message history page by page, survives a restart in the middle, and reports in one edited message', async (t) => {
    const began = Date.now();
    const admin = guild.ownerId;
    const add = await server.invokeSlashCommand({ guildId: guild.id, channelId: commandsChannel.id, userId: admin, name: 'sagasu', options: [{ name: 'channel', type: 2, options: [{ name: 'add', type: 1, options: [{ name: 'channel', type: 7, value: history.id }] }] }] }).waitForResponse();
    assert.match(add.message!.content, /will be indexed/);

    // The second page request is rate limited for 2 s: the bot is stopped while it waits.
    const pageRequests = () => server.requests.filter((r) => r.method === 'GET' && r.path === `/channels/${history.id}/messages`);
    const started = await server
      .invokeSlashCommand({ guildId: guild.id, channelId: commandsChannel.id, userId: admin, name: 'sagasu', options: [{ name: 'backfill', type: 1, options: [{ name: 'channel', type: 7, value: history.id }] }] })
      .waitForResponse({ timeoutMs: 10_000 });
    assert.equal(started.message!.content, `Backfill of <#${history.id}> started; progress is shown in a message in <#${commandsChannel.id}>.`);
    await waitFor('the first page request', () => pageRequests().length >= 1);
    server.rateLimitNext({ method: 'GET', pathPattern: `/channels/${history.id}/messages`, retryAfterSeconds: 2 });
    await waitFor('the rate-limited second page', () => pageRequests().some((r) => r.status === 429), 120_000);
    const midway = bot!.context.state.backfill(history.id)!;
    assert.deepEqual({ scanned: midway.scanned, images: midway.images, done: midway.done }, { scanned: 100, images: 20, done: false }, logger.lines.filter((l) => l.startsWith('warn')).join('\n'));
    await bot!.stop();

    const restartedAt = Date.now();
    bot = await start(server, dataDir, logger);
    const done = await waitFor('the resumed backfill', () => {
      const record = bot!.context.state.backfill(history.id);
      return record?.done ? record : undefined;
    }, 120_000);
    assert.deepEqual({ scanned: done.scanned, images: done.images, failed: done.failed }, { scanned: 250, images: 50, failed: 0 });
    await bot.context.backfill.wait(history.id);
    t.diagnostic(`backfill of 250 messages (50 images, 10 distinct) with a stop and restart: ${Date.now() - began} ms`);
    await bot.idle();
    const sources = bot.context.engine.store.findSources({ guildId: guild.id, channelId: history.id });
    assert.equal(sources.length, 50);
    assert.equal(new Set(sources.map((s) => s.imageId)).size, 10);
    // Pages were read newest first with before=; after the restart the walk went on from the saved cursor.
    const befores = pageRequests().filter((r) => r.status === 200).map((r) => r.query['before'] ?? null);
    assert.equal(befores[0], null);
    assert.equal(pageRequests().filter((r) => r.time >= restartedAt)[0]!.query['before'], midway.before);
    assert.equal(new Set(befores).size, 3);
    const progress = server.channelMessages(commandsChannel.id).filter((m) => m.authorId === server.botUserId);
    assert.equal(progress.length, 1, 'one progress message, edited');
    assert.equal(progress[0]!.content, `Backfill of <#${history.id}> done: 250 messages read, 50 images indexed.`);
    assert.ok(progress[0]!.editedTimestamp);

    const search = await server
      .invokeSlashCommand({ guildId: guild.id, channelId: commandsChannel.id, userId: admin, name: 'search', options: [{ name: 'text', type: 3, value: 'midnight bakery opens' }] })
      .waitForResponse({ timeoutMs: 30_000 });
    assert.match(search.message!.embeds[0].url, new RegExp(`^https://discord.com/channels/${guild.id}/${history.id}/\\d+$`));
    assert.equal(search.message!.embeds[0].footer?.text, 'also posted 4 more times');
  });
});
