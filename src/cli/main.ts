import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { SagasuError, isSagasuError } from '../errors.js';
import type { SourceName } from '../fusion/fuse.js';
import { Sagasu, readQueryFile, type SagasuOptions, type SearchHit, type SearchResult } from '../sagasu.js';
import { formatHitsText, hitToJson } from './format.js';
import { nonNegativeNumber, positiveInteger, reductionDimension, sourceList, weightList } from './options.js';
import { defaultReductionFitAfter } from '../indexes/vector-index.js';
import { registerBotCommands } from './bot-cli.js';
import { registerEvalCommand } from './eval-cli.js';
import { registerEvalOcrCommand } from './eval-ocr-cli.js';

/**
 * Exit codes scripts can rely on.
 * 0: everything asked for was done. 1: an unexpected failure. 2: bad usage (unknown option, missing
 * argument). 3: finished, but some inputs failed (listed on stderr / in the JSON). 4: nothing
 * matched what was named (e.g. `remove` of a path that was never indexed).
 */
export const exitCodes = { ok: 0, failure: 1, usage: 2, someFailed: 3, notFound: 4 } as const;

interface CommonOptions {
  data: string;
  scope: string;
  ocr: boolean;
}

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

const defaultOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
};

function withCommonOptions(command: Command): Command {
  return command
    .addOption(new Option('--data <dir>', 'data directory').env('SAGASU_DATA').default('./data'))
    .addOption(new Option('--scope <name>', 'collection to index into / search in').default('local'))
    .option('--no-ocr', 'skip OCR (visual and hash matching only)');
}

async function openEngine(options: CommonOptions, extra: Partial<SagasuOptions> = {}): Promise<Sagasu> {
  return Sagasu.open({ dataDir: options.data, scope: options.scope, ...(options.ocr ? {} : { ocr: false }), ...extra });
}

/** Builds the `sagasu` program. Each action parses, calls one library method and formats. */
export function buildProgram(output: Output = defaultOutput, setExitCode: (code: number) => void = (code) => (process.exitCode = code)): Command {
  const program = new Command('sagasu')
    .description('Find the original of a picture among indexed images, by its text and its look.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .configureOutput({ writeOut: output.out, writeErr: output.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  withCommonOptions(
    program
      .command('index')
      .description('index image files and folders (recursively); files that fail are reported and skipped')
      .argument('<paths...>', 'image files or folders')
      .option('--json', 'print the summary as JSON')
      .option('--jsonl', 'print one JSON line per file once it is committed ({"path","status","imageId"} or {"path","error"}), then {"summary": ...}')
      .option(
        '--reduce-vectors <dimension>',
        `store vectors reduced by PCA to this many values once the collection holds ${defaultReductionFitAfter.toLocaleString('en')} images, ` +
          'for large collections (e.g. 128; 0 = full vectors). Recorded in the data directory: later commands and the bot use it',
        reductionDimension,
      )
      .option('--no-regions', 'do not embed a grid of regions of each image (faster indexing, less memory; crops and single panels are then found less often)'),
  ).action(async (paths: string[], options: CommonOptions & { json?: boolean; jsonl?: boolean; reduceVectors?: number; regions: boolean }) => {
    const reduction = options.reduceVectors === undefined ? undefined : options.reduceVectors === 0 ? null : { dimension: options.reduceVectors, fitAfter: defaultReductionFitAfter };
    const engine = await openEngine(options, {
      ...(reduction === undefined ? {} : { vectorIndex: { reduction } }),
      ...(options.regions ? {} : { regionVectors: false }),
    });
    const bar = output.isTTY && !options.json && !options.jsonl ? new cliProgress.SingleBar({ stream: process.stderr, format: 'indexing [{bar}] {value}/{total} {file}', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    let started = false;
    try {
      const summary = await engine.indexPaths(paths, {
        onFile: (event) => {
          if (bar && !started) {
            bar.start(event.total, 0, { file: '' });
            started = true;
          }
          bar?.update(event.done, { file: event.path.slice(-40) });
          if (options.jsonl) {
            const line = event.error
              ? { path: event.path, error: { code: event.error.code, message: event.error.message } }
              : { path: event.path, status: event.result!.status, imageId: event.result!.imageId };
            output.out(JSON.stringify(line) + '\n');
            return;
          }
          if (event.error) {
            if (bar) bar.stop();
            output.err(`${event.path}: ${event.error.message}\n`);
            if (bar && event.done < event.total) bar.start(event.total, event.done, { file: '' });
          }
        },
      });
      bar?.stop();
      if (options.jsonl) output.out(JSON.stringify({ summary }) + '\n');
      else if (options.json) output.out(JSON.stringify(summary) + '\n');
      else {
        output.out(
          `indexed ${summary.total} file(s) in ${summary.seconds.toFixed(1)} s: ${summary.added} added, ${summary.linked} linked, ` +
            `${summary.unchanged} unchanged, ${summary.updated} updated, ${summary.failed.length} failed\n`,
        );
      }
      setExitCode(summary.failed.length > 0 ? exitCodes.someFailed : exitCodes.ok);
    } finally {
      bar?.stop();
      await engine.close();
    }
  });

  withCommonOptions(
    program
      .command('search')
      .description('search with query images (each is read and embedded), or with --text alone')
      .argument('[images...]', 'query image files')
      .option('--text <words>', 'words to search the OCR text for (alone, or added to each image query)')
      .option('--k <n>', 'number of results per query', positiveInteger, 10)
      .option('--sources <list>', 'comma-separated sources to use: visual,text,hash', sourceList)
      .option('--rrf-k <n>', 'reciprocal rank fusion constant (default 5)', nonNegativeNumber)
      .option('--weights <list>', 'per-source fusion weights (default visual=1,text=4,hash=4)', weightList)
      .option('--json', 'one JSON object per query per line: {"query", "hits": [{"path", "score", "reasons"}]}'),
  ).action(async (images: string[], options: CommonOptions & { text?: string; k: number; sources?: SourceName[]; json?: boolean; rrfK?: number; weights?: Partial<Record<SourceName, number>> }) => {
    if (images.length === 0 && !options.text?.trim()) {
      throw new CommanderError(exitCodes.usage, 'sagasu.usage', 'error: give at least one query image, or --text "words"');
    }
    const engine = await openEngine(options);
    let failures = 0;
    const report = (query: string, result: SearchResult | undefined, error?: SagasuError) => {
      if (options.json) {
        const line: Record<string, unknown> = { query, hits: result ? result.hits.map((hit) => hitToJson(hit, result.confidenceThreshold)) : [] };
        if (error) line.error = { code: error.code, message: error.message };
        output.out(JSON.stringify(line) + '\n');
      } else if (error) {
        output.err(`${query}: ${error.message}\n`);
      } else {
        output.out(formatHitsText(query, result!.hits as SearchHit[], result!.queryText, result!.confidenceThreshold));
      }
    };
    try {
      const fusion = { ...(options.rrfK !== undefined ? { k: options.rrfK } : {}), ...(options.weights ? { weights: options.weights } : {}) };
      const searchOptions = { k: options.k, scope: options.scope, fusion, ...(options.sources ? { sources: options.sources } : {}) };
      const queries: Array<{ label: string; image?: string }> = images.length > 0 ? images.map((image) => ({ label: image, image })) : [{ label: options.text! }];
      // One engine for every query: the model and OCR workers load once.
      for (const query of queries) {
        try {
          const result = await engine.search(
            { ...(query.image ? { image: readQueryFile(query.image) } : {}), ...(options.text ? { text: options.text } : {}) },
            searchOptions,
          );
          report(query.label, result);
        } catch (error) {
          if (!isSagasuError(error)) throw error;
          failures += 1;
          report(query.label, undefined, error);
        }
      }
      setExitCode(failures > 0 ? exitCodes.someFailed : exitCodes.ok);
    } finally {
      await engine.close();
    }
  });

  withCommonOptions(program.command('stats').description('what the data directory holds').option('--json', 'print as JSON')).action(
    async (options: CommonOptions & { json?: boolean }) => {
      const engine = await openEngine(options, { ocr: false });
      try {
        const stats = engine.stats();
        if (options.json) output.out(JSON.stringify(stats) + '\n');
        else {
          output.out(
            [
              `data directory: ${stats.dataDir}`,
              `images: ${stats.images} (from ${stats.sources} source(s), ${stats.scopes} scope(s))`,
              `indexed: text ${stats.indexes.text}, vector ${stats.indexes.vector}, hash ${stats.indexes.hash}, region vectors ${stats.indexes.region}`,
              `OCR text: ${stats.ocrCharacters} characters`,
              `model: ${stats.modelId} (${stats.dimension}-d)`,
              `vectors: ${
                stats.vectorReduction
                  ? `reduced by PCA to ${stats.vectorReduction.dimension} values from ${stats.vectorReduction.fitAfter} images on (now storing ${stats.vectorReduction.storedDimension})`
                  : 'full'
              }`,
              '',
            ].join('\n'),
          );
        }
      } finally {
        await engine.close();
      }
    },
  );

  withCommonOptions(
    program
      .command('remove')
      .description('remove indexed files (by the path given at index time) from the store and every index')
      .argument('<paths...>', 'indexed file paths'),
  ).action(async (paths: string[], options: CommonOptions) => {
    const engine = await openEngine(options, { ocr: false });
    try {
      let missing = 0;
      for (const path of paths) {
        const removed = engine.removeFile(path, options.scope);
        if (removed === 0) {
          missing += 1;
          output.err(`${path}: not indexed\n`);
        } else output.out(`removed ${path}\n`);
      }
      setExitCode(missing > 0 ? exitCodes.notFound : exitCodes.ok);
    } finally {
      await engine.close();
    }
  });

  registerBotCommands(program, output);
  registerEvalOcrCommand(program, output);
  registerEvalCommand(program, output);
  withCommonOptions(
    program
      .command('forget')
      .description('remove everything indexed from a Discord guild, channel or user (or a whole scope), from the store and every index')
      .option('--guild <id>', 'a guild id')
      .option('--channel <id>', 'a channel id')
      .option('--user <id>', 'the author of the messages')
      .option('--all-in-scope', 'everything in --scope'),
  ).action(async (options: CommonOptions & { guild?: string; channel?: string; user?: string; allInScope?: boolean }) => {
    if (!options.guild && !options.channel && !options.user && !options.allInScope) {
      throw new CommanderError(exitCodes.usage, 'sagasu.usage', 'error: name at least one of --guild, --channel, --user, --all-in-scope');
    }
    const engine = await openEngine(options, { ocr: false });
    try {
      const removed = engine.forget({
        ...(options.guild ? { guildId: options.guild } : {}),
        ...(options.channel ? { channelId: options.channel } : {}),
        ...(options.user ? { authorId: options.user } : {}),
        ...(options.allInScope ? { scope: options.scope } : {}),
      });
      output.out(`forgot ${removed} source(s)\n`);
      setExitCode(removed > 0 ? exitCodes.ok : exitCodes.notFound);
    } finally {
      await engine.close();
    }
  });

  withCommonOptions(
    program
      .command('backup')
      .description('write a consistent copy of the store: all a restore needs (the data directory must not be in use by another process)')
      .argument('<file>', 'where to write the copy (e.g. backup/sagasu.db)'),
  ).action(async (file: string, options: CommonOptions) => {
    const engine = await openEngine(options, { ocr: false });
    try {
      await engine.backup(file);
      output.out(`backed up ${engine.stats().images} image(s) to ${file}\n`);
    } finally {
      await engine.close();
    }
  });

  return program;
}

/** Runs the CLI; errors are caught here, once, and turned into a message and an exit code. */
export async function main(argv: string[], output: Output = defaultOutput): Promise<number> {
  let code: number = exitCodes.ok;
  // Libraries (tfjs, tesseract) may print to stdout; stdout belongs to results (--json).
  const log = console.log;
  console.log = (...args: unknown[]) => console.error(...args);
  try {
    await buildProgram(output, (c) => (code = c)).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return exitCodes.ok;
      if (error.code === 'sagasu.usage') output.err(error.message + '\n');
      return exitCodes.usage;
    }
    output.err(isSagasuError(error) ? `${error.message}\n` : `sagasu: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return exitCodes.failure;
  } finally {
    console.log = log;
  }
  return code;
}
