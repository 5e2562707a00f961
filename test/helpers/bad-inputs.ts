/**
 * The bad-input corpus: files people really post or point the indexer at by mistake, each with
 * the outcome sagasu must give. Generated (small, deterministic) rather than committed, because
 * some are large on disk (a 50 MiB file) or special (a dangling link, an unreadable file).
 *
 *   writeBadInputCorpus(dir) -> [{ file, expect }]
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { SagasuErrorCode } from '../../src/errors.js';

export type Expectation = { indexed: true } | { code: SagasuErrorCode; message: RegExp };

export interface CorpusEntry {
  file: string;
  why: string;
  expect: Expectation;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real decompression bomb: a valid 1-bit PNG of side x side white pixels, about 110 KB for 30000. */
export function bombPng(side: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.writeUInt8(1, 8); // bit depth
  header.writeUInt8(0, 9); // greyscale
  const rowBytes = 1 + Math.ceil(side / 8);
  const raw = Buffer.alloc(rowBytes * side, 0xff);
  for (let row = 0; row < side; row++) raw[row * rowBytes] = 0; // filter byte "none"
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Sets every EXIF Orientation tag value in a JPEG to 65535 (no such orientation exists). */
function absurdOrientation(jpeg: Buffer): Buffer {
  const out = Buffer.from(jpeg);
  const exif = out.indexOf(Buffer.from('Exif\0\0', 'binary'));
  if (exif < 0) throw new Error('no EXIF block to corrupt');
  const tiff = exif + 6;
  const little = out.toString('ascii', tiff, tiff + 2) === 'II';
  const tag = little ? Buffer.from([0x12, 0x01]) : Buffer.from([0x01, 0x12]);
  const at = out.indexOf(tag, tiff);
  if (at < 0) throw new Error('no Orientation tag');
  out.writeUInt16BE(0xffff, at + 8);
  return out;
}

async function picture(seed: number, width = 120, height = 90): Promise<Sharp> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * (seed * 31 + 7) + (i >> 7) * seed) % 251;
  return sharp(data, { raw: { width, height, channels: 3 } });
}

export async function writeBadInputCorpus(dir: string): Promise<CorpusEntry[]> {
  mkdirSync(dir, { recursive: true });
  const entries: CorpusEntry[] = [];
  const add = (name: string, bytes: Buffer | string, why: string, expect: Expectation) => {
    writeFileSync(join(dir, name), bytes);
    entries.push({ file: join(dir, name), why, expect });
  };
  const jpeg = await (await picture(1)).jpeg().toBuffer();
  const png = await (await picture(2)).png().toBuffer();

  add('zero-bytes.jpg', Buffer.alloc(0), 'an empty file', { code: 'EMPTY_INPUT', message: /the input is empty \(0 bytes\)/ });
  add('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'a JPEG cut in half', { code: 'CORRUPT_IMAGE', message: /could not be decoded/ });
  add('truncated.png', png.subarray(0, Math.floor(png.length / 2)), 'a PNG cut in half', { code: 'CORRUPT_IMAGE', message: /could not be decoded/ });
  add('png-named.jpg', png, 'a PNG with a .jpg name (content decides)', { indexed: true });
  add('text-named.jpg', 'These are words, not pixels.\n'.repeat(20), 'a text file named .jpg', {
    code: 'UNSUPPORTED_FORMAT',
    message: /not an image in a supported format/,
  });
  add('bomb-30000x30000.png', bombPng(30000), 'a decompression bomb: 900 megapixels in ~110 KB', {
    code: 'TOO_LARGE',
    message: /more pixels than allowed \(possible decompression bomb\)/,
  });
  add('one-pixel.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer(), 'a 1x1 image', {
    indexed: true,
  });
  add('sixteen-bit.tiff', await (await picture(3)).toColourspace('rgb16').tiff().toBuffer(), 'a 16-bit TIFF', { indexed: true });
  add('cmyk.jpg', await (await picture(4)).toColourspace('cmyk').jpeg().toBuffer(), 'a CMYK JPEG', { indexed: true });
  const frames = await Promise.all([5, 6, 7].map(async (seed) => (await picture(seed, 60, 40)).png().toBuffer()));
  add('animated.gif', await sharp(frames, { join: { animated: true } }).gif({ loop: 0 }).toBuffer(), 'an animated GIF', { indexed: true });
  add('animated.webp', await sharp(frames, { join: { animated: true } }).webp({ loop: 0 }).toBuffer(), 'an animated WebP', { indexed: true });
  add(
    'external.svg',
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"><image xlink:href="file:///etc/passwd" width="100" height="100"/></svg>',
    'an SVG referencing a local file',
    { code: 'UNSUPPORTED_FORMAT', message: /SVG images are not accepted/ },
  );
  const exifJpeg = await (await picture(8)).jpeg().withExif({ IFD0: { Orientation: '6', ImageDescription: 'x'.repeat(20_000) } }).toBuffer();
  add('absurd-exif.jpg', absurdOrientation(exifJpeg), 'EXIF with orientation 65535 and a 20 KB description', { indexed: true });
  // 50 MiB: a valid JPEG followed by padding (decoders stop at the end-of-image marker).
  const big = Buffer.alloc(50 * 1024 * 1024);
  (await (await picture(9)).jpeg().toBuffer()).copy(big);
  add('fifty-mebibytes.jpg', big, 'a 50 MiB file', { indexed: true });
  add('ファイル 名 é.png', await (await picture(10)).png().toBuffer(), 'a name with spaces and non-ASCII characters', { indexed: true });

  symlinkSync(join(dir, 'nowhere.png'), join(dir, 'dangling-link.png'));
  entries.push({ file: join(dir, 'dangling-link.png'), why: 'a link to nothing', expect: { code: 'NOT_FOUND', message: /no such file/ } });
  add('unreadable.png', await (await picture(11)).png().toBuffer(), 'a file without read permission', { indexed: true });
  chmodSync(join(dir, 'unreadable.png'), 0o000);
  // root reads anything: only an ordinary user sees the permission error.
  if (process.getuid?.() !== 0) entries[entries.length - 1]!.expect = { code: 'NOT_FOUND', message: /cannot read .*EACCES/ };
  return entries;
}
