import { createHash } from 'node:crypto';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import sharpPhash from 'sharp-phash';
import { SagasuError } from '../errors.js';
import type { DecodedImage } from '../types.js';

// sharp-phash is CommonJS with an ES-style default in its typings: at run time the default import is the function.
const phash = sharpPhash as unknown as typeof sharpPhash.default;

/** Formats sagasu reads. SVG is refused on purpose: it can reference external files and scripts. */
export const supportedFormats = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const;

export interface DecodeOptions {
  /** Refuse inputs with more pixels than this (width x height of the first frame): decompression bombs. Default 100 MP. */
  maxInputPixels?: number;
  /** Refuse inputs larger than this many bytes. Default 64 MiB. */
  maxInputBytes?: number;
  /** Downscale so the longer side is at most this many pixels (never upscale). Default 2048. */
  maxSide?: number;
}

export const defaultDecodeOptions: Required<DecodeOptions> = {
  maxInputPixels: 100_000_000,
  maxInputBytes: 64 * 1024 * 1024,
  maxSide: 2048,
};

export interface DecodedWithHashes {
  image: DecodedImage;
  /** Hex SHA-256 of the bytes as given (identifies exact re-posts). */
  sha256: string;
  /** 16 hex digits: 64-bit DCT perceptual hash of the oriented image (near-duplicates). */
  phash: string;
}

const SVG_OR_XML = /^\s*(<\?xml|<svg|<!doctype svg|<!--)/i;

/** Refuses what must never reach sharp, before it parses anything. */
function refuseBeforeParsing(bytes: Buffer, maxInputBytes: number): void {
  if (bytes.length === 0) throw new SagasuError('EMPTY_INPUT', 'the input is empty (0 bytes)');
  if (bytes.length > maxInputBytes) {
    throw new SagasuError(
      'TOO_LARGE',
      `the input is ${formatBytes(bytes.length)}, over the limit of ${formatBytes(maxInputBytes)}`,
    );
  }
  const head = bytes.subarray(0, 512).toString('utf8');
  if (SVG_OR_XML.test(head) || /<svg[\s>]/i.test(head)) {
    throw new SagasuError('UNSUPPORTED_FORMAT', 'SVG images are not accepted (they can reference external files)');
  }
}

/** Maps sharp's/libvips' messages to codes a caller can act on. */
function translateSharpError(error: unknown): SagasuError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return new SagasuError('TOO_LARGE', 'the image has more pixels than allowed (possible decompression bomb)', { cause: error });
  }
  if (/unsupported image format/i.test(message)) {
    return new SagasuError('UNSUPPORTED_FORMAT', 'not an image in a supported format (' + supportedFormats.join(', ') + ')', {
      cause: error,
    });
  }
  return new SagasuError('CORRUPT_IMAGE', `the image could not be decoded (${message.split('\n')[0]})`, { cause: error });
}

/**
 * Decodes image bytes into normalised RGB: first frame only, EXIF orientation applied,
 * sRGB, alpha flattened onto white (transparent stickers keep their look), 8 bits per channel,
 * longer side capped. Also hashes the bytes and the picture.
 */
export async function decodeImage(bytes: Buffer, options: DecodeOptions = {}): Promise<DecodedWithHashes> {
  const { maxInputPixels, maxInputBytes, maxSide } = { ...defaultDecodeOptions, ...options };
  refuseBeforeParsing(bytes, maxInputBytes);

  // failOn 'error' rather than the default 'warning': a truncated JPEG is refused, not half-decoded into grey.
  const open = () => sharp(bytes, { limitInputPixels: maxInputPixels, failOn: 'error', pages: 1, page: 0 });
  let metadata: Metadata;
  try {
    metadata = await open().metadata();
  } catch (error) {
    throw translateSharpError(error);
  }
  const format = normaliseFormat(metadata);
  if (format === 'svg') {
    throw new SagasuError('UNSUPPORTED_FORMAT', 'SVG images are not accepted (they can reference external files)');
  }
  if (!(supportedFormats as readonly string[]).includes(format)) {
    throw new SagasuError('UNSUPPORTED_FORMAT', `images in ${format} format are not supported (${supportedFormats.join(', ')})`);
  }
  if (!metadata.width || !metadata.height) throw new SagasuError('CORRUPT_IMAGE', 'the image has no dimensions');
  // sharp counts pixels per frame; check here too so the message is the same for every format.
  if (metadata.width * (metadata.pageHeight ?? metadata.height) > maxInputPixels) {
    throw new SagasuError('TOO_LARGE', 'the image has more pixels than allowed (possible decompression bomb)');
  }

  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await open()
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw translateSharpError(error);
  }
  if (raw.info.channels !== 3) {
    throw new SagasuError('CORRUPT_IMAGE', `unexpected channel count ${raw.info.channels} after normalisation`);
  }

  const oriented = (metadata.orientation ?? 1) >= 5; // orientations 5-8 swap width and height
  const image: DecodedImage = {
    data: raw.data,
    width: raw.info.width,
    height: raw.info.height,
    channels: 3,
    original: {
      width: oriented ? metadata.height : metadata.width,
      height: oriented ? metadata.width : metadata.height,
      format,
      bytes: bytes.length,
    },
  };
  return {
    image,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    phash: await perceptualHash(image),
  };
}

/** 64-bit DCT perceptual hash (sharp-phash) of a decoded image, as 16 hex digits. */
export async function perceptualHash(image: DecodedImage): Promise<string> {
  const bits = await phash(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  return BigInt('0b' + bits)
    .toString(16)
    .padStart(16, '0');
}

function normaliseFormat(metadata: Metadata): string {
  const format = String(metadata.format ?? 'unknown');
  // sharp reports AVIF as heif; only the AV1 flavour is decodable with the prebuilt libvips.
  if (format === 'heif') return metadata.compression === 'av1' ? 'avif' : 'heic';
  if (format === 'jpg') return 'jpeg';
  return format;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`;
}
