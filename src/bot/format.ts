import { regionReason } from '../embedding/regions.js';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type APIEmbed } from 'discord.js';
import type { SearchHit } from '../sagasu.js';
import type { SourceRecord } from '../store/sqlite-store.js';

/** Discord's limits on one message (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const discordLimits = { embedsPerMessage: 10, embedCharacters: 6000, title: 256, description: 4096, fieldValue: 1024, footer: 2048, content: 2000 } as const;

/** One result as the bot shows it. */
export interface ResultItem {
  imageId: number;
  /** 0..1, what the threshold is applied to. */
  confidence: number;
  reasons: SearchHit['reasons'];
  /** The visible source shown (the earliest post); others are counted. */
  source: SourceRecord;
  otherSources: number;
}

export function jumpLink(guildId: string, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId}/${channelId}/${messageId}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + '…';
}

const percent = (value: number) => `${Math.round(value * 100)}%`;

/** Why a result matched, in plain words: which sources found it, at what rank, and how strongly. */
export function explainMatch(reasons: SearchHit['reasons']): string {
  const parts: string[] = [];
  if (reasons.spatial?.verified) parts.push(`${reasons.spatial.inliers} matching points${reasons.spatial.mirrored ? ' (mirrored)' : ''}`);
  const hash = reasons.hash?.detail as { distance?: number; exact?: boolean } | undefined;
  if (reasons.hash) parts.push(hash?.exact ? 'the very same file' : `near-duplicate (hash distance ${hash?.distance ?? '?'})`);
  const similarity = reasons.visual?.detail?.['similarity'];
  const colour = reasons.visual?.detail?.['colour'];
  const mirrored =
    (typeof colour === 'number' ? `, colours ${colour.toFixed(2)}` : '') +
    (reasons.visual?.detail?.['mirrored'] === true ? ', mirrored' : '') + (reasons.visual?.detail?.['contentArea'] === true ? ', picture inside the screenshot' : '') +
    regionReason(reasons.visual?.detail);
  if (reasons.visual) parts.push(`looks alike: visual rank ${reasons.visual.rank}${typeof similarity === 'number' ? `, similarity ${similarity.toFixed(2)}` : ''}${mirrored}`);
  const matched = reasons.text?.detail?.['matched'];
  if (reasons.text) {
    const words = Array.isArray(matched) ? (matched as string[]) : [];
    const shown = words.slice(0, 12).map((w) => `\`${w.replace(/`/g, "'")}\``).join(', ');
    parts.push(
      `text rank ${reasons.text.rank}${words.length ? `, words: ${shown}${words.length > 12 ? ` and ${words.length - 12} more` : ''}` : ''}` +
        (reasons.text.detail?.['dominant'] === true ? ', far ahead of any other image' : ''),
    );
    // The OCR lines holding those words, as read (the words above are normalised search terms).
    const lines = reasons.text.detail?.['lines'];
    if (Array.isArray(lines)) {
      for (const line of (lines as Array<{ text: string }>).slice(0, 2)) parts.push(`in “${truncate(line.text.replace(/\s+/g, ' '), 80)}”`);
    }
  }
  return parts.length ? parts.join('\n') : 'matched';
}

/** One embed per result: jump link, channel, author, date, similarity, why, and a fresh thumbnail when known. */
export function resultEmbed(item: ResultItem, rank: number, thumbnailUrl?: string): APIEmbed {
  const s = item.source;
  const fields: NonNullable<APIEmbed['fields']> = [
    { name: 'Channel', value: s.channelId ? `<#${s.channelId}>` : 'unknown', inline: true },
    { name: 'Author', value: s.authorId ? `<@${s.authorId}>` : 'unknown', inline: true },
    { name: 'Posted', value: s.postedAt ? `<t:${Math.floor(s.postedAt / 1000)}:f>` : 'unknown', inline: true },
    { name: 'Similarity', value: percent(item.confidence), inline: true },
    { name: 'Why it matched', value: truncate(explainMatch(item.reasons), discordLimits.fieldValue), inline: false },
  ];
  const embed: APIEmbed = {
    title: truncate(`#${rank} ${s.fileName ?? 'image'}`, discordLimits.title),
    url: jumpLink(s.guildId ?? '0', s.channelId ?? '0', s.messageId ?? '0'),
    description: s.caption ? truncate(s.caption, 300) : undefined,
    fields,
  };
  if (item.otherSources > 0) embed.footer = { text: `also posted ${item.otherSources} more time${item.otherSources === 1 ? '' : 's'}` };
  if (thumbnailUrl) embed.thumbnail = { url: thumbnailUrl };
  return embed;
}

/** Characters Discord counts towards the 6000 of a message. */
export function embedLength(embed: APIEmbed): number {
  let n = (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
  for (const field of embed.fields ?? []) n += field.name.length + field.value.length;
  return n;
}

/**
 * Keeps a message within Discord's limits: at most 10 embeds, and drops the captions, then the
 * reasons, then whole trailing embeds until the characters fit.
 */
export function fitEmbeds(embeds: APIEmbed[], contentLength = 0): APIEmbed[] {
  const out = embeds.slice(0, discordLimits.embedsPerMessage).map((e) => ({ ...e, fields: e.fields?.map((f) => ({ ...f })) }));
  const total = () => contentLength + out.reduce((n, e) => n + embedLength(e), 0);
  for (const e of out) if (total() > discordLimits.embedCharacters) delete e.description;
  for (const e of out) {
    if (total() <= discordLimits.embedCharacters) break;
    const why = e.fields?.find((f) => f.name === 'Why it matched');
    if (why) why.value = truncate(why.value, 80);
  }
  while (out.length > 1 && total() > discordLimits.embedCharacters) out.pop();
  return out;
}

export const pageButtonPrefix = 'sagasu:page:';

/** Previous / next buttons for a result session, or none when everything fits on one page. */
export function pageButtons(sessionId: string, page: number, pages: number): ActionRowBuilder<ButtonBuilder>[] {
  if (pages <= 1) return [];
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId(`${pageButtonPrefix}${sessionId}:${page - 1}`).setLabel('Previous').setStyle(ButtonStyle.Secondary).setDisabled(page <= 0),
      new ButtonBuilder().setCustomId(`${pageButtonPrefix}${sessionId}:${page + 1}`).setLabel(`More results (${page + 1}/${pages})`).setStyle(ButtonStyle.Primary).setDisabled(page >= pages - 1),
    ),
  ];
}

export function parsePageButton(customId: string): { sessionId: string; page: number } | undefined {
  if (!customId.startsWith(pageButtonPrefix)) return undefined;
  const [sessionId, page] = customId.slice(pageButtonPrefix.length).split(':');
  const n = Number(page);
  return sessionId && Number.isInteger(n) ? { sessionId, page: n } : undefined;
}

/** The plain answer when nothing passes the threshold. */
export function noMatchText(hidden: number): string {
  return hidden > 0
    ? `No confident match: ${hidden} weak candidate${hidden === 1 ? '' : 's'} fell below the confidence threshold, so none is shown.`
    : 'No match in the indexed channels of this server that you can see.';
}
