/**
 * Locates tesseract traineddata shipped in npm packages (`@tesseract.js-data/<lang>`) and joins
 * them into one folder, because tesseract.js takes a single `langPath` while npm puts each
 * language in its own package. Nothing is ever downloaded: without a local `langPath`
 * tesseract.js would try a CDN and, offline, hang forever.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SagasuError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The traineddata flavour used from the npm packages: smaller, faster and better for Japanese than plain `4.0.0`. */
export const TRAINEDDATA_FLAVOUR = '4.0.0_best_int';

export interface LanguageData {
  readonly lang: string;
  /** Version of the npm package the file comes from. */
  readonly packageVersion: string;
  /** Absolute path of `<lang>.traineddata.gz`. */
  readonly file: string;
}

/** Finds `<lang>.traineddata.gz` in `@tesseract.js-data/<lang>`; a clear NOT_FOUND error if it is missing. */
export function findLanguageData(lang: string): LanguageData {
  if (!/^[a-z_]+$/i.test(lang)) throw new SagasuError('INVALID_OPTION', `invalid tesseract language "${lang}"`);
  let packageJson: string;
  try {
    packageJson = require.resolve(`@tesseract.js-data/${lang}/package.json`);
  } catch (cause) {
    throw new SagasuError('NOT_FOUND', `traineddata for "${lang}" is not installed: add the npm package @tesseract.js-data/${lang}`, { cause });
  }
  const file = join(dirname(packageJson), TRAINEDDATA_FLAVOUR, `${lang}.traineddata.gz`);
  if (!existsSync(file)) throw new SagasuError('NOT_FOUND', `traineddata file missing: ${file} (reinstall @tesseract.js-data/${lang})`);
  const packageVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? 'unknown';
  return { lang, packageVersion, file };
}

/** The installed tesseract.js version, for engine ids. */
export function tesseractVersion(): string {
  const pkg = require.resolve('tesseract.js/package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown';
}

/**
 * Returns a folder under the OS temp dir holding `<lang>.traineddata.gz` links for every language.
 * The name hashes the source files' paths, so a moved or upgraded node_modules gets a fresh folder.
 * Safe when several processes race: each builds a private folder and renames it into place;
 * a loser of the race uses the winner's folder.
 */
export function prepareLangPath(languages: readonly LanguageData[], root: string = tmpdir()): string {
  const key = createHash('sha256')
    .update(languages.map((l) => `${l.lang}@${l.packageVersion}:${l.file}`).sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
  const dir = join(root, `sagasu-tessdata-${key}`);
  const complete = (d: string): boolean => languages.every((l) => existsSync(join(d, `${l.lang}.traineddata.gz`)));
  if (complete(dir)) return dir;

  const staging = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(staging, { recursive: true });
  try {
    for (const l of languages) {
      const target = join(staging, `${l.lang}.traineddata.gz`);
      try {
        symlinkSync(l.file, target);
      } catch {
        copyFileSync(l.file, target); // where symlinks are not allowed (some Windows setups)
      }
    }
    try {
      renameSync(staging, dir);
      return dir;
    } catch {
      // Another process won the race (or a stale, incomplete folder sits there).
      if (complete(dir)) return dir;
      // Keep our private copy instead of deleting a folder another process may be using.
      const own = `${dir}-${process.pid}`;
      rmSync(own, { recursive: true, force: true });
      renameSync(staging, own);
      return own;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const gunzipAsync = promisify(gunzip);

/**
 * Checks that a traineddata file is whole and looks like one (gzip intact, offset table sane).
 * Needed because tesseract.js 7, given a damaged file, answers the failed init twice and the
 * second answer throws inside its message handler: an uncaught exception that ends the process.
 */
export async function validateTraineddata(file: string, gzip: boolean): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(file);
    if (gzip) data = await gunzipAsync(data);
  } catch (cause) {
    throw new SagasuError('OCR_FAILED', `traineddata file ${file} cannot be read${gzip ? ' as gzip' : ''}: ${String(cause)}`, { cause });
  }
  // Layout (tesseract's TessdataManager): int32 entry count, then one int64 offset per entry (-1 = absent).
  const problem = ((): string | null => {
    if (data.length < 12) return 'too short';
    const entries = data.readInt32LE(0);
    if (entries < 1 || entries > 1000 || 4 + 8 * entries > data.length) return `bad entry count ${entries}`;
    let present = 0;
    for (let i = 0; i < entries; i++) {
      const offset = data.readBigInt64LE(4 + 8 * i);
      if (offset === -1n) continue;
      if (offset < BigInt(4 + 8 * entries) || offset > BigInt(data.length)) return `offset ${offset} out of range`;
      present++;
    }
    return present === 0 ? 'no components' : null;
  })();
  if (problem) throw new SagasuError('OCR_FAILED', `traineddata file ${file} is damaged or not a traineddata file (${problem})`);
}
