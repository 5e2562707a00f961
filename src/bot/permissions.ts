import { ChannelType, PermissionFlagsBits, type Guild, type GuildBasedChannel, type GuildMember } from 'discord.js';
import type { SourceRecord } from '../store/sqlite-store.js';

/** What the visibility rule needs to know about the channel an image was posted in. */
export interface ChannelFacts {
  guildId: string;
  /** Whether the asking member may view the channel and read its history (threads: their parent, plus private-thread rules). */
  memberCanView: boolean;
  /** NSFW (age-restricted); a thread takes its parent's flag. */
  nsfw: boolean;
}

/**
 * The privacy rule, in one place: a result is shown only from the asking guild, from a channel the
 * member can view (checked at query time), and never from an NSFW channel into a non-NSFW one.
 * An unknown channel (deleted, or not cached) shows nothing.
 */
export function isSourceVisible(source: Pick<SourceRecord, 'guildId' | 'channelId'>, facts: ChannelFacts | undefined, query: { guildId: string; channelNsfw: boolean }): boolean {
  if (!facts || source.guildId !== query.guildId || facts.guildId !== query.guildId) return false;
  if (!facts.memberCanView) return false;
  if (facts.nsfw && !query.channelNsfw) return false;
  return true;
}

/** A thread's flags and permissions come from its parent. */
export function isChannelNsfw(channel: GuildBasedChannel | null | undefined): boolean {
  if (!channel) return false;
  if (channel.isThread()) return Boolean(channel.parent && 'nsfw' in channel.parent && channel.parent.nsfw);
  return 'nsfw' in channel && Boolean(channel.nsfw);
}

/** Whether the member may see messages of the channel: View Channel and Read Message History. */
export function memberCanView(channel: GuildBasedChannel, member: GuildMember): boolean {
  const permissions = channel.permissionsFor(member);
  if (!permissions?.has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.ReadMessageHistory])) return false;
  if (channel.type === ChannelType.PrivateThread) {
    // Members of a private thread are not all cached; only those who may manage threads see it surely.
    return permissions.has(PermissionFlagsBits.ManageThreads) || channel.members.cache.has(member.id) || channel.ownerId === member.id;
  }
  return true;
}

/**
 * Builds the engine's `filterSource` for one query: facts per channel are worked out once and
 * remembered for the query.
 */
export function createSourceFilter(guild: Guild, member: GuildMember, queryChannel: GuildBasedChannel | null, excludeMessageIds: ReadonlySet<string> = new Set()): (source: SourceRecord) => boolean {
  const facts = new Map<string, ChannelFacts | undefined>();
  const query = { guildId: guild.id, channelNsfw: isChannelNsfw(queryChannel) };
  return (source) => {
    if (source.kind !== 'discord' || !source.channelId) return false;
    if (source.messageId && excludeMessageIds.has(source.messageId)) return false;
    if (!facts.has(source.channelId)) {
      const channel = guild.channels.cache.get(source.channelId);
      facts.set(source.channelId, channel ? { guildId: guild.id, memberCanView: memberCanView(channel, member), nsfw: isChannelNsfw(channel) } : undefined);
    }
    return isSourceVisible(source, facts.get(source.channelId), query);
  };
}
