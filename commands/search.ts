import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, SlashCommand } from '../src/bot/context.js';
import { isImageAttachment } from '../src/bot/message-images.js';
import { runSearch } from '../src/bot/results.js';

export const data = new SlashCommandBuilder()
  .setName('search')
  .setDescription('Find where a picture was posted in this server, by its look and its text')
  .setContexts(InteractionContextType.Guild)
  .addAttachmentOption((o) => o.setName('image').setDescription('The picture (or a crop, or a photo of it) to look for'))
  .addStringOption((o) => o.setName('text').setDescription('Words written in the picture (alone, or with an image)').setMaxLength(300))
  .addIntegerOption((o) => o.setName('k').setDescription('How many results at most (default 10)').setMinValue(1).setMaxValue(25));

export async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  if (!interaction.inCachedGuild()) {
    await interaction.reply({ content: 'Searches work inside a server the bot is in.', flags: MessageFlags.Ephemeral });
    return;
  }
  const attachment = interaction.options.getAttachment('image');
  const text = interaction.options.getString('text') ?? undefined;
  const k = Math.min(interaction.options.getInteger('k') ?? context.config.maxResults, context.config.maxResults);
  if (!attachment && !text?.trim()) {
    await interaction.reply({ content: 'Give an `image`, some `text`, or both.', flags: MessageFlags.Ephemeral });
    return;
  }
  if (attachment && !isImageAttachment(attachment)) {
    await interaction.reply({ content: `${attachment.name} is not an image sagasu can read (PNG, JPEG, WebP, GIF, AVIF, TIFF; not SVG).`, flags: MessageFlags.Ephemeral });
    return;
  }
  await runSearch(interaction, context, {
    images: attachment ? [{ url: attachment.url, size: attachment.size, fileName: attachment.name, contentType: attachment.contentType }] : [],
    ...(text ? { text } : {}),
    k,
  });
}

export const search: SlashCommand = { kind: 'slash', data, execute };
