/**
 * A local Discord-compatible server (REST + gateway v10) so the bot can be tested end to end with
 * the real discord.js client. It keeps guilds, channels, members, messages and interactions in
 * memory, records every request, and lets a test inject events (messages, interactions) and
 * failures (429s, expired attachment URLs, dropped gateway connections).
 *
 * Only what discord.js 14.28 / @discordjs/rest 2.6 / @discordjs/ws 1.2 use is implemented; any
 * other route answers 404 and is recorded in `unknownRequests`, so a test can see what was missing.
 *
 * @example
 * const server = await startDiscordTestServer();
 * const guild = server.addGuild({ name: 'test' });
 * const channel = server.addChannel(guild.id, { name: 'general' });
 * const alice = server.addUser({ username: 'alice' });
 * server.addMember(guild.id, alice.id);
 * const client = new Client({ intents: [...], rest: { api: server.apiBase } });
 * await client.login(server.token);
 * const invoked = server.invokeSlashCommand({ guildId: guild.id, channelId: channel.id, userId: alice.id,
 *   name: 'find', attachments: { image: { filename: 'q.png', contentType: 'image/png', bytes } } });
 * const { callbackType, deferredAtMs, message } = await invoked.waitForResponse({ timeoutMs: 10_000 });
 * await client.destroy(); // before stop(), or discord.js keeps reconnecting
 * await server.stop();
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { SagasuError } from '../../src/errors.js';

// ---------------------------------------------------------------------------------------------
// Options and public shapes
// ---------------------------------------------------------------------------------------------

export interface DiscordTestServerOptions {
  /** Bot token the client must present. Default: a fixed, realistic-looking token. */
  token?: string;
  /** Snowflake of the application. Default: generated. */
  applicationId?: string;
  /** Snowflake of the bot user (Discord uses the application id). Default: the application id. */
  botUserId?: string;
  /** Default: 'sagasu-test-bot'. */
  botUsername?: string;
  /** Interface to listen on. Default: '127.0.0.1'. */
  host?: string;
  /** Port; 0 picks a free one. Default: 0. */
  port?: number;
  /** heartbeat_interval sent in HELLO. Default: 41250 (Discord's). */
  heartbeatIntervalMs?: number;
  /** Lifetime of attachment URLs handed out. Default: 24 h (Discord's). */
  attachmentUrlTtlMs?: number;
  /**
   * Privileged intents the application is allowed (bit mask of GuildMembers 1<<1,
   * GuildPresences 1<<8, MessageContent 1<<15). IDENTIFY asking for others closes with 4014.
   * Default: all three.
   */
  allowedPrivilegedIntents?: number;
}

export const discordTestServerDefaults = {
  token: 'MTQ0MjA3MDQwMDAwMDAwMDAwMA.GsAgAs.sagasu-test-token-not-a-real-secret-000000',
  botUsername: 'sagasu-test-bot',
  host: '127.0.0.1',
  port: 0,
  heartbeatIntervalMs: 41_250,
  attachmentUrlTtlMs: 24 * 60 * 60 * 1000,
  allowedPrivilegedIntents: (1 << 1) | (1 << 8) | (1 << 15),
} as const;

/** Permission bits used by the server itself (same values as discord.js PermissionFlagsBits). */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  SendTTSMessages: 1n << 12n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/**
 * Every permission Discord defines, what owners and administrators get; equals discord.js 14.28's
 * PermissionsBitField.All (a test pins this, so an upgrade that adds bits shows up).
 */
export const ALL_PERMISSIONS = 8_866_461_766_385_663n;

/** What @everyone gets in a new guild made by addGuild unless told otherwise. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  Permission.CreateInstantInvite |
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

export const ChannelType = { GuildText: 0, PublicThread: 11, PrivateThread: 12 } as const;

/** Gateway intent bits the server filters events by. */
const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  MessageContent: 1 << 15,
} as const;
const ALL_INTENTS = (1 << 26) - 1;

export interface User {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface Role {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
}

export interface PermissionOverwrite {
  /** A role id (the guild id for @everyone) or a user id. */
  id: string;
  /** 0 = role, 1 = member. */
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface Channel {
  id: string;
  guildId: string;
  type: number;
  name: string;
  nsfw: boolean;
  position: number;
  parentId: string | null;
  topic: string | null;
  permissionOverwrites: PermissionOverwrite[];
  /** Threads only. */
  ownerId: string | null;
}

export interface Member {
  userId: string;
  roles: string[];
  nick: string | null;
  joinedAt: string;
}

export interface Guild {
  id: string;
  name: string;
  ownerId: string;
  roles: Map<string, Role>;
  members: Map<string, Member>;
  channelIds: string[];
  joinedAt: string;
}

export interface AttachmentInput {
  filename: string;
  contentType: string;
  bytes: Buffer;
  /** Read from PNG/JPEG/GIF/WebP headers when not given. */
  width?: number;
  height?: number;
  description?: string;
}

export interface StoredAttachment {
  id: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
  width: number | null;
  height: number | null;
  description: string | null;
  channelId: string;
}

export interface StoredMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: StoredAttachment[];
  timestamp: string;
  editedTimestamp: string | null;
  flags: number;
  type: number;
  webhookId: string | null;
  interactionMetadata: Record<string, unknown> | null;
  messageReference: Record<string, unknown> | null;
  /** emoji -> user ids that reacted. */
  reactions: Map<string, Set<string>>;
  /** Ephemeral interaction responses are not part of the channel's history. */
  ephemeral: boolean;
}

export interface MessageInput {
  authorId: string;
  content?: string;
  attachments?: AttachmentInput[];
  embeds?: unknown[];
  components?: unknown[];
}

export interface RecordedRequest {
  method: string;
  /** Path after /api/v10, percent-decoded (so "@original", not "%40original"). */
  path: string;
  /** The raw path as sent, with query. */
  rawUrl: string;
  query: Record<string, string>;
  /** Parsed JSON, or payload_json for multipart; null when there was none. */
  body: unknown;
  files: { field: string; filename: string; contentType: string; size: number }[];
  /** Milliseconds since the epoch when the request arrived. */
  time: number;
  status: number;
  unknownRoute: boolean;
}

export interface RateLimitRule {
  /** Only requests with this method (case-insensitive) match. Default: any. */
  method?: string;
  /** Matched against the decoded path after /api/v10, e.g. /webhooks\/\d+\/.+\/messages\/@original/. */
  pathPattern: RegExp | string;
  retryAfterSeconds: number;
  /** A global limit (X-RateLimit-Global) instead of a route limit. Default: false. */
  global?: boolean;
}

/** What the bot answered to an interaction, as a test wants to see it. */
export interface ResponseMessage {
  id: string;
  content: string;
  embeds: any[];
  components: any[];
  attachments: { id: string; filename: string; contentType: string; bytes: Buffer; description: string | null }[];
  flags: number;
}

export interface InteractionResponse {
  /** Milliseconds from dispatch to the deferral (types 5 and 6); null if not deferred. */
  deferredAtMs: number | null;
  /** Milliseconds from dispatch to the completed original response. */
  completedAtMs: number;
  /** The first callback type the bot used (4, 5, 6, 7 or 9). */
  callbackType: number;
  /** The original response (for type 9, the modal data is in `modal`). */
  message: ResponseMessage | null;
  modal: unknown;
  flags: number;
  ephemeral: boolean;
}

export interface InvokedInteraction {
  id: string;
  token: string;
  /** The INTERACTION_CREATE payload as dispatched. */
  payload: Record<string, any>;
  /** Resolves when the original response is complete (immediate reply, or deferred and then edited). */
  waitForResponse(options?: { timeoutMs?: number }): Promise<InteractionResponse>;
  /** Follow-up messages sent so far. */
  readonly followUps: ResponseMessage[];
  /** Every callback the bot posted, in order. */
  readonly callbacks: { type: number; data: unknown; atMs: number }[];
}

interface InteractionState {
  id: string;
  token: string;
  type: number;
  guildId: string;
  channelId: string;
  userId: string;
  dispatchedAt: number;
  payload: Record<string, any>;
  callbacks: { type: number; data: unknown; atMs: number }[];
  deferredAtMs: number | null;
  completedAtMs: number | null;
  originalMessageId: string | null;
  ephemeral: boolean;
  modal: unknown;
  followUpIds: string[];
  waiters: (() => void)[];
}

interface GatewaySession {
  id: string;
  socket: WebSocket | null;
  intents: number;
  seq: number;
  /** Dispatches kept for RESUME. */
  buffer: { s: number; t: string; d: unknown }[];
}

// ---------------------------------------------------------------------------------------------
// Snowflakes
// ---------------------------------------------------------------------------------------------

const DISCORD_EPOCH = 1_420_070_400_000n;
let snowflakeIncrement = 0n;

/** A snowflake for the given time; 18-19 digits for any time after 2015. */
export function snowflake(timeMs: number = Date.now()): string {
  snowflakeIncrement = (snowflakeIncrement + 1n) & 0xfffn;
  return (((BigInt(timeMs) - DISCORD_EPOCH) << 22n) | (1n << 17n) | snowflakeIncrement).toString();
}

export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type RouteHandler = (ctx: RequestContext) => unknown;
interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
  /** Routes authenticated by the token in their path (interaction webhooks) need no Authorization header. */
  auth: boolean;
}
interface RequestContext {
  params: string[];
  query: URLSearchParams;
  body: any;
  files: { field: string; filename: string; contentType: string; bytes: Buffer }[];
  req: IncomingMessage;
}

export class DiscordTestServer {
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly options: Required<Omit<DiscordTestServerOptions, 'applicationId' | 'botUserId'>>;

  /** Every REST request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every gateway payload a client sent (op and data), in arrival order. */
  readonly gatewayReceived: { op: number; d: unknown; time: number }[] = [];

  readonly users = new Map<string, User>();
  readonly guilds = new Map<string, Guild>();
  readonly channels = new Map<string, Channel>();
  /** channel id -> message id -> message. */
  readonly messages = new Map<string, Map<string, StoredMessage>>();
  /** Global and guild commands as stored by PUT/POST; key '' = global. */
  readonly commands = new Map<string, any[]>();

  private readonly attachments = new Map<string, StoredAttachment>();
  private readonly interactions = new Map<string, InteractionState>();
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly rateLimitRules: RateLimitRule[] = [];
  private readonly routes: Route[] = [];
  private urlKey = randomBytes(16);
  private readonly retiredUrlKeys: Buffer[] = [];
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private port = 0;

  constructor(options: DiscordTestServerOptions = {}) {
    this.options = {
      token: options.token ?? discordTestServerDefaults.token,
      botUsername: options.botUsername ?? discordTestServerDefaults.botUsername,
      host: options.host ?? discordTestServerDefaults.host,
      port: options.port ?? discordTestServerDefaults.port,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? discordTestServerDefaults.heartbeatIntervalMs,
      attachmentUrlTtlMs: options.attachmentUrlTtlMs ?? discordTestServerDefaults.attachmentUrlTtlMs,
      allowedPrivilegedIntents: options.allowedPrivilegedIntents ?? discordTestServerDefaults.allowedPrivilegedIntents,
    };
    this.token = this.options.token;
    this.applicationId = options.applicationId ?? snowflake(Date.now() - 400 * 86_400_000);
    this.botUserId = options.botUserId ?? this.applicationId;
    this.users.set(this.botUserId, {
      id: this.botUserId,
      username: this.options.botUsername,
      globalName: null,
      bot: true,
    });
    this.defineRoutes();
    this.http = createServer((req, res) => void this.onHttpRequest(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/gateway' && path !== '/gateway/') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onGatewayConnection(ws));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  /** Closes every connection and the listening socket. Destroy discord.js clients first, or they reconnect. */
  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const session of this.sessions.values()) session.socket = null;
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  get origin(): string {
    return `http://${this.options.host}:${this.port}`;
  }

  /** Pass as `new Client({ rest: { api: server.apiBase } })`. */
  get apiBase(): string {
    return `${this.origin}/api`;
  }

  get gatewayUrl(): string {
    return `ws://${this.options.host}:${this.port}/gateway`;
  }

  /** Requests that hit no route: what discord.js needed that the server lacks. */
  get unknownRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.unknownRoute);
  }

  /** Gateway sessions that completed IDENTIFY or RESUME and are still connected. */
  get connectedSessionCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.socket && s.socket.readyState === WebSocket.OPEN) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // State helpers
  // -------------------------------------------------------------------------------------------

  addUser(input: { username: string; id?: string; globalName?: string | null; bot?: boolean }): User {
    const user: User = {
      id: input.id ?? snowflake(),
      username: input.username,
      globalName: input.globalName ?? null,
      bot: input.bot ?? false,
    };
    this.users.set(user.id, user);
    return user;
  }

  /**
   * Creates a guild with an @everyone role (id = guild id) and the bot as a member. The owner is
   * a new user unless given. Dispatches GUILD_CREATE to connected clients.
   */
  addGuild(
    input: { name?: string; id?: string; ownerId?: string; everyonePermissions?: bigint } = {},
  ): Guild {
    const id = input.id ?? snowflake();
    const ownerId = input.ownerId ?? this.addUser({ username: 'guild-owner' }).id;
    const joinedAt = new Date().toISOString();
    const guild: Guild = {
      id,
      name: input.name ?? 'sagasu test guild',
      ownerId,
      roles: new Map([
        [id, { id, name: '@everyone', permissions: input.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS, position: 0 }],
      ]),
      members: new Map(),
      channelIds: [],
      joinedAt,
    };
    this.guilds.set(id, guild);
    guild.members.set(ownerId, { userId: ownerId, roles: [], nick: null, joinedAt });
    guild.members.set(this.botUserId, { userId: this.botUserId, roles: [], nick: null, joinedAt });
    this.dispatch('GUILD_CREATE', () => this.apiGuildCreate(guild), Intent.Guilds);
    return guild;
  }

  addRole(guildId: string, input: { name: string; permissions: bigint; id?: string }): Role {
    const guild = this.requireGuild(guildId);
    const role: Role = { id: input.id ?? snowflake(), name: input.name, permissions: input.permissions, position: guild.roles.size };
    guild.roles.set(role.id, role);
    this.dispatch('GUILD_ROLE_CREATE', () => ({ guild_id: guildId, role: this.apiRole(role) }), Intent.Guilds);
    return role;
  }

  /** Removes the bot from a guild: GUILD_DELETE (without `unavailable`, so discord.js emits guildDelete). */
  removeGuild(guildId: string): void {
    const guild = this.requireGuild(guildId);
    for (const channelId of guild.channelIds) {
      this.channels.delete(channelId);
      this.messages.delete(channelId);
    }
    this.guilds.delete(guildId);
    this.dispatch('GUILD_DELETE', () => ({ id: guildId }), Intent.Guilds);
  }

  /** Text channel by default; type 11 with parentId makes a public thread. Dispatches CHANNEL_CREATE / THREAD_CREATE. */
  addChannel(
    guildId: string,
    input: {
      name: string;
      id?: string;
      type?: number;
      nsfw?: boolean;
      topic?: string | null;
      parentId?: string | null;
      permissionOverwrites?: PermissionOverwrite[];
      ownerId?: string;
    },
  ): Channel {
    const guild = this.requireGuild(guildId);
    const type = input.type ?? ChannelType.GuildText;
    const isThread = type === ChannelType.PublicThread || type === ChannelType.PrivateThread;
    if (isThread && !input.parentId) throw new SagasuError('INVALID_OPTION', 'a thread needs a parentId');
    const channel: Channel = {
      id: input.id ?? snowflake(),
      guildId,
      type,
      name: input.name,
      nsfw: input.nsfw ?? false,
      position: guild.channelIds.length,
      parentId: input.parentId ?? null,
      topic: input.topic ?? null,
      permissionOverwrites: input.permissionOverwrites ?? [],
      ownerId: isThread ? (input.ownerId ?? guild.ownerId) : null,
    };
    this.channels.set(channel.id, channel);
    this.messages.set(channel.id, new Map());
    guild.channelIds.push(channel.id);
    this.dispatch(isThread ? 'THREAD_CREATE' : 'CHANNEL_CREATE', () => ({ ...this.apiChannel(channel), ...(isThread ? { newly_created: true } : {}) }), Intent.Guilds);
    return channel;
  }

  /** Deletes a channel and its messages: CHANNEL_DELETE (THREAD_DELETE for threads). */
  deleteChannel(channelId: string): void {
    const channel = this.requireChannel(channelId);
    const guild = this.requireGuild(channel.guildId);
    const api = this.apiChannel(channel);
    this.channels.delete(channelId);
    this.messages.delete(channelId);
    guild.channelIds = guild.channelIds.filter((id) => id !== channelId);
    const isThread = channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread;
    this.dispatch(
      isThread ? 'THREAD_DELETE' : 'CHANNEL_DELETE',
      () => (isThread ? { id: channel.id, guild_id: channel.guildId, parent_id: channel.parentId, type: channel.type } : api),
      Intent.Guilds,
    );
  }

  /** Adds an existing user (or a new one when given a username) to a guild. Dispatches GUILD_MEMBER_ADD. */
  addMember(guildId: string, userOrId: string | { username: string }, input: { roles?: string[]; nick?: string | null } = {}): Member {
    const guild = this.requireGuild(guildId);
    const userId = typeof userOrId === 'string' ? userOrId : this.addUser(userOrId).id;
    if (!this.users.has(userId)) throw new SagasuError('NOT_FOUND', `unknown user ${userId}`);
    const member: Member = { userId, roles: input.roles ?? [], nick: input.nick ?? null, joinedAt: new Date().toISOString() };
    guild.members.set(userId, member);
    this.dispatch('GUILD_MEMBER_ADD', () => ({ ...this.apiMember(guild, member), guild_id: guildId }), Intent.GuildMembers);
    return member;
  }

  // -------------------------------------------------------------------------------------------
  // Messages
  // -------------------------------------------------------------------------------------------

  /** Stores a message from a user and dispatches MESSAGE_CREATE. */
  postMessage(channelId: string, input: MessageInput): StoredMessage {
    const message = this.createMessage(channelId, input, Date.now());
    this.dispatchMessageCreate(message);
    return message;
  }

  /**
   * Creates `count` old messages without dispatching anything (history for backfill tests).
   * makeMessage(0) is the oldest; they are one minute apart and end an hour before now.
   */
  seedHistory(channelId: string, count: number, makeMessage: (index: number) => MessageInput): StoredMessage[] {
    const start = Date.now() - 3_600_000 - count * 60_000;
    const out: StoredMessage[] = [];
    for (let i = 0; i < count; i++) out.push(this.createMessage(channelId, makeMessage(i), start + i * 60_000));
    return out;
  }

  /** Edits a stored message and dispatches MESSAGE_UPDATE. */
  editMessage(channelId: string, messageId: string, patch: { content?: string; embeds?: unknown[]; attachments?: AttachmentInput[] }): StoredMessage {
    const message = this.requireMessage(channelId, messageId);
    if (patch.content !== undefined) message.content = patch.content;
    if (patch.embeds !== undefined) message.embeds = patch.embeds;
    if (patch.attachments !== undefined) message.attachments = patch.attachments.map((a) => this.storeAttachment(channelId, a));
    message.editedTimestamp = new Date().toISOString();
    this.dispatchMessageUpdate(message);
    return message;
  }

  /** Deletes a stored message (or, given an unknown id, just tells clients) with MESSAGE_DELETE. */
  deleteMessage(channelId: string, messageId: string): void {
    const channel = this.requireChannel(channelId);
    this.messages.get(channelId)?.delete(messageId);
    this.dispatch('MESSAGE_DELETE', () => ({ id: messageId, channel_id: channelId, guild_id: channel.guildId }), Intent.GuildMessages);
  }

  getMessage(channelId: string, messageId: string): StoredMessage | undefined {
    return this.messages.get(channelId)?.get(messageId);
  }

  /** Messages of a channel, oldest first. */
  channelMessages(channelId: string): StoredMessage[] {
    return [...(this.messages.get(channelId)?.values() ?? [])].sort((a, b) => compareIds(a.id, b.id));
  }

  /** The URL the server hands out for an attachment right now (signed, expiring). */
  attachmentUrl(attachment: { id: string; channelId: string; filename: string }): string {
    const ex = Math.floor((Date.now() + this.options.attachmentUrlTtlMs) / 1000).toString(16);
    const is = Math.floor(Date.now() / 1000).toString(16);
    const path = `/attachments/${attachment.channelId}/${attachment.id}/${encodeURIComponent(attachment.filename)}`;
    return `${this.origin}${path}?ex=${ex}&is=${is}&hm=${this.sign(this.urlKey, path, ex, is)}&`;
  }

  /** Makes every attachment URL handed out so far answer 404, as Discord's expired links do. */
  expireAttachmentUrls(): void {
    this.retiredUrlKeys.push(this.urlKey);
    this.urlKey = randomBytes(16);
  }

  // -------------------------------------------------------------------------------------------
  // Rate limits and permissions
  // -------------------------------------------------------------------------------------------

  /** The next request matching the rule answers 429 with Retry-After; later ones pass. */
  rateLimitNext(rule: RateLimitRule): void {
    this.rateLimitRules.push(rule);
  }

  /** The standard Discord algorithm: @everyone, then roles, then channel overwrites (threads use their parent's). */
  permissionsFor(guildId: string, channelId: string | null, userId: string): bigint {
    const guild = this.requireGuild(guildId);
    if (userId === guild.ownerId) return ALL_PERMISSIONS;
    const member = guild.members.get(userId);
    if (!member) return 0n;
    let base = guild.roles.get(guildId)?.permissions ?? 0n;
    for (const roleId of member.roles) base |= guild.roles.get(roleId)?.permissions ?? 0n;
    if (base & Permission.Administrator) return ALL_PERMISSIONS;
    if (channelId === null) return base;
    let channel = this.requireChannel(channelId);
    if (channel.parentId && (channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread)) {
      channel = this.requireChannel(channel.parentId);
    }
    let perms = base;
    const overwrites = channel.permissionOverwrites;
    const everyone = overwrites.find((o) => o.id === guildId);
    if (everyone) perms = (perms & ~everyone.deny) | everyone.allow;
    let allow = 0n;
    let deny = 0n;
    for (const o of overwrites) {
      if (o.type === 0 && member.roles.includes(o.id)) {
        allow |= o.allow;
        deny |= o.deny;
      }
    }
    perms = (perms & ~deny) | allow;
    const own = overwrites.find((o) => o.type === 1 && o.id === userId);
    if (own) perms = (perms & ~own.deny) | own.allow;
    // Discord's implicit rules: no view means nothing; no send means none of what sending implies.
    if (!(perms & Permission.ViewChannel)) return 0n;
    if (!(perms & Permission.SendMessages)) {
      perms &= ~(Permission.SendTTSMessages | Permission.MentionEveryone | Permission.AttachFiles | Permission.EmbedLinks);
    }
    return perms;
  }

  // -------------------------------------------------------------------------------------------
  // Interactions
  // -------------------------------------------------------------------------------------------

  /** A chat-input command. Each entry of `attachments` becomes an attachment option (type 11) named by its key. */
  invokeSlashCommand(input: {
    guildId: string;
    channelId: string;
    userId: string;
    name: string;
    options?: { name: string; type: number; value?: unknown; options?: unknown[] }[];
    attachments?: Record<string, AttachmentInput>;
  }): InvokedInteraction {
    const options: unknown[] = [...(input.options ?? [])];
    const resolvedAttachments: Record<string, unknown> = {};
    for (const [optionName, attachment] of Object.entries(input.attachments ?? {})) {
      const stored = this.storeAttachment(input.channelId, attachment);
      options.push({ name: optionName, type: 11, value: stored.id });
      resolvedAttachments[stored.id] = this.apiAttachment(stored);
    }
    const data: Record<string, unknown> = {
      id: this.commandId(input.guildId, input.name, 1),
      name: input.name,
      type: 1,
      options,
    };
    if (Object.keys(resolvedAttachments).length > 0) data['resolved'] = { attachments: resolvedAttachments };
    return this.invoke(2, input, data);
  }

  /** A message context-menu command on a stored message. */
  invokeMessageContextMenu(input: { guildId: string; channelId: string; userId: string; name: string; targetMessageId: string }): InvokedInteraction {
    const target = this.requireMessage(input.channelId, input.targetMessageId);
    return this.invoke(2, input, {
      id: this.commandId(input.guildId, input.name, 3),
      name: input.name,
      type: 3,
      target_id: target.id,
      resolved: { messages: { [target.id]: this.apiMessage(target) } },
    });
  }

  /** A button click on a stored message (for example one the bot sent). */
  invokeButton(input: { guildId: string; channelId: string; userId: string; customId: string; messageId: string }): InvokedInteraction {
    // Buttons on ephemeral messages can be clicked too (they live outside channel history).
    const ephemeral = this.ephemeralMessages.get(input.messageId);
    const message = ephemeral && ephemeral.channelId === input.channelId ? ephemeral : this.requireMessage(input.channelId, input.messageId);
    return this.invoke(3, input, { custom_id: input.customId, component_type: 2 }, message);
  }

  private invoke(
    type: number,
    input: { guildId: string; channelId: string; userId: string },
    data: Record<string, unknown>,
    componentMessage?: StoredMessage,
  ): InvokedInteraction {
    const guild = this.requireGuild(input.guildId);
    const channel = this.requireChannel(input.channelId);
    const member = guild.members.get(input.userId);
    if (!member) throw new SagasuError('NOT_FOUND', `user ${input.userId} is not a member of guild ${input.guildId}`);
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb246${id}:${randomBytes(24).toString('base64url')}`;
    const payload: Record<string, any> = {
      id,
      application_id: this.applicationId,
      type,
      data,
      guild_id: guild.id,
      guild: { id: guild.id, locale: 'en-US', features: [] },
      channel: this.apiChannel(channel),
      channel_id: channel.id,
      member: {
        ...this.apiMember(guild, member),
        permissions: this.permissionsFor(guild.id, channel.id, input.userId).toString(),
      },
      token,
      version: 1,
      app_permissions: this.permissionsFor(guild.id, channel.id, this.botUserId).toString(),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10_485_760,
    };
    if (componentMessage) payload['message'] = this.apiMessage(componentMessage);
    const state: InteractionState = {
      id,
      token,
      type,
      guildId: guild.id,
      channelId: channel.id,
      userId: input.userId,
      dispatchedAt: Date.now(),
      payload,
      callbacks: [],
      deferredAtMs: null,
      completedAtMs: null,
      originalMessageId: componentMessage?.id ?? null,
      ephemeral: false,
      modal: null,
      followUpIds: [],
      waiters: [],
    };
    this.interactions.set(token, state);
    this.dispatch('INTERACTION_CREATE', () => payload, 0);
    const server = this;
    return {
      id,
      token,
      payload,
      waitForResponse: (options = {}) => this.waitForResponse(state, options.timeoutMs ?? 5000),
      get followUps() {
        return state.followUpIds
          .map((fid) => server.findAnyMessage(fid))
          .filter((m): m is StoredMessage => m !== undefined)
          .map((m) => server.responseMessage(m));
      },
      get callbacks() {
        return state.callbacks;
      },
    };
  }

  private waitForResponse(state: InteractionState, timeoutMs: number): Promise<InteractionResponse> {
    const result = (): InteractionResponse => {
      const first = state.callbacks[0];
      const message = state.originalMessageId ? this.findAnyMessage(state.originalMessageId) : undefined;
      return {
        deferredAtMs: state.deferredAtMs,
        completedAtMs: state.completedAtMs ?? -1,
        callbackType: first?.type ?? -1,
        message: message ? this.responseMessage(message) : null,
        modal: state.modal,
        flags: message?.flags ?? 0,
        ephemeral: state.ephemeral,
      };
    };
    if (state.completedAtMs !== null) return Promise.resolve(result());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        state.waiters = state.waiters.filter((w) => w !== done);
        const seen = state.callbacks.map((c) => c.type).join(', ') || 'none';
        reject(new SagasuError('TIMEOUT', `interaction ${state.id} got no complete response within ${timeoutMs} ms (callbacks: ${seen})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(result());
      };
      state.waiters.push(done);
    });
  }

  private completeInteraction(state: InteractionState): void {
    if (state.completedAtMs !== null) return;
    state.completedAtMs = Date.now() - state.dispatchedAt;
    const waiters = state.waiters;
    state.waiters = [];
    for (const w of waiters) w();
  }

  // -------------------------------------------------------------------------------------------
  // Gateway
  // -------------------------------------------------------------------------------------------

  /**
   * Drops every gateway connection with the given close code (4000 lets discord.js RESUME;
   * 1000 makes it re-IDENTIFY). Events dispatched meanwhile are replayed on RESUME.
   */
  closeGatewayConnections(code = 4000): void {
    for (const session of this.sessions.values()) {
      session.socket?.close(code, 'closed by test');
      session.socket = null;
    }
  }

  /** Sends a raw dispatch to every connected session (for events without a helper). */
  dispatchRaw(t: string, d: unknown): void {
    this.dispatch(t, () => d, 0);
  }

  private onGatewayConnection(ws: WebSocket): void {
    let session: GatewaySession | null = null;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs }, s: null, t: null }));
    ws.on('message', (raw: RawData) => {
      let payload: { op?: number; d?: any };
      try {
        payload = JSON.parse(raw.toString());
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      this.gatewayReceived.push({ op: payload.op ?? -1, d: payload.d, time: Date.now() });
      switch (payload.op) {
        case 1:
          ws.send(JSON.stringify({ op: 11 }));
          break;
        case 2: {
          if (session) return ws.close(4005, 'Already authenticated.');
          const d = payload.d ?? {};
          if (d.token !== this.token) return ws.close(4004, 'Authentication failed.');
          const intents = Number(d.intents);
          if (!Number.isInteger(intents) || intents < 0 || (intents & ~ALL_INTENTS) !== 0) return ws.close(4013, 'Invalid intent(s).');
          const privileged = intents & (Intent.GuildMembers | (1 << 8) | Intent.MessageContent);
          if ((privileged & ~this.options.allowedPrivilegedIntents) !== 0) return ws.close(4014, 'Disallowed intent(s).');
          session = { id: randomBytes(16).toString('hex'), socket: ws, intents, seq: 0, buffer: [] };
          this.sessions.set(session.id, session);
          this.sendReady(session);
          break;
        }
        case 6: {
          const d = payload.d ?? {};
          const old = this.sessions.get(d.session_id);
          if (d.token !== this.token) return ws.close(4004, 'Authentication failed.');
          if (!old) {
            ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
            return;
          }
          if (old.socket && old.socket !== ws) old.socket.terminate();
          old.socket = ws;
          session = old;
          for (const event of old.buffer) if (event.s > Number(d.seq)) ws.send(JSON.stringify({ op: 0, ...event }));
          this.sendDispatch(old, 'RESUMED', {});
          break;
        }
        case 3:
        case 4:
        case 8:
          break; // presence, voice and member requests: accepted and ignored
        default:
          ws.close(4001, 'Unknown opcode.');
      }
    });
    ws.on('close', () => {
      if (session && session.socket === ws) session.socket = null;
    });
    ws.on('error', () => undefined);
  }

  private sendReady(session: GatewaySession): void {
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...this.apiUser(this.requireUser(this.botUserId)), verified: true, mfa_enabled: false, flags: 0 },
      guilds: [...this.guilds.keys()].map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.gatewayUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      user_settings: {},
      geo_ordered_rtc_regions: [],
      auth: {},
    });
    if (session.intents & Intent.Guilds) {
      for (const guild of this.guilds.values()) this.sendDispatch(session, 'GUILD_CREATE', this.apiGuildCreate(guild));
    }
  }

  private sendDispatch(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const event = { s: session.seq, t, d };
    session.buffer.push(event);
    if (session.buffer.length > 1000) session.buffer.shift();
    if (session.socket && session.socket.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify({ op: 0, ...event }));
  }

  /** Sends to every session whose intents include `intent` (0 = always). */
  private dispatch(t: string, make: (session: GatewaySession) => unknown, intent: number): void {
    for (const session of this.sessions.values()) {
      if (intent !== 0 && (session.intents & intent) === 0) continue;
      this.sendDispatch(session, t, make(session));
    }
  }

  private dispatchMessageCreate(message: StoredMessage): void {
    if (message.ephemeral) return;
    this.dispatch('MESSAGE_CREATE', (s) => this.apiMessageForSession(message, s, true), Intent.GuildMessages);
  }

  private dispatchMessageUpdate(message: StoredMessage): void {
    if (message.ephemeral) return;
    this.dispatch('MESSAGE_UPDATE', (s) => this.apiMessageForSession(message, s, true), Intent.GuildMessages);
  }

  /** Without the MessageContent intent Discord blanks content, embeds, attachments and components of others' messages. */
  private apiMessageForSession(message: StoredMessage, session: GatewaySession, withMember: boolean): Record<string, unknown> {
    const api = this.apiMessage(message, withMember);
    if (!(session.intents & Intent.MessageContent) && message.authorId !== this.botUserId) {
      return { ...api, content: '', embeds: [], attachments: [], components: [] };
    }
    return api;
  }

  // -------------------------------------------------------------------------------------------
  // Serialisation
  // -------------------------------------------------------------------------------------------

  private apiUser(user: User): Record<string, unknown> {
    return {
      id: user.id,
      username: user.username,
      global_name: user.globalName,
      discriminator: user.bot ? '0000' : '0',
      avatar: null,
      bot: user.bot,
      public_flags: 0,
    };
  }

  private apiRole(role: Role): Record<string, unknown> {
    return {
      id: role.id,
      name: role.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0,
    };
  }

  private apiMember(guild: Guild, member: Member): Record<string, unknown> {
    return {
      user: this.apiUser(this.requireUser(member.userId)),
      nick: member.nick,
      avatar: null,
      roles: member.roles,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  private apiChannel(channel: Channel): Record<string, unknown> {
    const base: Record<string, unknown> = {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      name: channel.name,
      position: channel.position,
      permission_overwrites: channel.permissionOverwrites.map((o) => ({
        id: o.id,
        type: o.type,
        allow: o.allow.toString(),
        deny: o.deny.toString(),
      })),
      nsfw: channel.nsfw,
      topic: channel.topic,
      last_message_id: this.lastMessageId(channel.id),
      rate_limit_per_user: 0,
      parent_id: channel.parentId,
      flags: 0,
    };
    if (channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread) {
      const count = this.messages.get(channel.id)?.size ?? 0;
      Object.assign(base, {
        owner_id: channel.ownerId,
        message_count: count,
        total_message_sent: count,
        member_count: 1,
        thread_metadata: {
          archived: false,
          auto_archive_duration: 1440,
          archive_timestamp: new Date(snowflakeTime(channel.id)).toISOString(),
          locked: false,
          create_timestamp: new Date(snowflakeTime(channel.id)).toISOString(),
        },
        permission_overwrites: undefined,
      });
    }
    return base;
  }

  private apiGuildCreate(guild: Guild): Record<string, unknown> {
    const channels = guild.channelIds.map((id) => this.requireChannel(id));
    const isThread = (c: Channel): boolean => c.type === ChannelType.PublicThread || c.type === ChannelType.PrivateThread;
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...guild.roles.values()].map((r) => this.apiRole(r)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_members: 500_000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      // GUILD_CREATE extras
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members: [this.apiMember(guild, guild.members.get(this.botUserId)!)],
      channels: channels.filter((c) => !isThread(c)).map((c) => this.apiChannel(c)),
      threads: channels.filter(isThread).map((c) => this.apiChannel(c)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private apiAttachment(a: StoredAttachment): Record<string, unknown> {
    const url = this.attachmentUrl(a);
    return {
      id: a.id,
      filename: a.filename,
      description: a.description ?? undefined,
      content_type: a.contentType,
      size: a.bytes.length,
      url,
      proxy_url: url.replace('/attachments/', '/media/attachments/'),
      width: a.width,
      height: a.height,
      flags: 0,
    };
  }

  private apiMessage(message: StoredMessage, withMember = false): Record<string, unknown> {
    const author = this.requireUser(message.authorId);
    const api: Record<string, unknown> = {
      id: message.id,
      type: message.type,
      channel_id: message.channelId,
      author: this.apiUser(author),
      content: message.content,
      timestamp: message.timestamp,
      edited_timestamp: message.editedTimestamp,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments.map((a) => this.apiAttachment(a)),
      embeds: message.embeds,
      pinned: false,
      flags: message.flags,
      components: message.components,
    };
    if (message.guildId) api['guild_id'] = message.guildId;
    if (message.webhookId) {
      api['webhook_id'] = message.webhookId;
      api['application_id'] = this.applicationId;
    }
    if (message.interactionMetadata) api['interaction_metadata'] = message.interactionMetadata;
    if (message.messageReference) api['message_reference'] = message.messageReference;
    if (message.reactions.size > 0) {
      api['reactions'] = [...message.reactions].map(([emoji, users]) => ({
        emoji: parseEmoji(emoji),
        count: users.size,
        count_details: { burst: 0, normal: users.size },
        me: users.has(this.botUserId),
        me_burst: false,
        burst_colors: [],
      }));
    }
    if (withMember && message.guildId && !message.webhookId) {
      const member = this.guilds.get(message.guildId)?.members.get(message.authorId);
      if (member) {
        const { user: _user, ...partial } = this.apiMember(this.requireGuild(message.guildId), member);
        api['member'] = partial;
      }
    }
    return api;
  }

  private responseMessage(m: StoredMessage): ResponseMessage {
    return {
      id: m.id,
      content: m.content,
      embeds: m.embeds as any[],
      components: m.components as any[],
      attachments: m.attachments.map((a) => ({ id: a.id, filename: a.filename, contentType: a.contentType, bytes: a.bytes, description: a.description })),
      flags: m.flags,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Internal state helpers
  // -------------------------------------------------------------------------------------------

  private createMessage(channelId: string, input: MessageInput, timeMs: number, extra: Partial<StoredMessage> = {}): StoredMessage {
    const channel = this.requireChannel(channelId);
    this.requireUser(input.authorId);
    const message: StoredMessage = {
      id: snowflake(timeMs),
      channelId,
      guildId: channel.guildId,
      authorId: input.authorId,
      content: input.content ?? '',
      embeds: input.embeds ?? [],
      components: input.components ?? [],
      attachments: (input.attachments ?? []).map((a) => this.storeAttachment(channelId, a, timeMs)),
      timestamp: new Date(timeMs).toISOString(),
      editedTimestamp: null,
      flags: 0,
      type: 0,
      webhookId: null,
      interactionMetadata: null,
      messageReference: null,
      reactions: new Map(),
      ephemeral: false,
      ...extra,
    };
    this.messages.get(channelId)!.set(message.id, message);
    return message;
  }

  private storeAttachment(channelId: string, input: AttachmentInput, timeMs = Date.now()): StoredAttachment {
    const size = input.width !== undefined && input.height !== undefined ? { width: input.width, height: input.height } : imageSize(input.bytes);
    const attachment: StoredAttachment = {
      id: snowflake(timeMs),
      filename: input.filename.replace(/[^\w.-]/g, '_'),
      contentType: input.contentType,
      bytes: input.bytes,
      width: size?.width ?? null,
      height: size?.height ?? null,
      description: input.description ?? null,
      channelId,
    };
    this.attachments.set(attachment.id, attachment);
    return attachment;
  }

  private lastMessageId(channelId: string): string | null {
    let last: string | null = null;
    for (const id of this.messages.get(channelId)?.keys() ?? []) if (last === null || compareIds(id, last) > 0) last = id;
    return last;
  }

  private findAnyMessage(messageId: string): StoredMessage | undefined {
    for (const map of this.messages.values()) {
      const m = map.get(messageId);
      if (m) return m;
    }
    return this.ephemeralMessages.get(messageId);
  }

  /** Ephemeral responses live outside channel history. */
  private readonly ephemeralMessages = new Map<string, StoredMessage>();

  private commandId(guildId: string, name: string, type: number): string {
    for (const key of [guildId, '']) {
      const found = this.commands.get(key)?.find((c) => c.name === name && (c.type ?? 1) === type);
      if (found) return found.id;
    }
    return snowflake();
  }

  private requireUser(id: string): User {
    const user = this.users.get(id);
    if (!user) throw new SagasuError('NOT_FOUND', `unknown user ${id}`);
    return user;
  }

  private requireGuild(id: string): Guild {
    const guild = this.guilds.get(id);
    if (!guild) throw new SagasuError('NOT_FOUND', `unknown guild ${id}`);
    return guild;
  }

  private requireChannel(id: string): Channel {
    const channel = this.channels.get(id);
    if (!channel) throw new SagasuError('NOT_FOUND', `unknown channel ${id}`);
    return channel;
  }

  private requireMessage(channelId: string, messageId: string): StoredMessage {
    const message = this.messages.get(channelId)?.get(messageId);
    if (!message) throw new SagasuError('NOT_FOUND', `unknown message ${messageId} in channel ${channelId}`);
    return message;
  }

  private sign(key: Buffer, path: string, ex: string, is: string): string {
    return createHmac('sha256', key).update(`${path}|${ex}|${is}`).digest('hex');
  }

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  private async onHttpRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    try {
      if (url.pathname.startsWith('/attachments/') || url.pathname.startsWith('/media/attachments/')) {
        this.serveAttachment(url, req, res);
        return;
      }
      const raw = await readBody(req);
      const apiMatch = /^\/api(?:\/v\d+)?(\/.*)$/.exec(url.pathname);
      const path = apiMatch ? decodePath(apiMatch[1]!) : url.pathname;
      const method = (req.method ?? 'GET').toUpperCase();
      const parsed = await parseBody(req.headers['content-type'] ?? '', raw);
      const record: RecordedRequest = {
        method,
        path,
        rawUrl: req.url ?? '',
        query: Object.fromEntries(url.searchParams),
        body: parsed.body,
        files: parsed.files.map((f) => ({ field: f.field, filename: f.filename, contentType: f.contentType, size: f.bytes.length })),
        time: Date.now(),
        status: 0,
        unknownRoute: false,
      };
      this.requests.push(record);

      const limited = this.takeRateLimit(method, path);
      if (limited) {
        record.status = 429;
        const headers: Record<string, string> = {
          'retry-after': String(limited.retryAfterSeconds),
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset-after': String(limited.retryAfterSeconds),
          'x-ratelimit-reset': String(Date.now() / 1000 + limited.retryAfterSeconds),
          'x-ratelimit-bucket': bucketHash(method, path),
          'x-ratelimit-scope': limited.global ? 'global' : 'user',
        };
        if (limited.global) headers['x-ratelimit-global'] = 'true';
        sendJson(res, 429, { message: 'You are being rate limited.', retry_after: limited.retryAfterSeconds, global: limited.global ?? false }, headers);
        return;
      }

      const found = apiMatch ? this.matchRoute(method, path) : null;
      if (!found) {
        record.unknownRoute = true;
        record.status = 404;
        sendJson(res, 404, { message: `404: Not Found (sagasu test server has no route ${method} ${path})`, code: 0 });
        return;
      }
      if (found.route.auth && req.headers.authorization !== `Bot ${this.token}`) {
        record.status = 401;
        sendJson(res, 401, { message: '401: Unauthorized', code: 0 });
        return;
      }
      const result = found.route.handler({ params: found.params, query: url.searchParams, body: parsed.body, files: parsed.files, req });
      const rateHeaders = {
        'x-ratelimit-limit': '50',
        'x-ratelimit-remaining': '49',
        'x-ratelimit-reset-after': '1',
        'x-ratelimit-reset': String(Date.now() / 1000 + 1),
        'x-ratelimit-bucket': bucketHash(method, path),
      };
      if (result === undefined) {
        record.status = 204;
        res.writeHead(204, rateHeaders).end();
      } else {
        record.status = 200;
        sendJson(res, 200, result, rateHeaders);
      }
    } catch (error) {
      const last = this.requests.at(-1);
      if (error instanceof HttpError) {
        if (last) last.status = error.status;
        sendJson(res, error.status, { message: error.message, code: error.code });
      } else {
        if (last) last.status = 500;
        sendJson(res, 500, { message: `sagasu test server error: ${(error as Error).message}`, code: 0 });
      }
    }
  }

  private serveAttachment(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const path = url.pathname.replace(/^\/media/, '');
    const match = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
    const attachment = match ? this.attachments.get(match[2]!) : undefined;
    const ex = url.searchParams.get('ex') ?? '';
    const is = url.searchParams.get('is') ?? '';
    const hm = url.searchParams.get('hm') ?? '';
    const notFound = (): void => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
    };
    if (!match || !attachment || attachment.channelId !== match[1]) return notFound();
    if (this.sign(this.urlKey, path, ex, is) !== hm) {
      // A URL signed with a retired key expired; anything else was forged.
      if (this.retiredUrlKeys.some((k) => this.sign(k, path, ex, is) === hm)) return notFound();
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
      return;
    }
    if (parseInt(ex, 16) * 1000 < Date.now()) return notFound();
    res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.bytes.length });
    res.end(req.method === 'HEAD' ? undefined : attachment.bytes);
  }

  private takeRateLimit(method: string, path: string): RateLimitRule | null {
    const index = this.rateLimitRules.findIndex(
      (r) =>
        (!r.method || r.method.toUpperCase() === method) &&
        (typeof r.pathPattern === 'string' ? path === r.pathPattern || path.startsWith(r.pathPattern) : r.pathPattern.test(path)),
    );
    if (index < 0) return null;
    return this.rateLimitRules.splice(index, 1)[0]!;
  }

  private matchRoute(method: string, path: string): { route: Route; params: string[] } | null {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: m.slice(1) };
    }
    return null;
  }

  private route(method: string, pattern: string, handler: RouteHandler, auth = true): void {
    const source = pattern
      .split('/')
      .map((part) => (part.startsWith(':') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), handler, auth });
  }

  private defineRoutes(): void {
    const r = this.route.bind(this);

    r('GET', '/gateway', () => ({ url: this.gatewayUrl }), false);
    r('GET', '/gateway/bot', () => ({
      url: this.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
    }));
    r('GET', '/users/@me', () => ({ ...this.apiUser(this.requireUser(this.botUserId)), verified: true, mfa_enabled: false, flags: 0 }));
    r('GET', '/users/:user', ({ params }) => this.apiUser(this.users.get(params[0]!) ?? notFound(10013, 'Unknown User')));
    r('GET', '/applications/@me', () => this.apiApplication());
    r('GET', '/oauth2/applications/@me', () => this.apiApplication());

    // Application commands
    r('PUT', '/applications/:app/commands', ({ params, body }) => this.putCommands(params[0]!, '', body));
    r('GET', '/applications/:app/commands', ({ params }) => this.listCommands(params[0]!, ''));
    r('POST', '/applications/:app/commands', ({ params, body }) => this.upsertCommand(params[0]!, '', body));
    r('DELETE', '/applications/:app/commands/:cmd', ({ params }) => this.deleteCommand(params[0]!, '', params[1]!));
    r('PUT', '/applications/:app/guilds/:guild/commands', ({ params, body }) => this.putCommands(params[0]!, params[1]!, body));
    r('GET', '/applications/:app/guilds/:guild/commands', ({ params }) => this.listCommands(params[0]!, params[1]!));
    r('POST', '/applications/:app/guilds/:guild/commands', ({ params, body }) => this.upsertCommand(params[0]!, params[1]!, body));
    r('DELETE', '/applications/:app/guilds/:guild/commands/:cmd', ({ params }) => this.deleteCommand(params[0]!, params[1]!, params[2]!));

    // Interactions (authenticated by the token in the path)
    r('POST', '/interactions/:id/:token/callback', (ctx) => this.interactionCallback(ctx), false);
    r('GET', '/webhooks/:app/:token/messages/:message', ({ params }) => this.apiMessage(this.webhookMessage(params[0]!, params[1]!, params[2]!).message), false);
    r('PATCH', '/webhooks/:app/:token/messages/:message', (ctx) => this.editWebhookMessage(ctx), false);
    r('DELETE', '/webhooks/:app/:token/messages/:message', ({ params }) => this.deleteWebhookMessage(params[0]!, params[1]!, params[2]!), false);
    r('POST', '/webhooks/:app/:token', (ctx) => this.followUp(ctx), false);

    // Channels and messages
    r('GET', '/channels/:channel', ({ params }) => this.apiChannel(this.restChannel(params[0]!)));
    r('GET', '/channels/:channel/messages', ({ params, query }) => this.listMessages(params[0]!, query));
    r('GET', '/channels/:channel/messages/:message', ({ params }) => {
      this.requireBotPermission(this.restChannel(params[0]!), Permission.ViewChannel | Permission.ReadMessageHistory, 50001, 'Missing Access');
      return this.apiMessage(this.restMessage(params[0]!, params[1]!));
    });
    r('POST', '/channels/:channel/messages', (ctx) => this.botSendMessage(ctx));
    r('PATCH', '/channels/:channel/messages/:message', (ctx) => this.botEditMessage(ctx));
    r('DELETE', '/channels/:channel/messages/:message', ({ params }) => {
      const message = this.restMessage(params[0]!, params[1]!);
      if (message.authorId !== this.botUserId) this.requireBotPermission(this.restChannel(params[0]!), Permission.ManageMessages, 50013, 'Missing Permissions');
      this.deleteMessage(params[0]!, params[1]!);
      return undefined;
    });
    r('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', ({ params }) => this.react(params[0]!, params[1]!, params[2]!, true));
    r('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/@me', ({ params }) => this.react(params[0]!, params[1]!, params[2]!, false));
    r('POST', '/channels/:channel/typing', ({ params }) => {
      this.restChannel(params[0]!);
      return undefined;
    });

    // Guilds
    r('GET', '/guilds/:guild', ({ params }) => {
      const { channels: _c, members: _m, threads: _t, ...guild } = this.apiGuildCreate(this.restGuild(params[0]!));
      return guild;
    });
    r('GET', '/guilds/:guild/channels', ({ params }) => {
      const guild = this.restGuild(params[0]!);
      return guild.channelIds
        .map((id) => this.requireChannel(id))
        .filter((c) => c.type !== ChannelType.PublicThread && c.type !== ChannelType.PrivateThread)
        .map((c) => this.apiChannel(c));
    });
    r('GET', '/guilds/:guild/roles', ({ params }) => [...this.restGuild(params[0]!).roles.values()].map((role) => this.apiRole(role)));
    r('GET', '/guilds/:guild/members/:user', ({ params }) => {
      const guild = this.restGuild(params[0]!);
      const member = guild.members.get(params[1]!) ?? notFound(10007, 'Unknown Member');
      return this.apiMember(guild, member);
    });
    r('GET', '/guilds/:guild/threads/active', ({ params }) => {
      const guild = this.restGuild(params[0]!);
      const threads = guild.channelIds
        .map((id) => this.requireChannel(id))
        .filter((c) => c.type === ChannelType.PublicThread || c.type === ChannelType.PrivateThread);
      return { threads: threads.map((c) => this.apiChannel(c)), members: [] };
    });
  }

  private apiApplication(): Record<string, unknown> {
    return {
      id: this.applicationId,
      name: this.options.botUsername,
      icon: null,
      description: '',
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      owner: this.apiUser(this.requireUser(this.botUserId)),
      team: null,
      bot: this.apiUser(this.requireUser(this.botUserId)),
      approximate_guild_count: this.guilds.size,
      integration_types_config: { '0': {} },
    };
  }

  // --- command registration -------------------------------------------------------------------

  private checkApp(app: string): void {
    if (app !== this.applicationId) throw new HttpError(403, 50001, 'Missing Access');
  }

  private normaliseCommand(guildId: string, input: any, existing: any[] | undefined): any {
    if (typeof input?.name !== 'string') throw new HttpError(400, 50035, 'Invalid Form Body: command name is required');
    const type = input.type ?? 1;
    const previous = existing?.find((c) => c.name === input.name && (c.type ?? 1) === type);
    return {
      id: previous?.id ?? snowflake(),
      application_id: this.applicationId,
      version: snowflake(),
      default_member_permissions: input.default_member_permissions ?? null,
      type,
      name: input.name,
      name_localizations: input.name_localizations ?? null,
      description: input.description ?? '',
      description_localizations: input.description_localizations ?? null,
      dm_permission: input.dm_permission ?? true,
      contexts: input.contexts ?? null,
      integration_types: input.integration_types ?? [0],
      options: input.options ?? [],
      nsfw: input.nsfw ?? false,
      ...(guildId ? { guild_id: guildId } : {}),
    };
  }

  private putCommands(app: string, guildId: string, body: unknown): unknown {
    this.checkApp(app);
    if (guildId) this.restGuild(guildId);
    if (!Array.isArray(body)) throw new HttpError(400, 50035, 'Invalid Form Body: expected an array of commands');
    const existing = this.commands.get(guildId);
    const stored = body.map((c) => this.normaliseCommand(guildId, c, existing));
    this.commands.set(guildId, stored);
    return stored;
  }

  private listCommands(app: string, guildId: string): unknown {
    this.checkApp(app);
    return this.commands.get(guildId) ?? [];
  }

  private upsertCommand(app: string, guildId: string, body: unknown): unknown {
    this.checkApp(app);
    const existing = this.commands.get(guildId) ?? [];
    const command = this.normaliseCommand(guildId, body, existing);
    this.commands.set(guildId, [...existing.filter((c) => c.id !== command.id), command]);
    return command;
  }

  private deleteCommand(app: string, guildId: string, commandId: string): undefined {
    this.checkApp(app);
    const existing = this.commands.get(guildId) ?? [];
    if (!existing.some((c) => c.id === commandId)) notFound(10063, 'Unknown application command');
    this.commands.set(guildId, existing.filter((c) => c.id !== commandId));
    return undefined;
  }

  // --- interaction responses ---------------------------------------------------------------------

  private interactionCallback(ctx: RequestContext): unknown {
    const [id, token] = ctx.params as [string, string];
    const state = this.interactions.get(token);
    if (!state || state.id !== id) notFound(10062, 'Unknown interaction');
    if (state.callbacks.length > 0) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    const body = ctx.body ?? {};
    const type = Number(body.type);
    const data = body.data ?? {};
    const atMs = Date.now() - state.dispatchedAt;
    state.callbacks.push({ type, data, atMs });
    const ephemeral = ((data.flags ?? 0) & 64) !== 0;
    switch (type) {
      case 4: // reply
      case 5: {
        // deferred reply: Discord shows a "thinking" message (flag 128) until @original is edited
        state.ephemeral = ephemeral;
        const message = this.createResponseMessage(state, type === 4 ? data : { flags: (data.flags ?? 0) | 128 }, ctx.files, 'original');
        state.originalMessageId = message.id;
        if (type === 5) state.deferredAtMs = atMs;
        else this.completeInteraction(state);
        break;
      }
      case 6: // deferred update of the component's message
        if (state.type !== 3) throw new HttpError(400, 40004, 'Interaction callback type 6 is only valid for components');
        state.deferredAtMs = atMs;
        break;
      case 7: {
        if (state.type !== 3) throw new HttpError(400, 40004, 'Interaction callback type 7 is only valid for components');
        this.applyEdit(this.findAnyMessage(state.originalMessageId!)!, data, ctx.files);
        this.completeInteraction(state);
        break;
      }
      case 9:
        state.modal = data;
        this.completeInteraction(state);
        break;
      default:
        throw new HttpError(400, 50035, `Invalid Form Body: unsupported interaction callback type ${String(body.type)}`);
    }
    if (ctx.query.get('with_response') !== 'true') return undefined;
    const message = state.originalMessageId ? this.findAnyMessage(state.originalMessageId) : undefined;
    return {
      interaction: {
        id: state.id,
        type: state.type,
        activity_instance_id: null,
        response_message_id: message?.id ?? null,
        response_message_loading: type === 5,
        response_message_ephemeral: state.ephemeral,
      },
      resource: { type, ...(message && type !== 9 ? { message: this.apiMessage(message) } : {}) },
    };
  }

  private createResponseMessage(state: InteractionState, data: any, files: RequestContext['files'], kind: 'original' | 'followup'): StoredMessage {
    const ephemeral = ((data.flags ?? 0) & 64) !== 0;
    const command = state.payload['data'] ?? {};
    const message = this.createMessage(state.channelId, { authorId: this.botUserId }, Date.now(), {
      webhookId: this.applicationId,
      type: kind === 'original' && state.type === 2 ? (command.type === 1 ? 20 : 23) : 0,
      flags: data.flags ?? 0,
      ephemeral,
      interactionMetadata: {
        id: state.id,
        type: state.type,
        user: this.apiUser(this.requireUser(state.userId)),
        authorizing_integration_owners: { '0': state.guildId },
        ...(state.type === 2 ? { name: command.name, command_type: command.type } : {}),
        ...(state.type === 3 && state.originalMessageId ? { interacted_message_id: state.originalMessageId } : {}),
        ...(kind === 'followup' && state.originalMessageId ? { original_response_message_id: state.originalMessageId } : {}),
      },
    });
    this.applyEdit(message, data, files, false);
    if (ephemeral) {
      // Ephemeral messages are only visible to the invoker: keep them out of channel history.
      this.messages.get(state.channelId)!.delete(message.id);
      this.ephemeralMessages.set(message.id, message);
    }
    this.dispatchMessageCreate(message);
    return message;
  }

  /** Applies content/embeds/components/attachments edits as Discord does (listed attachments are kept). */
  private applyEdit(message: StoredMessage, data: any, files: RequestContext['files'], markEdited = true): void {
    if ('content' in data) message.content = data.content ?? '';
    if ('embeds' in data) message.embeds = data.embeds ?? [];
    if ('components' in data) message.components = data.components ?? [];
    if (markEdited) {
      // An edit ends the "thinking" state (128); of the flags an edit may send only SUPPRESS_EMBEDS (4) counts.
      message.flags &= ~128;
      if (data.flags !== undefined && data.flags !== null) message.flags = (message.flags & ~4) | (Number(data.flags) & 4);
    }
    const uploaded = new Map<string, RequestContext['files'][number]>();
    files.forEach((f, i) => {
      const m = /^files\[(\d+)\]$/.exec(f.field);
      uploaded.set(m ? m[1]! : String(i), f);
    });
    if (Array.isArray(data.attachments)) {
      const kept: StoredAttachment[] = [];
      for (const entry of data.attachments as any[]) {
        const id = String(entry.id);
        const existing = message.attachments.find((a) => a.id === id);
        if (existing) {
          kept.push(existing);
          continue;
        }
        const file = uploaded.get(id);
        if (!file) throw new HttpError(400, 50035, `Invalid Form Body: attachment ${id} has no files[${id}]`);
        uploaded.delete(id);
        kept.push(this.storeAttachment(message.channelId, {
          filename: entry.filename ?? file.filename,
          contentType: file.contentType,
          bytes: file.bytes,
          description: entry.description,
        }));
      }
      message.attachments = kept;
    }
    for (const file of uploaded.values()) {
      message.attachments.push(this.storeAttachment(message.channelId, { filename: file.filename, contentType: file.contentType, bytes: file.bytes }));
    }
    if (markEdited) message.editedTimestamp = new Date().toISOString();
  }

  private interactionByWebhook(app: string, token: string): InteractionState {
    const state = this.interactions.get(token);
    if (!state || app !== this.applicationId) notFound(10015, 'Unknown Webhook');
    return state;
  }

  private webhookMessage(app: string, token: string, messageId: string): { state: InteractionState; message: StoredMessage } {
    const state = this.interactionByWebhook(app, token);
    const id = messageId === '@original' ? state.originalMessageId : messageId;
    if (!id || (messageId !== '@original' && !state.followUpIds.includes(id))) notFound(10008, 'Unknown Message');
    const message = this.findAnyMessage(id) ?? notFound(10008, 'Unknown Message');
    return { state, message };
  }

  private editWebhookMessage(ctx: RequestContext): unknown {
    const [app, token, messageId] = ctx.params as [string, string, string];
    const { state, message } = this.webhookMessage(app, token, messageId);
    this.applyEdit(message, ctx.body ?? {}, ctx.files);
    this.dispatchMessageUpdate(message);
    if (messageId === '@original' && state.callbacks.length > 0) this.completeInteraction(state);
    return this.apiMessage(message);
  }

  private deleteWebhookMessage(app: string, token: string, messageId: string): undefined {
    const { message } = this.webhookMessage(app, token, messageId);
    if (message.ephemeral) this.ephemeralMessages.delete(message.id);
    else this.deleteMessage(message.channelId, message.id);
    return undefined;
  }

  private followUp(ctx: RequestContext): unknown {
    const [app, token] = ctx.params as [string, string];
    const state = this.interactionByWebhook(app, token);
    if (state.callbacks.length === 0) notFound(10015, 'Unknown Webhook');
    const message = this.createResponseMessage(state, ctx.body ?? {}, ctx.files, 'followup');
    state.followUpIds.push(message.id);
    return this.apiMessage(message);
  }

  // --- channel REST ----------------------------------------------------------------------------

  private restGuild(id: string): Guild {
    return this.guilds.get(id) ?? notFound(10004, 'Unknown Guild');
  }

  private restChannel(id: string): Channel {
    const channel = this.channels.get(id) ?? notFound(10003, 'Unknown Channel');
    this.requireBotPermission(channel, Permission.ViewChannel, 50001, 'Missing Access');
    return channel;
  }

  private restMessage(channelId: string, messageId: string): StoredMessage {
    this.restChannel(channelId);
    return this.messages.get(channelId)?.get(messageId) ?? notFound(10008, 'Unknown Message');
  }

  private requireBotPermission(channel: Channel, needed: bigint, code: number, message: string): void {
    const perms = this.permissionsFor(channel.guildId, channel.id, this.botUserId);
    if ((perms & needed) !== needed) throw new HttpError(403, code, message);
  }

  private listMessages(channelId: string, query: URLSearchParams): unknown {
    const channel = this.restChannel(channelId);
    this.requireBotPermission(channel, Permission.ReadMessageHistory, 50001, 'Missing Access');
    const limit = query.has('limit') ? Number(query.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 50035, 'Invalid Form Body: limit must be 1-100');
    const all = this.channelMessages(channelId); // oldest first
    const before = query.get('before');
    const after = query.get('after');
    const around = query.get('around');
    let picked: StoredMessage[];
    if (before) {
      picked = all.filter((m) => compareIds(m.id, before) < 0).slice(-limit);
    } else if (after) {
      picked = all.filter((m) => compareIds(m.id, after) > 0).slice(0, limit);
    } else if (around) {
      const index = all.findIndex((m) => compareIds(m.id, around) >= 0);
      const centre = index < 0 ? all.length : index;
      const start = Math.max(0, centre - Math.floor(limit / 2));
      picked = all.slice(start, start + limit);
    } else {
      picked = all.slice(-limit);
    }
    return picked.reverse().map((m) => this.apiMessage(m));
  }

  private botSendMessage(ctx: RequestContext): unknown {
    const channel = this.restChannel(ctx.params[0]!);
    const body = ctx.body ?? {};
    this.requireBotPermission(channel, Permission.SendMessages, 50013, 'Missing Permissions');
    if (ctx.files.length > 0) this.requireBotPermission(channel, Permission.AttachFiles, 50013, 'Missing Permissions');
    const hasContent = Boolean(body.content) || (body.embeds?.length ?? 0) > 0 || ctx.files.length > 0 || (body.components?.length ?? 0) > 0;
    if (!hasContent) throw new HttpError(400, 50006, 'Cannot send an empty message');
    const message = this.createMessage(channel.id, { authorId: this.botUserId }, Date.now(), {
      messageReference: body.message_reference ? { channel_id: channel.id, guild_id: channel.guildId, ...body.message_reference } : null,
      type: body.message_reference ? 19 : 0,
      flags: Number(body.flags ?? 0) & 4,
    });
    this.applyEdit(message, body, ctx.files, false);
    this.dispatchMessageCreate(message);
    return this.apiMessage(message);
  }

  private botEditMessage(ctx: RequestContext): unknown {
    const message = this.restMessage(ctx.params[0]!, ctx.params[1]!);
    if (message.authorId !== this.botUserId) throw new HttpError(403, 50005, 'Cannot edit a message authored by another user');
    this.applyEdit(message, ctx.body ?? {}, ctx.files);
    this.dispatchMessageUpdate(message);
    return this.apiMessage(message);
  }

  private react(channelId: string, messageId: string, emoji: string, add: boolean): undefined {
    const channel = this.restChannel(channelId);
    const message = this.restMessage(channelId, messageId);
    if (add) this.requireBotPermission(channel, Permission.AddReactions | Permission.ReadMessageHistory, 50013, 'Missing Permissions');
    const users = message.reactions.get(emoji) ?? new Set<string>();
    if (add) users.add(this.botUserId);
    else users.delete(this.botUserId);
    if (users.size > 0) message.reactions.set(emoji, users);
    else message.reactions.delete(emoji);
    this.dispatch(
      add ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE',
      () => ({
        user_id: this.botUserId,
        channel_id: channelId,
        message_id: messageId,
        guild_id: channel.guildId,
        emoji: parseEmoji(emoji),
        burst: false,
        type: 0,
        ...(add ? { message_author_id: message.authorId, member: this.apiMember(this.requireGuild(channel.guildId), this.requireGuild(channel.guildId).members.get(this.botUserId)!) } : {}),
      }),
      Intent.GuildMessageReactions,
    );
    return undefined;
  }
}

/** Starts a server on a free port (unless options.port is set). */
export async function startDiscordTestServer(options: DiscordTestServerOptions = {}): Promise<DiscordTestServer> {
  return new DiscordTestServer(options).start();
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function notFound(code: number, message: string): never {
  throw new HttpError(404, code, message);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function decodePath(path: string): string {
  return path
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join('/');
}

function bucketHash(method: string, path: string): string {
  // Same bucket for the same route shape, as Discord does; snowflakes are major parameters.
  return createHmac('sha1', 'bucket').update(`${method} ${path.replace(/\d{16,20}/g, ':id')}`).digest('hex').slice(0, 16);
}

/** "name:id" for custom emojis, the character itself for unicode ones. */
function parseEmoji(emoji: string): { id: string | null; name: string } {
  const m = /^(?:a:)?([^:]+):(\d+)$/.exec(emoji);
  return m ? { id: m[2]!, name: m[1]! } : { id: null, name: emoji };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function parseBody(
  contentType: string,
  raw: Buffer,
): Promise<{ body: unknown; files: { field: string; filename: string; contentType: string; bytes: Buffer }[] }> {
  if (raw.length === 0) return { body: null, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    // undici's Request parses multipart for us; no extra dependency needed.
    const form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
    let body: unknown = null;
    const files: { field: string; filename: string; contentType: string; bytes: Buffer }[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value);
      } else {
        const file = value as Blob & { name: string };
        files.push({ field, filename: file.name, contentType: file.type || 'application/octet-stream', bytes: Buffer.from(await file.arrayBuffer()) });
      }
    }
    return { body, files };
  }
  const text = raw.toString('utf8');
  try {
    return { body: JSON.parse(text), files: [] };
  } catch {
    throw new HttpError(400, 50109, 'The request body contains invalid JSON.');
  }
}

/** Width and height from PNG, GIF, JPEG or WebP headers; null for anything else. */
export function imageSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'GIF') return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  if (bytes.length >= 30 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = bytes.toString('latin1', 12, 16);
    if (chunk === 'VP8 ') return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8L') {
      const b = bytes.readUInt32LE(21);
      return { width: (b & 0x3fff) + 1, height: ((b >> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X') return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
    return null;
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let offset = 2;
    while (offset + 9 < bytes.length) {
      if (bytes[offset] !== 0xff) return null;
      const marker = bytes[offset + 1]!;
      if (marker === 0xff) {
        offset += 1;
        continue;
      }
      const length = bytes.readUInt16BE(offset + 2);
      // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: bytes.readUInt16BE(offset + 7), height: bytes.readUInt16BE(offset + 5) };
      }
      offset += 2 + length;
    }
  }
  return null;
}
