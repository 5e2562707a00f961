import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ButtonBuilder,
  ButtonStyle,
  Client,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  Partials,
  PermissionsBitField,
  type ApplicationCommandDataResolvable,
  type Interaction,
  type Message,
  type PartialMessage,
  type TextChannel,
} from 'discord.js';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import {
  ALL_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  Permission,
  snowflake,
  startDiscordTestServer,
  type Channel,
  type DiscordTestServer,
  type Guild,
  type User,
} from './discord-test-server.js';

function makeClient(server: DiscordTestServer): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Message, Partials.Channel],
    rest: { api: server.apiBase },
  });
}

async function loginAndWaitReady(client: Client, token: string): Promise<void> {
  const ready = once(client, Events.ClientReady);
  await client.login(token);
  await ready;
}

describe('DiscordTestServer with the real discord.js client', () => {
  let server: DiscordTestServer;
  let client: Client;
  let guild: Guild;
  let general: Channel;
  let alice: User;
  let png: Buffer;
  const handlerErrors: unknown[] = [];

  before(async () => {
    png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c83232' } }).png().toBuffer();
    server = await startDiscordTestServer();
    guild = server.addGuild({ name: 'sagasu test guild' });
    general = server.addChannel(guild.id, { name: 'general' });
    server.addChannel(guild.id, { name: 'nsfw-art', nsfw: true });
    server.addChannel(guild.id, { name: 'a-thread', type: 11, parentId: general.id });
    alice = server.addUser({ username: 'alice' });
    server.addMember(guild.id, alice.id);
    client = makeClient(server);
    client.on(Events.InteractionCreate, (interaction) => {
      handleInteraction(interaction).catch((error: unknown) => handlerErrors.push(error));
    });
    await loginAndWaitReady(client, server.token);
  });

  after(async () => {
    await client?.destroy();
    await server?.stop();
  });

  // What a bot would do; the tests check what reached the server.
  async function handleInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isChatInputCommand() && interaction.commandName === 'find') {
      await interaction.deferReply();
      const image = interaction.options.getAttachment('image', true);
      const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      await interaction.editReply({
        embeds: [new EmbedBuilder().setTitle('Best match').setDescription(`${image.name} ${bytes.length} bytes ${image.width}x${image.height}`)],
        files: [{ attachment: bytes, name: 'match.png' }],
      });
    } else if (interaction.isMessageContextMenuCommand() && interaction.commandName === 'Find source') {
      const attachment = interaction.targetMessage.attachments.first();
      await interaction.reply({ content: `looking at ${attachment?.name ?? 'nothing'}`, flags: 64 });
    } else if (interaction.isChatInputCommand() && interaction.commandName === 'ping') {
      const callback = await interaction.reply({ content: 'pong', withResponse: true });
      const original = await interaction.fetchReply();
      await interaction.followUp({ content: `same message: ${callback.resource?.message?.id === original.id}` });
    } else if (interaction.isButton() && interaction.customId === 'more') {
      await interaction.update({ content: 'more results', components: [] });
    } else if (interaction.isButton() && interaction.customId === 'later') {
      await interaction.deferUpdate();
      await sleep(30);
      await interaction.editReply({ content: 'later results' });
    }
  }

  describe('login', () => {
    it('makes the client ready with the guild, its channels and roles cached', () => {
      assert.equal(client.isReady(), true);
      assert.equal(client.user?.id, server.botUserId);
      assert.equal(client.user?.bot, true);
      assert.equal(client.application?.id, server.applicationId);
      const cached = client.guilds.cache.get(guild.id);
      assert.ok(cached);
      assert.equal(cached.name, 'sagasu test guild');
      assert.deepEqual([...cached.channels.cache.values()].map((c) => c.name).sort(), ['a-thread', 'general', 'nsfw-art']);
      const thread = cached.channels.cache.find((c) => c.name === 'a-thread');
      assert.equal(thread?.isThread(), true);
      assert.equal(thread?.parentId, general.id);
      assert.equal((cached.channels.cache.find((c) => c.name === 'nsfw-art') as TextChannel).nsfw, true);
      assert.equal(cached.roles.everyone.permissions.bitfield, DEFAULT_EVERYONE_PERMISSIONS);
      assert.equal(cached.members.me?.id, server.botUserId);
      assert.match(guild.id, /^\d{17,19}$/);
    });

    it('rejects a wrong token with TokenInvalid', async () => {
      const other = makeClient(server);
      try {
        await assert.rejects(other.login('not-the-token'), { code: 'TokenInvalid', message: 'An invalid token was provided.' });
      } finally {
        await other.destroy();
      }
      const last = server.requests.filter((r) => r.path === '/gateway/bot').at(-1);
      assert.equal(last?.status, 401);
    });

    it('closes the gateway with 4004 on IDENTIFY with a wrong token', async () => {
      const ws = new WebSocket(`${server.gatewayUrl}?v=10&encoding=json`);
      const [hello] = (await once(ws, 'message')) as [Buffer];
      assert.equal(JSON.parse(hello.toString()).op, 10);
      ws.send(JSON.stringify({ op: 1, d: null }));
      const [ack] = (await once(ws, 'message')) as [Buffer];
      assert.equal(JSON.parse(ack.toString()).op, 11);
      ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 4004);
    });

    it('closes the gateway with 4014 when a privileged intent is not allowed', async () => {
      const strict = await startDiscordTestServer({ allowedPrivilegedIntents: 0 });
      try {
        const ws = new WebSocket(`${strict.gatewayUrl}?v=10&encoding=json`);
        await once(ws, 'message');
        ws.send(JSON.stringify({ op: 2, d: { token: strict.token, intents: 1 | (1 << 15), properties: {} } }));
        const [code] = (await once(ws, 'close')) as [number];
        assert.equal(code, 4014);
      } finally {
        await strict.stop();
      }
    });
  });

  describe('postMessage', () => {
    it('delivers messageCreate with the attachment, whose URL serves the bytes', async () => {
      const received = once(client, Events.MessageCreate) as Promise<[Message]>;
      const posted = server.postMessage(general.id, {
        authorId: alice.id,
        content: 'where is this from?',
        attachments: [{ filename: 'query.png', contentType: 'image/png', bytes: png }],
      });
      const [message] = await received;
      assert.equal(message.id, posted.id);
      assert.equal(message.content, 'where is this from?');
      assert.equal(message.author.id, alice.id);
      assert.equal(message.guildId, guild.id);
      const attachment = message.attachments.first();
      assert.ok(attachment);
      assert.equal(attachment.name, 'query.png');
      assert.equal(attachment.contentType, 'image/png');
      assert.equal(attachment.size, png.length);
      assert.equal(attachment.width, 64);
      assert.equal(attachment.height, 48);
      const response = await fetch(attachment.url);
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);
    });

    it('expires attachment URLs, and a re-fetched message carries fresh ones', async () => {
      const received = once(client, Events.MessageCreate) as Promise<[Message]>;
      server.postMessage(general.id, { authorId: alice.id, attachments: [{ filename: 'old.png', contentType: 'image/png', bytes: png }] });
      const [message] = await received;
      const oldUrl = message.attachments.first()!.url;
      server.expireAttachmentUrls();
      assert.equal((await fetch(oldUrl)).status, 404);
      const fresh = await message.fetch(true);
      const newUrl = fresh.attachments.first()!.url;
      assert.notEqual(newUrl, oldUrl);
      const response = await fetch(newUrl);
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);
      const forged = newUrl.replace(/hm=[0-9a-f]+/, 'hm=' + '0'.repeat(64));
      assert.equal((await fetch(forged)).status, 403);
    });
  });

  describe('application commands', () => {
    it('registers global and guild commands in bulk and echoes them with ids', async () => {
      const definitions: ApplicationCommandDataResolvable[] = [
        {
          name: 'find',
          description: 'Find the original of a picture',
          options: [{ type: ApplicationCommandOptionType.Attachment, name: 'image', description: 'the picture', required: true }],
        },
        { name: 'Find source', type: ApplicationCommandType.Message },
      ];
      const global = await client.application!.commands.set(definitions);
      assert.deepEqual([...global.values()].map((c) => c.name).sort(), ['Find source', 'find']);
      for (const id of global.keys()) assert.match(id, /^\d{17,19}$/);
      const inGuild = await client.application!.commands.set(definitions, guild.id);
      assert.equal(inGuild.size, 2);
      assert.equal(server.commands.get('')?.length, 2);
      assert.equal(server.commands.get(guild.id)?.length, 2);
      const fetched = await client.application!.commands.fetch();
      assert.deepEqual([...fetched.keys()].sort(), [...global.keys()].sort());
    });
  });

  describe('invokeSlashCommand', () => {
    it('sees the deferral and then the edited reply with its embed and file', async () => {
      const invoked = server.invokeSlashCommand({
        guildId: guild.id,
        channelId: general.id,
        userId: alice.id,
        name: 'find',
        attachments: { image: { filename: 'query.png', contentType: 'image/png', bytes: png } },
      });
      const response = await invoked.waitForResponse({ timeoutMs: 10_000 });
      assert.deepEqual(handlerErrors, []);
      assert.equal(response.callbackType, 5);
      assert.ok(response.deferredAtMs !== null && response.deferredAtMs < 3000, `deferred after ${response.deferredAtMs} ms`);
      assert.ok(response.completedAtMs >= response.deferredAtMs!);
      assert.equal(response.message?.embeds[0]?.title, 'Best match');
      assert.equal(response.message?.embeds[0]?.description, `query.png ${png.length} bytes 64x48`);
      assert.equal(response.message?.attachments[0]?.filename, 'match.png');
      assert.deepEqual(response.message?.attachments[0]?.bytes, png);
      assert.equal(response.flags & 128, 0);
      const edit = server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith(`/${invoked.token}/messages/@original`));
      assert.ok(edit);
      assert.equal(edit.rawUrl.includes('%40original'), true);
      assert.deepEqual(edit.files.map((f) => f.field), ['files[0]']);
    });

    it('waits out a 429 with Retry-After on the edit, and the edit still lands', async () => {
      server.rateLimitNext({ method: 'PATCH', pathPattern: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/, retryAfterSeconds: 1 });
      const invoked = server.invokeSlashCommand({
        guildId: guild.id,
        channelId: general.id,
        userId: alice.id,
        name: 'find',
        attachments: { image: { filename: 'again.png', contentType: 'image/png', bytes: png } },
      });
      const response = await invoked.waitForResponse({ timeoutMs: 10_000 });
      assert.deepEqual(handlerErrors, []);
      assert.equal(response.message?.embeds[0]?.title, 'Best match');
      const edits = server.requests.filter((r) => r.method === 'PATCH' && r.path.includes(invoked.token));
      assert.deepEqual(edits.map((r) => r.status), [429, 200]);
      const waited = edits[1]!.time - edits[0]!.time;
      assert.ok(waited >= 950, `retried after ${waited} ms`);
    });
  });

  describe('followUps', () => {
    it('records a reply made with withResponse, the fetched original and a follow-up', async () => {
      const invoked = server.invokeSlashCommand({ guildId: guild.id, channelId: general.id, userId: alice.id, name: 'ping' });
      const response = await invoked.waitForResponse({ timeoutMs: 5000 });
      assert.equal(response.callbackType, 4);
      assert.equal(response.message?.content, 'pong');
      for (let i = 0; i < 100 && invoked.followUps.length === 0; i++) await sleep(20);
      assert.deepEqual(handlerErrors, []);
      assert.deepEqual(invoked.followUps.map((m) => m.content), ['same message: true']);
      const callback = server.requests.find((r) => r.path === `/interactions/${invoked.id}/${invoked.token}/callback`);
      assert.equal(callback?.query['with_response'], 'true');
      assert.equal(callback?.status, 200);
    });
  });

  describe('invokeMessageContextMenu', () => {
    it('gives the bot the target message and sees its immediate ephemeral reply', async () => {
      const target = server.postMessage(general.id, {
        authorId: alice.id,
        attachments: [{ filename: 'target.png', contentType: 'image/png', bytes: png }],
      });
      const invoked = server.invokeMessageContextMenu({
        guildId: guild.id,
        channelId: general.id,
        userId: alice.id,
        name: 'Find source',
        targetMessageId: target.id,
      });
      const response = await invoked.waitForResponse({ timeoutMs: 5000 });
      assert.deepEqual(handlerErrors, []);
      assert.equal(response.callbackType, 4);
      assert.equal(response.deferredAtMs, null);
      assert.equal(response.message?.content, 'looking at target.png');
      assert.equal(response.ephemeral, true);
      assert.equal(response.flags & 64, 64);
      assert.equal(server.getMessage(general.id, response.message!.id), undefined, 'ephemeral replies stay out of history');
    });
  });

  describe('invokeButton', () => {
    it('sees an update (type 7) of the message the button is on', async () => {
      const channel = client.channels.cache.get(general.id) as TextChannel;
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('more').setLabel('More').setStyle(ButtonStyle.Primary),
      );
      const sent = await channel.send({ content: 'results', components: [row] });
      assert.equal(server.getMessage(general.id, sent.id)?.components.length, 1);
      const invoked = server.invokeButton({ guildId: guild.id, channelId: general.id, userId: alice.id, customId: 'more', messageId: sent.id });
      const response = await invoked.waitForResponse({ timeoutMs: 5000 });
      assert.deepEqual(handlerErrors, []);
      assert.equal(response.callbackType, 7);
      assert.equal(response.message?.id, sent.id);
      assert.equal(response.message?.content, 'more results');
      assert.deepEqual(response.message?.components, []);
    });
  });

  describe('invokeButton with deferUpdate', () => {
    it('completes when the deferred update (type 6) is followed by an edit of the message', async () => {
      const channel = client.channels.cache.get(general.id) as TextChannel;
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('later').setLabel('Later').setStyle(ButtonStyle.Secondary),
      );
      const sent = await channel.send({ content: 'results', components: [row] });
      const invoked = server.invokeButton({ guildId: guild.id, channelId: general.id, userId: alice.id, customId: 'later', messageId: sent.id });
      const response = await invoked.waitForResponse({ timeoutMs: 5000 });
      assert.deepEqual(handlerErrors, []);
      assert.equal(response.callbackType, 6);
      assert.ok(response.deferredAtMs !== null);
      assert.equal(response.message?.id, sent.id);
      assert.equal(response.message?.content, 'later results');
    });
  });

  describe('waitForResponse', () => {
    it('rejects with a clear error when the bot never answers', async () => {
      const invoked = server.invokeSlashCommand({ guildId: guild.id, channelId: general.id, userId: alice.id, name: 'unhandled' });
      await assert.rejects(invoked.waitForResponse({ timeoutMs: 100 }), {
        name: 'SagasuError',
        code: 'TIMEOUT',
        message: `sagasu: interaction ${invoked.id} got no complete response within 100 ms (callbacks: none)`,
      });
    });
  });

  describe('POST /channels/{id}/messages', () => {
    it('answers 403 Missing Permissions where the bot may not send', async () => {
      const locked = server.addChannel(guild.id, {
        name: 'announcements',
        permissionOverwrites: [{ id: guild.id, type: 0, allow: 0n, deny: Permission.SendMessages }],
      });
      await sleep(20);
      const channel = client.channels.cache.get(locked.id) as TextChannel;
      await assert.rejects(channel.send('hello'), { name: 'DiscordAPIError[50013]', code: 50013, status: 403 });
      assert.equal(server.channelMessages(locked.id).length, 0);
    });
  });

  describe('reactions', () => {
    it('stores a reaction the bot adds with an encoded unicode emoji, and removes it', async () => {
      const received = once(client, Events.MessageCreate) as Promise<[Message]>;
      const posted = server.postMessage(general.id, { authorId: alice.id, content: 'react to me' });
      const [message] = await received;
      const reaction = await message.react('🔍');
      assert.equal(reaction.emoji.name, '🔍');
      assert.deepEqual([...(server.getMessage(general.id, posted.id)?.reactions.get('🔍') ?? [])], [server.botUserId]);
      await reaction.users.remove(server.botUserId);
      assert.equal(server.getMessage(general.id, posted.id)?.reactions.size, 0);
      const put = server.requests.find((r) => r.method === 'PUT' && r.path.includes(posted.id));
      assert.ok(put?.rawUrl.includes('%F0%9F%94%8D'));
    });
  });

  describe('message content intent', () => {
    it('blanks content and attachments for a client without MessageContent', async () => {
      const blind = new Client({
        intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
        rest: { api: server.apiBase },
      });
      try {
        await loginAndWaitReady(blind, server.token);
        const seenByBlind = once(blind, Events.MessageCreate) as Promise<[Message]>;
        const seenByBot = once(client, Events.MessageCreate) as Promise<[Message]>;
        server.postMessage(general.id, { authorId: alice.id, content: 'secret', attachments: [{ filename: 'a.png', contentType: 'image/png', bytes: png }] });
        const [[blindMessage], [fullMessage]] = await Promise.all([seenByBlind, seenByBot]);
        assert.equal(blindMessage.content, '');
        assert.equal(blindMessage.attachments.size, 0);
        assert.equal(fullMessage.content, 'secret');
        assert.equal(fullMessage.attachments.size, 1);
      } finally {
        await blind.destroy();
      }
    });
  });

  describe('seedHistory', () => {
    it('lets the client page through 250 old messages with before=', async () => {
      const history = server.addChannel(guild.id, { name: 'history' });
      await sleep(50); // let CHANNEL_CREATE reach the client
      const seeded = server.seedHistory(history.id, 250, (i) => ({ authorId: alice.id, content: `old ${i}` }));
      const channel = (await client.channels.fetch(history.id)) as TextChannel;
      const seen: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await channel.messages.fetch({ limit: 100, ...(before ? { before } : {}), cache: false });
        if (page.size === 0) break;
        seen.push(...page.keys());
        before = page.lastKey();
      }
      assert.equal(seen.length, 250);
      assert.deepEqual(seen, seeded.map((m) => m.id).reverse());
      const pages = server.requests.filter((r) => r.method === 'GET' && r.path === `/channels/${history.id}/messages`);
      assert.deepEqual(pages.map((r) => r.query['limit']), ['100', '100', '100', '100']);
      assert.equal(pages[0]!.query['before'], undefined);
      assert.equal(pages[1]!.query['before'], seeded[150]!.id);
    });
  });

  describe('deleteMessage', () => {
    it('reaches messageDelete as a partial for an uncached message', async () => {
      const [old] = server.seedHistory(general.id, 1, () => ({ authorId: alice.id, content: 'never cached' }));
      const deleted = once(client, Events.MessageDelete) as Promise<[Message | PartialMessage]>;
      server.deleteMessage(general.id, old!.id);
      const [message] = await deleted;
      assert.equal(message.id, old!.id);
      assert.equal(message.partial, true);
      assert.equal(message.channelId, general.id);
    });
  });

  describe('removeGuild and deleteChannel', () => {
    it('emits guildCreate, channelDelete and guildDelete on the client', async () => {
      const joined = once(client, Events.GuildCreate);
      const extra = server.addGuild({ name: 'second guild' });
      await joined;
      const room = server.addChannel(extra.id, { name: 'room' });
      await sleep(20);
      assert.ok(client.channels.cache.has(room.id));
      const channelGone = once(client, Events.ChannelDelete);
      server.deleteChannel(room.id);
      await channelGone;
      assert.equal(client.channels.cache.has(room.id), false);
      const guildGone = once(client, Events.GuildDelete);
      server.removeGuild(extra.id);
      await guildGone;
      assert.equal(client.guilds.cache.has(extra.id), false);
    });
  });

  describe('closeGatewayConnections', () => {
    it('lets discord.js RESUME and replays events sent while it was away', async () => {
      const resumesBefore = server.gatewayReceived.filter((p) => p.op === 6).length;
      server.closeGatewayConnections(4000);
      const received = once(client, Events.MessageCreate) as Promise<[Message]>;
      const posted = server.postMessage(general.id, { authorId: alice.id, content: 'sent during the outage' });
      const [message] = await received;
      assert.equal(message.id, posted.id);
      assert.equal(server.gatewayReceived.filter((p) => p.op === 6).length, resumesBefore + 1);
      assert.equal(server.connectedSessionCount, 1);
    });
  });

  describe('closeGatewayConnections with 1000', () => {
    it('makes discord.js IDENTIFY again and keeps working', async () => {
      const identifiesBefore = server.gatewayReceived.filter((p) => p.op === 2).length;
      server.closeGatewayConnections(1000);
      for (let i = 0; i < 250 && server.gatewayReceived.filter((p) => p.op === 2).length === identifiesBefore; i++) await sleep(20);
      assert.equal(server.gatewayReceived.filter((p) => p.op === 2).length, identifiesBefore + 1);
      const received = once(client, Events.MessageCreate) as Promise<[Message]>;
      const posted = server.postMessage(general.id, { authorId: alice.id, content: 'after re-identify' });
      const [message] = await received;
      assert.equal(message.id, posted.id);
    });
  });

  describe('requests', () => {
    it('shows no route discord.js needed was missing', () => {
      assert.deepEqual(server.unknownRequests.map((r) => `${r.method} ${r.path}`), []);
    });

    it('answers an unknown route with a 404 JSON body and records it', async () => {
      const response = await fetch(`${server.apiBase}/v10/guilds/${guild.id}/bans`, { headers: { authorization: `Bot ${server.token}` } });
      assert.equal(response.status, 404);
      assert.equal(response.headers.get('content-type'), 'application/json');
      const body = (await response.json()) as { message: string; code: number };
      assert.equal(body.code, 0);
      assert.match(body.message, /no route GET \/guilds\/\d+\/bans/);
      assert.deepEqual(server.unknownRequests.map((r) => `${r.method} ${r.path}`), [`GET /guilds/${guild.id}/bans`]);
    });
  });
});

describe('permissionsFor', () => {
  let server: DiscordTestServer;
  before(async () => {
    server = await startDiscordTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it('combines @everyone, roles and overwrites in Discord order', () => {
    const { View, Send, Attach, Embed, History } = {
      View: Permission.ViewChannel,
      Send: Permission.SendMessages,
      Attach: Permission.AttachFiles,
      Embed: Permission.EmbedLinks,
      History: Permission.ReadMessageHistory,
    };
    const guild = server.addGuild({ everyonePermissions: View | Send | History });
    const artists = server.addRole(guild.id, { name: 'artists', permissions: Attach | Embed });
    const user = server.addUser({ username: 'bob' });
    server.addMember(guild.id, user.id, { roles: [artists.id] });
    const open = server.addChannel(guild.id, { name: 'open' });
    const readOnly = server.addChannel(guild.id, {
      name: 'read-only',
      permissionOverwrites: [
        { id: guild.id, type: 0, allow: 0n, deny: Send },
        { id: artists.id, type: 0, allow: Send, deny: 0n },
        { id: user.id, type: 1, allow: 0n, deny: Attach },
      ],
    });
    const hidden = server.addChannel(guild.id, { name: 'hidden', permissionOverwrites: [{ id: guild.id, type: 0, allow: 0n, deny: View }] });
    const thread = server.addChannel(guild.id, { name: 'thread', type: 11, parentId: readOnly.id });

    assert.equal(server.permissionsFor(guild.id, open.id, user.id), View | Send | History | Attach | Embed);
    assert.equal(server.permissionsFor(guild.id, readOnly.id, user.id), View | Send | History | Embed);
    assert.equal(server.permissionsFor(guild.id, hidden.id, user.id), 0n);
    assert.equal(server.permissionsFor(guild.id, thread.id, user.id), View | Send | History | Embed);
    // The everyone-only bot cannot send in read-only, so it loses what sending implies.
    assert.equal(server.permissionsFor(guild.id, readOnly.id, server.botUserId), View | History);
    assert.equal(server.permissionsFor(guild.id, hidden.id, guild.ownerId), ALL_PERMISSIONS);
    const admins = server.addRole(guild.id, { name: 'admins', permissions: Permission.Administrator });
    server.addMember(guild.id, user.id, { roles: [admins.id] });
    assert.equal(server.permissionsFor(guild.id, hidden.id, user.id), ALL_PERMISSIONS);
    assert.equal(ALL_PERMISSIONS, PermissionsBitField.All);
  });

  it('puts the computed permissions into the interaction payload', () => {
    const guild = server.addGuild({ everyonePermissions: Permission.ViewChannel | Permission.SendMessages });
    const channel = server.addChannel(guild.id, { name: 'c' });
    const user = server.addUser({ username: 'carol' });
    server.addMember(guild.id, user.id);
    const invoked = server.invokeSlashCommand({ guildId: guild.id, channelId: channel.id, userId: user.id, name: 'find' });
    assert.equal(invoked.payload['member'].permissions, (Permission.ViewChannel | Permission.SendMessages).toString());
    assert.equal(invoked.payload['app_permissions'], (Permission.ViewChannel | Permission.SendMessages).toString());
    assert.deepEqual(invoked.payload['authorizing_integration_owners'], { '0': guild.id });
    assert.deepEqual(invoked.payload['entitlements'], []);
  });
});

describe('snowflake', () => {
  it('makes increasing 18-19 digit ids', () => {
    const a = snowflake();
    const b = snowflake();
    assert.match(a, /^\d{18,19}$/);
    assert.ok(BigInt(b) > BigInt(a));
  });
});
