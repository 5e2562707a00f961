/**
 * Bursts of posted images: more than the in-memory queue holds, and a real `sagasu bot` process
 * killed with SIGKILL in the middle. Nothing may be dropped or duplicated.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { BotHandle } from '../../src/bot/bot.js';
import { Sagasu } from '../../src/sagasu.js';
import { startDiscordTestServer, type Channel, type DiscordTestServer, type Guild } from '../discord/discord-test-server.js';
import { packageRoot } from '../helpers/paths.js';
import { blocksPng } from '../helpers/fakes.js';
import { attachment, memoryLogger, start, tempDir, waitFor } from './helpers.js';

/** Distinct small pictures (no text: OCR is quick on them). */
const picture = async (seed: number) => sharp(await blocksPng(seed, 160, 120)).png().toBuffer();

async function addChannel(server: DiscordTestServer, guild: Guild, channel: Channel): Promise<void> {
  const reply = await server
    .invokeSlashCommand({ guildId: guild.id, channelId: channel.id, userId: guild.ownerId, name: 'sagasu', options: [{ name: 'channel', type: 2, options: [{ name: 'add', type: 1, options: [{ name: 'channel', type: 7, value: channel.id }] }] }] })
    .waitForResponse({ timeoutMs: 10_000 });
  assert.match(reply.message!.content, /will be indexed/);
}

describe('a burst larger than the index queue', () => {
  let server: DiscordTestServer;
  let bot: BotHandle | undefined;

  before(async () => {
    server = await startDiscordTestServer();
  });
  after(async () => {
    await bot?.stop();
    await server?.stop();
  });

  it('waits on disk instead of dropping, keeps the queue bounded, and indexes every image', async () => {
    const guild = server.addGuild({ name: 'burst' });
    const channel = server.addChannel(guild.id, { name: 'art' });
    const poster = server.addUser({ username: 'poster' });
    server.addMember(guild.id, poster.id);
    bot = await start(server, tempDir(), memoryLogger(), { queueSize: 3, indexConcurrency: 1 });
    await addChannel(server, guild, channel);
    const posted = [];
    for (let i = 0; i < 12; i++) posted.push(server.postMessage(channel.id, { authorId: poster.id, content: `burst ${i}`, attachments: [attachment(`b${i}.png`, await picture(100 + i))] }));
    let largest = 0;
    await waitFor('every image indexed', () => {
      largest = Math.max(largest, bot!.context.queue.size);
      return bot!.context.state.pendingCount() === 0 && bot!.context.queue.active === 0 && bot!.context.queue.size === 0;
    }, 120_000);
    assert.ok(largest <= 3, `the queue held at most its size, saw ${largest}`);
    for (const message of posted) assert.equal(bot.context.engine.store.findSources({ guildId: guild.id, messageId: message.id }).length, 1, `message ${message.id} indexed`);
    await bot.stop();
    bot = undefined;
  });
});

describe('sagasu bot killed with SIGKILL during a burst', () => {
  it('indexes every posted image after a restart, none twice, with the indexes agreeing with the store', async () => {
    const server = await startDiscordTestServer();
    const dataDir = tempDir();
    const children: ChildProcess[] = [];
    const runBot = () => {
      const child = spawn(process.execPath, [join(packageRoot, 'bin', 'sagasu.js'), 'bot', '--data', dataDir], {
        env: { ...process.env, DISCORD_TOKEN: server.token, DISCORD_API_BASE: server.apiBase, SAGASU_INDEX_FEEDBACK: 'reaction', SAGASU_QUEUE_SIZE: '4', SAGASU_INDEX_CONCURRENCY: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      let log = '';
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      return { child, log: () => log };
    };
    try {
      const guild = server.addGuild({ name: 'crashy' });
      const channel = server.addChannel(guild.id, { name: 'art' });
      const poster = server.addUser({ username: 'poster' });
      server.addMember(guild.id, poster.id);
      let run = runBot();
      await waitFor('the bot to log in', () => run.log().includes('sagasu bot running as'), 60_000);
      await addChannel(server, guild, channel);
      const posted = [];
      for (let i = 0; i < 10; i++) posted.push(server.postMessage(channel.id, { authorId: poster.id, content: `post ${i}`, attachments: [attachment(`p${i}.png`, await picture(200 + i))] }));
      // A reaction is the bot's acknowledgement that an image is indexed.
      const reacted = () => new Set(server.requests.filter((r) => r.method === 'PUT' && /\/reactions\//.test(r.path) && r.status < 300).map((r) => r.path.split('/')[4]));
      await waitFor('a few images indexed', () => reacted().size >= 3, 120_000);
      const acknowledgedBeforeKill = reacted();
      run.child.kill('SIGKILL');
      await new Promise((resolve) => run.child.once('exit', resolve));
      assert.ok(acknowledgedBeforeKill.size < posted.length, 'killed in the middle of the burst');

      run = runBot();
      await waitFor('every image acknowledged after the restart', () => reacted().size === posted.length, 180_000);
      run.child.kill('SIGINT');
      await new Promise((resolve) => run.child.once('exit', resolve));

      const engine = await Sagasu.open({ dataDir, ocr: false });
      try {
        assert.deepEqual(engine.checkConsistency(), { text: { missing: [], extra: 0 }, vector: { missing: [], extra: 0 }, hash: { missing: [], extra: 0 } });
        for (const message of posted) assert.equal(engine.store.findSources({ guildId: guild.id, messageId: message.id }).length, 1, `message ${message.id} indexed once`);
        assert.equal(engine.stats().images, posted.length);
      } finally {
        await engine.close();
      }
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await server.stop();
    }
  });
});
