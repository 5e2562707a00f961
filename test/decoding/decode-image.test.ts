import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { decodeImage, perceptualHash } from '../../src/decoding/decode-image.js';
import { SagasuError } from '../../src/errors.js';
import { hammingDistance } from '../../src/indexes/hash-index.js';

/** A 40x20 image: left half red, right half blue, so orientation changes are visible in the pixels. */
async function twoTone(): Promise<Sharp> {
  const left = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#ff0000' } }).png().toBuffer();
  return sharp({ create: { width: 40, height: 20, channels: 3, background: '#0000ff' } }).composite([
    { input: left, left: 0, top: 0 },
  ]);
}

function pixel(image: { data: Buffer; width: number }, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SagasuError, `expected a SagasuError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, /^sagasu: /);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('decodeImage', () => {
  it('decodes every supported format to 8-bit RGB with its original size and format', async () => {
    const base = await twoTone();
    const encodings: Array<[string, Buffer]> = [
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['png', await base.clone().png().toBuffer()],
      ['webp', await base.clone().webp().toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
      ['avif', await base.clone().avif().toBuffer()],
      ['tiff', await base.clone().tiff().toBuffer()],
    ];
    for (const [format, bytes] of encodings) {
      const { image } = await decodeImage(bytes);
      assert.deepEqual(
        { width: image.width, height: image.height, channels: image.channels, length: image.data.length, original: image.original },
        { width: 40, height: 20, channels: 3, length: 40 * 20 * 3, original: { width: 40, height: 20, format, bytes: bytes.length } },
        format,
      );
    }
  });

  it('applies EXIF orientation', async () => {
    // Orientation 6 means "rotate 90 degrees clockwise to display": red (left) ends up on top.
    const bytes = await (await twoTone()).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const { image } = await decodeImage(bytes);
    assert.deepEqual([image.width, image.height], [20, 40]);
    assert.deepEqual(image.original, { width: 20, height: 40, format: 'jpeg', bytes: bytes.length });
    const [r, , b] = pixel(image, 10, 5);
    assert.ok(r > 200 && b < 60, `top should be red, got ${r},${b}`);
  });

  it('takes the first frame of an animated GIF and WebP', async () => {
    const frame = (colour: string) =>
      sharp({ create: { width: 10, height: 10, channels: 3, background: colour } }).png().toBuffer();
    const frames = [await frame('#00ff00'), await frame('#ff0000'), await frame('#0000ff')];
    for (const format of ['gif', 'webp'] as const) {
      const animated = await sharp(frames, { join: { animated: true } })[format]({ loop: 0 }).toBuffer();
      assert.equal((await sharp(animated, { pages: -1 }).metadata()).pages, 3);
      const { image } = await decodeImage(animated);
      assert.deepEqual([image.width, image.height], [10, 10]);
      const [r, g] = pixel(image, 5, 5);
      assert.ok(g > 200 && r < 60, `${format}: first frame is green, got r=${r} g=${g}`);
    }
  });

  it('flattens transparency onto white and converts grey and 16-bit input to 8-bit RGB', async () => {
    const transparent = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    assert.deepEqual(pixel((await decodeImage(transparent)).image, 1, 1), [255, 255, 255]);

    const grey16 = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .greyscale()
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const { image } = await decodeImage(grey16);
    assert.equal(image.data.length, 4 * 4 * 3);
    const [r, g, b] = pixel(image, 0, 0);
    assert.ok(Math.abs(r - 128) <= 2 && r === g && g === b, `grey stays grey, got ${r},${g},${b}`);
  });

  it('downscales so the longer side fits maxSide, never upscales', async () => {
    const bytes = await sharp({ create: { width: 3000, height: 1500, channels: 3, background: '#123456' } }).png().toBuffer();
    const { image } = await decodeImage(bytes, { maxSide: 1000 });
    assert.deepEqual([image.width, image.height], [1000, 500]);
    assert.deepEqual([image.original.width, image.original.height], [3000, 1500]);
    const small = await decodeImage(await (await twoTone()).png().toBuffer(), { maxSide: 1000 });
    assert.deepEqual([small.image.width, small.image.height], [40, 20]);
  });

  it('refuses zero bytes', async () => {
    await rejectsWith(decodeImage(Buffer.alloc(0)), 'EMPTY_INPUT', /empty \(0 bytes\)/);
  });

  it('refuses SVG, with or without an XML declaration', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>';
    await rejectsWith(decodeImage(Buffer.from(svg)), 'UNSUPPORTED_FORMAT', /SVG images are not accepted/);
    await rejectsWith(decodeImage(Buffer.from('<?xml version="1.0"?>\n' + svg)), 'UNSUPPORTED_FORMAT', /SVG/);
  });

  it('refuses text and other non-images', async () => {
    await rejectsWith(decodeImage(Buffer.from('hello, this is not a picture\n')), 'UNSUPPORTED_FORMAT', /not an image/);
    await rejectsWith(decodeImage(Buffer.from('%PDF-1.4\n%âãÏÓ\n')), 'UNSUPPORTED_FORMAT', /not an image/);
  });

  it('refuses a truncated JPEG and a truncated PNG as corrupt', async () => {
    const noisy = sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 256)), {
      raw: { width: 64, height: 64, channels: 3 },
    });
    const jpeg = await noisy.clone().jpeg().toBuffer();
    const png = await noisy.clone().png().toBuffer();
    await rejectsWith(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2))), 'CORRUPT_IMAGE', /could not be decoded/);
    await rejectsWith(decodeImage(png.subarray(0, Math.floor(png.length / 2))), 'CORRUPT_IMAGE', /could not be decoded/);
  });

  it('refuses images over the pixel limit before decoding them', async () => {
    const big = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000' } }).png().toBuffer();
    await rejectsWith(decodeImage(big, { maxInputPixels: 1_000_000 }), 'TOO_LARGE', /more pixels than allowed/);
  });

  it('refuses inputs over the byte limit', async () => {
    await rejectsWith(decodeImage(Buffer.alloc(2048, 1), { maxInputBytes: 1024 }), 'TOO_LARGE', /2048 bytes, over the limit of 1024 bytes/);
  });

  it('hashes the bytes with SHA-256', async () => {
    const bytes = await (await twoTone()).png().toBuffer();
    const { sha256 } = await decodeImage(bytes);
    const { createHash } = await import('node:crypto');
    assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('perceptualHash', () => {
  it('is 16 hex digits, near for a re-encoded copy and far for a mirrored picture', async () => {
    const base = sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => ((i % 192) * 5 + Math.floor(i / 1500) * 40) % 256)), {
      raw: { width: 64, height: 64, channels: 3 },
    });
    const a = await decodeImage(await base.clone().png().toBuffer());
    const b = await decodeImage(await base.clone().resize(48).jpeg({ quality: 60 }).toBuffer());
    assert.match(a.phash, /^[0-9a-f]{16}$/);
    assert.ok(hammingDistance(a.phash, b.phash) <= 6, `re-encoded distance ${hammingDistance(a.phash, b.phash)}`);
    const flipped = await decodeImage(await base.clone().flop().png().toBuffer());
    assert.ok(hammingDistance(a.phash, flipped.phash) >= 16, `mirrored distance ${hammingDistance(a.phash, flipped.phash)}`);
    assert.equal(await perceptualHash(a.image), a.phash);
  });
});
