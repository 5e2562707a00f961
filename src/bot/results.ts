import { randomBytes } from 'node:crypto';
import {
  DiscordAPIError,
  MessageFlags,
  RESTJSONErrorCodes,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Guild,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import { isSagasuError, type SagasuError } from '../errors.js';
import type { BotContext } from './context.js';
import { fitEmbeds, noMatchText, pageButtons, parsePageButton, resultEmbed, type ResultItem } from './format.js';
import { downloadImage, formatBytes, imagesOf } from './message-images.js';
import { createSourceFilter } from './permissions.js';

/** A query image as Discord describes it (an option attachment, or an image of a target message). */
export interface QueryImage {
  url: string;
  size: number | null;
  fileName: string;
  contentType: string | null;
}

export interface SearchRequest {
  images: QueryImage[];
  text?: string;
  /** Results wanted (at most the configured maximum). */
  k: number;
  /** Messages whose images are not results (the target of "Find similar" itself). */
  excludeMessageIds?: ReadonlySet<string>;
}

interface Session {
  id: string;
  userId: string;
  guildId: string;
  header: string;
  items: ResultItem[];
  expiresAt: number;
}

/** Result pages kept in memory for the Previous / More buttons. */
export class ResultSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = 30 * 60_000,
    private readonly max = 500,
  ) {}

  create(session: Omit<Session, 'id' | 'expiresAt'>): Session {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expiresAt < now || this.sessions.size >= this.max) this.sessions.delete(id);
    const full: Session = { ...session, id: randomBytes(6).toString('hex'), expiresAt: now + this.ttlMs };
    this.sessions.set(full.id, full);
    return full;
  }

  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (s && s.expiresAt < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }
}

/** A fresh URL for a stored image: the message is fetched again (stored URLs would have expired). */
async function freshImageUrl(guild: Guild, source: ResultItem['source']): Promise<{ url?: string; gone: boolean }> {
  const channel = source.channelId ? guild.channels.cache.get(source.channelId) : undefined;
  if (!channel || !channel.isTextBased() || !source.messageId) return { gone: !channel };
  try {
    const message = await channel.messages.fetch({ message: source.messageId, cache: false });
    const image = imagesOf(message).find((i) => i.attachmentId === source.attachmentId);
    return image ? { url: image.url, gone: false } : { gone: message.attachments.size === 0 && message.embeds.length === 0 };
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.code === RESTJSONErrorCodes.UnknownMessage || error.code === RESTJSONErrorCodes.UnknownChannel)) return { gone: true };
    return { gone: false };
  }
}

/** Builds one page: thumbnails are fetched fresh; results whose message is gone are forgotten and skipped. */
async function renderPage(context: BotContext, guild: Guild, session: Session, page: number) {
  const size = context.config.pageSize;
  for (;;) {
    const pages = Math.max(1, Math.ceil(session.items.length / size));
    const current = Math.min(Math.max(0, page), pages - 1);
    const slice = session.items.slice(current * size, current * size + size);
    const urls = await Promise.all(slice.map((item) => freshImageUrl(guild, item.source)));
    const gone = slice.filter((_, i) => urls[i]!.gone);
    if (gone.length > 0) {
      // The delete event was missed (the bot was offline): catch up now.
      for (const item of gone) if (item.source.messageId) context.engine.forget({ guildId: guild.id, messageId: item.source.messageId });
      session.items = session.items.filter((item) => !gone.includes(item));
      continue;
    }
    if (session.items.length === 0) return { content: noMatchText(0), embeds: [], components: [] };
    const content = `${session.header} — ${session.items.length} result${session.items.length === 1 ? '' : 's'}${pages > 1 ? `, page ${current + 1}/${pages}` : ''}`;
    const embeds = fitEmbeds(slice.map((item, i) => resultEmbed(item, current * size + i + 1, urls[i]!.url)), content.length);
    return { content, embeds, components: pageButtons(session.id, current, pages) };
  }
}

type SearchInteraction = ChatInputCommandInteraction<'cached'> | MessageContextMenuCommandInteraction<'cached'>;

/**
 * The search both commands share: rate limit and size checks answer at once; then defer (the
 * 3 s rule), download, search once per image under the member's visibility filter, keep what
 * passes the confidence threshold, and show the first page.
 */
export async function runSearch(interaction: SearchInteraction, context: BotContext, request: SearchRequest): Promise<void> {
  const { config } = context;
  const ephemeral = config.ephemeralResults ? MessageFlags.Ephemeral : undefined;
  const allowed = context.limiter.take(interaction.user.id);
  if (!allowed.ok) {
    await interaction.reply({
      content: `You are searching too often: at most ${context.limiter.limit} search${context.limiter.limit === 1 ? '' : 'es'} per ${Math.round(context.limiter.windowMs / 1000)} s. Try again in ${Math.ceil(allowed.retryAfterMs / 1000)} s.`,
      flags: MessageFlags.Ephemeral,
    });
    return;
  }
  const tooLarge = request.images.filter((image) => image.size !== null && image.size > config.maxAttachmentBytes);
  const images = request.images.filter((image) => !tooLarge.includes(image));
  const sizeNote = tooLarge.length
    ? `${tooLarge.map((i) => i.fileName).join(', ')} ${tooLarge.length === 1 ? 'is' : 'are'} larger than the ${formatBytes(config.maxAttachmentBytes)} limit and ${tooLarge.length === 1 ? 'was' : 'were'} not searched.`
    : '';
  if (images.length === 0 && !request.text?.trim()) {
    await interaction.reply({ content: sizeNote || 'Give an image or some words to search for.', flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.deferReply(ephemeral ? { flags: ephemeral } : {});

  const guild = interaction.guild;
  const member = interaction.member;
  const filterSource = createSourceFilter(guild, member, interaction.channel, request.excludeMessageIds);
  const best = new Map<number, ResultItem>();
  const problems: string[] = sizeNote ? [sizeNote] : [];
  let hidden = 0;
  const queries: Array<{ image?: QueryImage }> = images.length ? images.map((image) => ({ image })) : [{}];
  for (const query of queries) {
    let bytes: Buffer | undefined;
    try {
      if (query.image) bytes = await downloadImage(query.image.url, { maxBytes: config.maxAttachmentBytes, timeoutMs: config.fetchTimeoutMs });
      const result = await context.engine.search(
        { ...(bytes ? { image: bytes } : {}), ...(request.text?.trim() ? { text: request.text } : {}) },
        { k: Math.min(1000, request.k * 3), scope: guild.id, filterSource },
      );
      const threshold = config.minConfidence ?? result.confidenceThreshold;
      for (const hit of result.hits) {
        const confidence = hit.confidence;
        if (confidence < threshold) {
          if (!best.has(hit.imageId)) hidden += 1;
          continue;
        }
        const previous = best.get(hit.imageId);
        if (previous && previous.confidence >= confidence) continue;
        const sources = [...hit.sources].sort((a, b) => (a.postedAt ?? Infinity) - (b.postedAt ?? Infinity));
        best.set(hit.imageId, { imageId: hit.imageId, confidence, reasons: hit.reasons, source: sources[0]!, otherSources: sources.length - 1 });
      }
    } catch (error) {
      if (!isSagasuError(error)) throw error;
      problems.push(`${query.image ? `${query.image.fileName}: ` : ''}${userMessage(error)}`);
    }
  }
  const items = [...best.values()].sort((a, b) => b.confidence - a.confidence || a.imageId - b.imageId).slice(0, request.k);
  const note = problems.length ? `\n${problems.join('\n')}` : '';
  if (items.length === 0) {
    const answered = problems.length && problems.length >= queries.length ? problems.join('\n') : noMatchText(hidden) + note;
    await interaction.editReply({ content: answered.slice(0, 2000), embeds: [], components: [] });
    return;
  }
  const header = request.images.length ? `Matches for ${images.length === 1 ? 'your image' : `${images.length} images`}` : `Matches for "${(request.text ?? '').slice(0, 100)}"`;
  const session = context.results.create({ userId: interaction.user.id, guildId: guild.id, header, items });
  const page = await renderPage(context, guild, session, 0);
  page.content = `${page.content}${note}`.slice(0, 2000);
  await interaction.editReply(page);
}

/** Previous / More buttons: only the member who searched may page, within the session's life. */
export async function handlePageButton(interaction: ButtonInteraction, context: BotContext): Promise<boolean> {
  const parsed = parsePageButton(interaction.customId);
  if (!parsed) return false;
  const session = context.results.get(parsed.sessionId);
  if (!session || !interaction.inCachedGuild() || interaction.guildId !== session.guildId) {
    await interaction.reply({ content: 'These results have expired; search again.', flags: MessageFlags.Ephemeral });
    return true;
  }
  if (interaction.user.id !== session.userId) {
    await interaction.reply({ content: 'Only the member who searched can page through these results.', flags: MessageFlags.Ephemeral });
    return true;
  }
  await interaction.deferUpdate();
  await interaction.editReply(await renderPage(context, interaction.guild, session, parsed.page));
  return true;
}

/** A SagasuError as a sentence for a member (the library prefix is for logs). */
export function userMessage(error: SagasuError): string {
  const text = error.message.replace(/^sagasu: /, '');
  switch (error.code) {
    case 'UNSUPPORTED_FORMAT':
    case 'CORRUPT_IMAGE':
    case 'EMPTY_INPUT':
      return `That file could not be read as an image (${text}).`;
    case 'TOO_LARGE':
      return `That image is too large: ${text}.`;
    case 'TIMEOUT':
      return `Reading the image took too long (${text}); try a smaller one.`;
    default:
      return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith('.') ? '' : '.');
  }
}
