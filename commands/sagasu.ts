import {
  ChannelType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type GuildBasedChannel,
} from 'discord.js';
import type { BotContext, SlashCommand } from '../src/bot/context.js';

const textChannelTypes = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread] as const;

export const data = new SlashCommandBuilder()
  .setName('sagasu')
  .setDescription('Choose which channels sagasu indexes')
  .setContexts(InteractionContextType.Guild)
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommandGroup((group) =>
    group
      .setName('channel')
      .setDescription('Indexed channels')
      .addSubcommand((c) =>
        c
          .setName('add')
          .setDescription('Index every image posted in a channel from now on')
          .addChannelOption((o) => o.setName('channel').setDescription('Default: this channel').addChannelTypes(...textChannelTypes)),
      )
      .addSubcommand((c) =>
        c
          .setName('remove')
          .setDescription('Stop indexing a channel and forget its images')
          .addChannelOption((o) => o.setName('channel').setDescription('Default: this channel').addChannelTypes(...textChannelTypes)),
      )
      .addSubcommand((c) => c.setName('list').setDescription('List the indexed channels')),
  )
  .addSubcommand((c) =>
    c
      .setName('backfill')
      .setDescription("Index an indexed channel's history (resumes after a restart)")
      .addChannelOption((o) => o.setName('channel').setDescription('Default: this channel').addChannelTypes(...textChannelTypes)),
  )
  .addSubcommand((c) => c.setName('status').setDescription('What is indexed and what is waiting'));

function pickChannel(interaction: ChatInputCommandInteraction<'cached'>): GuildBasedChannel | null {
  // The raw id is enough: the guild's channels (and active threads) are cached.
  const chosen = interaction.options.get('channel')?.value;
  return typeof chosen === 'string' ? (interaction.guild.channels.cache.get(chosen) ?? null) : interaction.channel;
}

export async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  if (!interaction.inCachedGuild()) {
    await interaction.reply({ content: 'This works inside a server the bot is in.', flags: MessageFlags.Ephemeral });
    return;
  }
  // Checked here too: the default permission can be widened by a server, but the command changes what everyone's posts feed.
  if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
    await interaction.reply({ content: 'You need the Manage Server permission to change what sagasu indexes.', flags: MessageFlags.Ephemeral });
    return;
  }
  const { state, engine } = context;
  const group = interaction.options.getSubcommandGroup(false);
  const sub = interaction.options.getSubcommand();
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });

  if (group === 'channel' && sub === 'list') {
    const channels = state.channels(interaction.guildId);
    await reply(channels.length ? `Indexed channels: ${channels.map((c) => `<#${c.channelId}>`).join(', ')}` : 'No channel is indexed yet: `/sagasu channel add`.');
    return;
  }
  if (sub === 'status') {
    const channels = state.channels(interaction.guildId).length;
    const sources = engine.store.findSources({ scope: interaction.guildId }).length;
    await reply(`${channels} indexed channel${channels === 1 ? '' : 's'}, ${sources} indexed image post${sources === 1 ? '' : 's'}; ${context.queue.size} waiting, ${context.queue.active} being read.`);
    return;
  }
  const channel = pickChannel(interaction);
  if (!channel || !channel.isTextBased()) {
    await reply('Pick a text channel or thread.');
    return;
  }
  if (group === 'channel' && sub === 'add') {
    const added = state.addChannel({ guildId: interaction.guildId, channelId: channel.id, addedBy: interaction.user.id });
    await reply(added ? `Images posted in <#${channel.id}> will be indexed. Run \`/sagasu backfill\` to index its history too.` : `<#${channel.id}> is indexed already.`);
    return;
  }
  if (group === 'channel' && sub === 'remove') {
    const removed = state.removeChannel(channel.id);
    const forgotten = engine.forget({ guildId: interaction.guildId, channelId: channel.id });
    await reply(removed || forgotten ? `<#${channel.id}> is no longer indexed; ${forgotten} image post${forgotten === 1 ? '' : 's'} forgotten.` : `<#${channel.id}> was not indexed.`);
    return;
  }
  if (sub === 'backfill') {
    if (!state.isIndexed(channel.id)) {
      await reply(`<#${channel.id}> is not indexed: \`/sagasu channel add\` it first.`);
      return;
    }
    if (context.backfill.isRunning(channel.id)) {
      await reply(`A backfill of <#${channel.id}> is already running.`);
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const report = interaction.channel && interaction.channel.isTextBased() ? interaction.channel : null;
    await context.backfill.start(channel, interaction.user.id, report);
    await interaction.editReply(`Backfill of <#${channel.id}> started; progress is shown in a message ${report ? `in <#${report.id}>` : 'in the log'}.`);
  }
}

export const sagasu: SlashCommand = { kind: 'slash', data, execute };
