import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployCommands, type BotHandle } from '../../src/bot/bot.js';
import { UserRateLimiter } from '../../src/bot/rate-limit.js';
import { Permission, startDiscordTestServer, type Channel, type DiscordTestServer, type Guild, type StoredMessage, type User } from '../discord/discord-test-server.js';
import { attachment, cropOf, memoryLogger, png, start, tempDir, testConfig, waitFor } from './helpers.js';

/**
 * The bot end to end: the real discord.js client against the local Discord test server, with the
 * real engine underneath (tesseract.js OCR, MobileNetV2 embeddings, SQLite, HNSW, MiniSearch).
 * The tests share one server and run in order; the bot is restarted once in the middle.
 */
describe('sagasu bot end to end', () => {
  let server: DiscordTestServer;
  let bot: BotHandle;
  const logger = memoryLogger();
  const dataDir = tempDir();
  let guild: Guild;
  let other: Guild;
  let art: Channel;
  let general: Channel;
  let secret: Channel;
  let nsfw: Channel;
  let otherChannel: Channel;
  let admin: string;
  let alice: User;
  let stranger: User;
  const posted = new Map<string, StoredMessage>();

  const engine = () => bot.context.engine;
  const sourcesOf = (messageId: string) => engine().store.findSources({ guildId: guild.id, messageId });
  const slash = (userId: string, channelId: string, name: string, options: Array<Record<string, unknown>> = [], attachments?: Record<string, ReturnType<typeof attachment>>, guildId = guild.id) =>
    server.invokeSlashCommand({ guildId, channelId, userId, name, options: options as never, ...(attachments ? { attachments } : {}) });
  const addChannel = async (channelId: string) => {
    const reply = await slash(admin, channelId, 'sagasu', [{ name: 'channel', type: 2, options: [{ name: 'add', type: 1, options: [] }] }]).waitForResponse();
    assert.match(reply.message!.content, /will be indexed/);
  };
  const post = async (channel: Channel, userId: string, name: string, bytes = png(name)) => {
    const message = server.postMessage(channel.id, { authorId: userId, content: `posting ${name}`, attachments: [attachment(name, bytes)] });
    posted.set(name, message);
    return message;
  };
  const linksIn = (embeds: any[]) => embeds.map((e) => String(e.url));
  const linkTo = (message: StoredMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;

  before(async () => {
    server = await startDiscordTestServer();
    guild = server.addGuild({ name: 'art club' });
    admin = guild.ownerId;
    art = server.addChannel(guild.id, { name: 'art' });
    general = server.addChannel(guild.id, { name: 'general' });
    const hidden = { id: guild.id, type: 0 as const, allow: 0n, deny: Permission.ViewChannel };
    const botMay = { id: server.botUserId, type: 1 as const, allow: Permission.ViewChannel | Permission.ReadMessageHistory, deny: 0n };
    secret = server.addChannel(guild.id, { name: 'mods-only', permissionOverwrites: [hidden, botMay] });
    nsfw = server.addChannel(guild.id, { name: 'after-dark', nsfw: true });
    alice = server.addUser({ username: 'alice' });
    server.addMember(guild.id, alice.id);
    other = server.addGuild({ name: 'another server' });
    otherChannel = server.addChannel(other.id, { name: 'lobby' });
    stranger = server.addUser({ username: 'stranger' });
    server.addMember(other.id, stranger.id);
    bot = await start(server, dataDir, logger);
  });

  after(async () => {
    await bot?.stop();
    await server?.stop();
  });

  it('logs in and registers its commands in one bulk call, to a guild and globally', async () => {
    assert.ok(bot.client.isReady());
    const config = testConfig(server, dataDir);
    assert.deepEqual(await deployCommands(config, { guildId: guild.id }), { scope: `guild ${guild.id}`, names: ['search', 'Find similar', 'sagasu'] });
    assert.deepEqual((await deployCommands(config)).names, ['search', 'Find similar', 'sagasu']);
    const stored = server.commands.get(guild.id)!;
    assert.deepEqual(stored.map((c) => [c.name, c.type, c.default_member_permissions]), [
      ['search', 1, null],
      ['Find similar', 3, null],
      ['sagasu', 1, '32'],
    ]);
    assert.deepEqual(server.unknownRequests, []);
  });

  it('lets an admin add channels, refuses a member, and lists them', async () => {
    const refused = await slash(alice.id, art.id, 'sagasu', [{ name: 'channel', type: 2, options: [{ name: 'add', type: 1, options: [] }] }]).waitForResponse();
    assert.equal(refused.message!.content, 'You need the Manage Server permission to change what sagasu indexes.');
    assert.equal(refused.ephemeral, true);
    for (const channel of [art, secret, nsfw]) await addChannel(channel.id);
    const list = await slash(admin, general.id, 'sagasu', [{ name: 'channel', type: 2, options: [{ name: 'list', type: 1, options: [] }] }]).waitForResponse();
    assert.equal(list.message!.content, `Indexed channels: <#${art.id}>, <#${secret.id}>, <#${nsfw.id}>`);
  });

  it('indexes images posted in indexed channels in the background, and not others', async (t) => {
    const began = Date.now();
    for (const name of ['page-01.png', 'page-02.png', 'page-05.png', 'photo-01.png', 'photo-02.png']) await post(art, alice.id, name);
    await post(secret, admin, 'photo-03.png');
    await post(nsfw, admin, 'photo-04.png');
    server.postMessage(general.id, { authorId: alice.id, content: 'not indexed here', attachments: [attachment('page-06.png', png('page-06.png'))] });
    for (const message of posted.values()) await waitFor(`indexing of ${message.id}`, () => sourcesOf(message.id).length === 1, 120_000);
    await bot.idle();
    t.diagnostic(`7 images posted and indexed in ${Date.now() - began} ms (first use loads the model and OCR workers)`);
    assert.equal(engine().store.findSources({ guildId: guild.id }).length, 7);
    const source = sourcesOf(posted.get('page-02.png')!.id)[0]!;
    assert.deepEqual(
      { channel: source.channelId, author: source.authorId, file: source.fileName, caption: source.caption, attachment: source.attachmentId },
      { channel: art.id, author: alice.id, file: 'page-02.png', caption: 'posting page-02.png', attachment: posted.get('page-02.png')!.attachments[0]!.id },
    );
  });

  it('answers /search with a cropped copy with a link to the right message, deferring first', async (t) => {
    const crop = await cropOf('page-02.png', { left: 0.05, top: 0.05, width: 0.8, height: 0.7 });
    const invoked = slash(alice.id, general.id, 'search', [], { image: attachment('crop.jpg', crop) });
    const reply = await invoked.waitForResponse({ timeoutMs: 60_000 });
    assert.equal(reply.callbackType, 5);
    assert.ok(reply.deferredAtMs! < 3000, `deferred after ${reply.deferredAtMs} ms`);
    t.diagnostic(`image search: deferred after ${reply.deferredAtMs} ms, answered after ${reply.completedAtMs} ms`);
    assert.equal(reply.ephemeral, true);
    const embeds = reply.message!.embeds;
    assert.ok(embeds.length >= 1 && embeds.length <= 5, reply.message!.content);
    assert.equal(embeds[0].url, linkTo(posted.get('page-02.png')!));
    const fields = Object.fromEntries(embeds[0].fields.map((f: any) => [f.name, f.value]));
    assert.equal(fields['Channel'], `<#${art.id}>`);
    assert.equal(fields['Author'], `<@${alice.id}>`);
    assert.match(fields['Posted'], /^<t:\d+:f>$/);
    assert.match(fields['Similarity'], /^\d+%$/);
    assert.match(fields['Why it matched'], /visual rank|words/);
    // The thumbnail is a fresh signed URL of the original attachment, fetched now, never stored.
    assert.match(embeds[0].thumbnail.url, new RegExp(`/attachments/${art.id}/${posted.get('page-02.png')!.attachments[0]!.id}/page-02.png\\?ex=`));
  });

  it('answers /search text: from the OCR text alone', async () => {
    const reply = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'midnight bakery opens' }]).waitForResponse({ timeoutMs: 30_000 });
    assert.equal(reply.message!.embeds[0]?.url, linkTo(posted.get('page-02.png')!));
    assert.match(reply.message!.embeds[0].fields.at(-1).value, /`midnight`/);
  });

  it('says plainly when nothing matches with confidence', async () => {
    const reply = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'zebra xylophone quartz' }]).waitForResponse({ timeoutMs: 30_000 });
    assert.deepEqual(reply.message!.embeds, []);
    assert.match(reply.message!.content, /^No (confident )?match/);
  });

  it('finds the original of an image in another message from the "Find similar" menu', async () => {
    const copy = await cropOf('photo-01.png', { left: 0, top: 0, width: 1, height: 1 });
    const message = server.postMessage(general.id, { authorId: alice.id, content: 'where is this from?', attachments: [attachment('copy.jpg', copy)] });
    const reply = await server.invokeMessageContextMenu({ guildId: guild.id, channelId: general.id, userId: alice.id, name: 'Find similar', targetMessageId: message.id }).waitForResponse({ timeoutMs: 60_000 });
    assert.equal(reply.callbackType, 5);
    assert.equal(reply.message!.embeds[0]?.url, linkTo(posted.get('photo-01.png')!));
    const textOnly = server.postMessage(general.id, { authorId: alice.id, content: 'no picture' });
    const none = await server.invokeMessageContextMenu({ guildId: guild.id, channelId: general.id, userId: alice.id, name: 'Find similar', targetMessageId: textOnly.id }).waitForResponse();
    assert.equal(none.message!.content, 'That message has no image or image link to search with.');
  });

  it('shows a member only channels they can view, no NSFW outside NSFW channels, and nothing to another guild', async () => {
    const search = async (userId: string, channelId: string, name: string, guildId = guild.id) =>
      linksIn((await slash(userId, channelId, 'search', [], { image: attachment(name, png(name)) }, guildId).waitForResponse({ timeoutMs: 60_000 })).message!.embeds);
    const secretLink = linkTo(posted.get('photo-03.png')!);
    const nsfwLink = linkTo(posted.get('photo-04.png')!);
    assert.ok(!(await search(alice.id, general.id, 'photo-03.png')).includes(secretLink));
    assert.equal((await search(admin, general.id, 'photo-03.png'))[0], secretLink);
    assert.ok(!(await search(admin, general.id, 'photo-04.png')).includes(nsfwLink));
    assert.equal((await search(alice.id, nsfw.id, 'photo-04.png'))[0], nsfwLink);
    // A thread takes its parent's permissions: a thread of the hidden channel stays hidden (and is indexed with it).
    const thread = server.addChannel(guild.id, { name: 'mods-thread', type: 11, parentId: secret.id });
    const inThread = await post(thread, admin, 'text-ja-horizontal.png');
    await waitFor('the thread image', () => sourcesOf(inThread.id).length === 1, 120_000);
    assert.ok(!(await search(alice.id, general.id, 'text-ja-horizontal.png')).includes(linkTo(inThread)));
    assert.equal((await search(admin, general.id, 'text-ja-horizontal.png'))[0], linkTo(inThread));
    const elsewhere = await slash(stranger.id, otherChannel.id, 'search', [], { image: attachment('page-02.png', png('page-02.png')) }, other.id).waitForResponse({ timeoutMs: 60_000 });
    assert.deepEqual(elsewhere.message!.embeds, []);
  });

  it('pages through more results with buttons only the searcher may use', async () => {
    bot.context.config.pageSize = 1;
    bot.context.config.minConfidence = 0;
    try {
      const reply = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'posting png' }]).waitForResponse({ timeoutMs: 30_000 });
      assert.equal(reply.message!.embeds.length, 1);
      const buttons = reply.message!.components[0].components;
      assert.deepEqual(buttons.map((b: any) => [b.label, b.disabled ?? false]), [['Previous', true], [`More results (1/${reply.message!.content.match(/page 1\/(\d+)/)![1]})`, false]]);
      const first = reply.message!.embeds[0].url;
      const bob = server.addUser({ username: 'bob' });
      server.addMember(guild.id, bob.id);
      const refused = await server.invokeButton({ guildId: guild.id, channelId: general.id, userId: bob.id, customId: buttons[1].custom_id, messageId: reply.message!.id }).waitForResponse();
      assert.equal(refused.message!.content, 'Only the member who searched can page through these results.');
      const next = await server.invokeButton({ guildId: guild.id, channelId: general.id, userId: alice.id, customId: buttons[1].custom_id, messageId: reply.message!.id }).waitForResponse({ timeoutMs: 30_000 });
      assert.equal(next.callbackType, 6);
      const edited = next.message!;
      assert.equal(edited.id, reply.message!.id);
      assert.match(edited.content, /page 2\//);
      assert.equal(edited.embeds.length, 1);
      assert.notEqual(edited.embeds[0].url, first);
    } finally {
      bot.context.config.pageSize = 5;
      bot.context.config.minConfidence = null;
    }
  });

  it('forgets a deleted message at once, and keeps everything else across a restart', async () => {
    const deleted = posted.get('page-02.png')!;
    server.deleteMessage(art.id, deleted.id);
    await waitFor('the delete', () => sourcesOf(deleted.id).length === 0);
    const crop = await cropOf('page-02.png', { left: 0.05, top: 0.05, width: 0.8, height: 0.7 });
    const after = await slash(alice.id, general.id, 'search', [], { image: attachment('crop.jpg', crop) }).waitForResponse({ timeoutMs: 60_000 });
    assert.ok(!linksIn(after.message!.embeds).includes(linkTo(deleted)));

    await bot.stop();
    bot = await start(server, dataDir, logger);
    assert.equal(engine().store.findSources({ guildId: guild.id }).length, 7);
    const reply = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'where is the lighthouse' }]).waitForResponse({ timeoutMs: 60_000 });
    assert.equal(reply.message!.embeds[0]?.url, linkTo(posted.get('page-01.png')!));
    const list = await slash(admin, general.id, 'sagasu', [{ name: 'channel', type: 2, options: [{ name: 'list', type: 1, options: [] }] }]).waitForResponse();
    assert.equal(list.message!.content, `Indexed channels: <#${art.id}>, <#${secret.id}>, <#${nsfw.id}>`);
  });

  it('re-indexes an edited message: an image taken out is forgotten', async () => {
    bot.context.config.indexFeedback = 'reaction';
    const message = server.postMessage(art.id, { authorId: alice.id, content: 'two pictures', attachments: [attachment('text-en.png', png('text-en.png')), attachment('photo-02.png', png('photo-02.png'))] });
    await waitFor('both images', () => sourcesOf(message.id).length === 2, 120_000);
    await waitFor('the reaction', () => server.getMessage(art.id, message.id)!.reactions.get('🔎')?.has(server.botUserId));
    bot.context.config.indexFeedback = 'log';
    server.editMessage(art.id, message.id, { attachments: [attachment('text-en.png', png('text-en.png'))] });
    await waitFor('the edit', () => sourcesOf(message.id).length === 1, 60_000);
    assert.equal(sourcesOf(message.id)[0]!.fileName, 'text-en.png');
  });

  it('waits out a 429 with Retry-After and still answers', async () => {
    server.rateLimitNext({ method: 'PATCH', pathPattern: /^\/webhooks\/\d+\/.+\/messages\/@original$/, retryAfterSeconds: 1 });
    const reply = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'where is the lighthouse' }]).waitForResponse({ timeoutMs: 30_000 });
    assert.equal(reply.message!.embeds[0]?.url, linkTo(posted.get('page-01.png')!));
    assert.ok(reply.completedAtMs >= 1000, `completed after ${reply.completedAtMs} ms`);
    assert.equal(server.requests.filter((r) => r.status === 429).length, 1);
  });

  it('answers a corrupted or oversized attachment clearly, limits searches per member, and keeps running', async () => {
    const broken = await slash(alice.id, general.id, 'search', [], { image: attachment('broken.png', Buffer.from('this is not a PNG at all, only text')) }).waitForResponse({ timeoutMs: 30_000 });
    assert.match(broken.message!.content, /^broken\.png: That file could not be read as an image/);
    server.postMessage(art.id, { authorId: alice.id, attachments: [attachment('broken.png', Buffer.from('still not a PNG'))] });
    await waitFor('the failure to be logged', () => logger.lines.find((l) => l.startsWith('warn not indexed') && l.includes('sagasu:')), 30_000);

    bot.context.config.maxAttachmentBytes = 1024;
    const big = await slash(alice.id, general.id, 'search', [], { image: attachment('page-01.png', png('page-01.png')) }).waitForResponse();
    bot.context.config.maxAttachmentBytes = 10 * 1024 * 1024;
    assert.equal(big.message!.content, 'page-01.png is larger than the 1 KiB limit and was not searched.');

    bot.context.limiter = new UserRateLimiter(1, 60_000);
    const first = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'lighthouse' }]).waitForResponse({ timeoutMs: 30_000 });
    assert.equal(first.callbackType, 5);
    const second = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'lighthouse' }]).waitForResponse();
    assert.match(second.message!.content, /^You are searching too often: at most 1 search per 60 s\. Try again in \d+ s\.$/);
    bot.context.limiter = new UserRateLimiter(1000, 60_000);

    const alive = await slash(alice.id, general.id, 'search', [{ name: 'text', type: 3, value: 'where is the lighthouse' }]).waitForResponse({ timeoutMs: 30_000 });
    assert.equal(alive.message!.embeds[0]?.url, linkTo(posted.get('page-01.png')!));
  });

  it('forgets a deleted channel and a guild that removed the bot', async () => {
    server.deleteChannel(nsfw.id);
    await waitFor('the channel delete', () => engine().store.findSources({ guildId: guild.id, channelId: nsfw.id }).length === 0);
    assert.equal(bot.context.state.isIndexed(nsfw.id), false);
    server.removeGuild(guild.id);
    await waitFor('the guild delete', () => engine().store.findSources({ guildId: guild.id }).length === 0);
    assert.deepEqual(bot.context.state.channels(guild.id), []);
    assert.equal(engine().stats().images, 0);
    assert.ok(!logger.lines.some((l) => l.includes(server.token)), 'the token never reaches the log');
  });
});
