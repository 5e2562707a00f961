import { Option, type Command } from 'commander';
import { deployCommands, startBot } from '../bot/bot.js';
import { describeConfig, loadBotConfig } from '../bot/config.js';

interface BotCliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * Adds `sagasu bot` and `sagasu deploy-commands` to the program. Configuration comes from the
 * environment (see src/bot/config.ts); `--data` overrides SAGASU_DATA. Errors reach main().
 */
export function registerBotCommands(program: Command, output: BotCliOutput): void {
  program
    .command('bot')
    .description('run the Discord bot (DISCORD_TOKEN in the environment; see the README)')
    .addOption(new Option('--data <dir>', 'data directory').env('SAGASU_DATA').default('./data'))
    .option('--print-config', 'print the validated configuration (token hidden) and exit')
    .action(async (options: { data: string; printConfig?: boolean }) => {
      const config = loadBotConfig(process.env, { dataDir: options.data }, { requireToken: !options.printConfig });
      if (options.printConfig) {
        output.out(JSON.stringify(describeConfig(config), null, 2) + '\n');
        return;
      }
      const bot = await startBot(config);
      output.err(`sagasu bot running as ${bot.client.user?.tag ?? '?'}; Ctrl+C stops it\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      output.err('stopping: finishing the images being read…\n');
      await bot.stop();
    });

  program
    .command('deploy-commands')
    .description('register the bot commands with Discord: globally (may take a while to show) or to one guild (at once)')
    .option('--guild <id>', 'register to this guild only')
    .action(async (options: { guild?: string }) => {
      const config = loadBotConfig(process.env, {}, { requireToken: true });
      const result = await deployCommands(config, options.guild ? { guildId: options.guild } : {});
      output.out(`registered ${result.names.length} command(s) (${result.names.join(', ')}) ${result.scope === 'global' ? 'globally' : `to ${result.scope}`}\n`);
    });
}
