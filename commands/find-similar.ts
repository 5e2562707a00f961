import { ApplicationCommandType, ContextMenuCommandBuilder, InteractionContextType, MessageFlags, type MessageContextMenuCommandInteraction } from 'discord.js';
import type { BotContext, MessageMenuCommand } from '../src/bot/context.js';
import { imagesOf } from '../src/bot/message-images.js';
import { runSearch } from '../src/bot/results.js';

export const data = new ContextMenuCommandBuilder().setName('Find similar').setType(ApplicationCommandType.Message).setContexts(InteractionContextType.Guild);

export async function execute(interaction: MessageContextMenuCommandInteraction, context: BotContext): Promise<void> {
  if (!interaction.inCachedGuild()) {
    await interaction.reply({ content: 'This works inside a server the bot is in.', flags: MessageFlags.Ephemeral });
    return;
  }
  const target = interaction.targetMessage;
  const images = imagesOf(target);
  if (images.length === 0) {
    await interaction.reply({ content: 'That message has no image or image link to search with.', flags: MessageFlags.Ephemeral });
    return;
  }
  await runSearch(interaction, context, {
    images: images.slice(0, 4).map((i) => ({ url: i.url, size: i.size, fileName: i.fileName, contentType: i.contentType })),
    k: context.config.maxResults,
    // The message itself is trivially its own best match; other posts of the same picture are the point.
    excludeMessageIds: new Set([target.id]),
  });
}

export const findSimilar: MessageMenuCommand = { kind: 'message-menu', data, execute };
