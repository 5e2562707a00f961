import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { GalleryItem } from '../../src/eval/retrieval-dataset.js';
import { SeededRandom, generateQuery, meaningfulLength, syntheticQueryTypes } from '../../src/eval/retrieval-queries.js';

/** A 200x300 page: four grey panels and dark blocks, so crops and flips differ visibly. */
async function page(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300">
    <rect width="200" height="300" fill="#fff"/>
    <rect x="10" y="10" width="180" height="130" fill="#bbb"/><rect x="20" y="20" width="40" height="60" fill="#222"/>
    <rect x="10" y="150" width="85" height="140" fill="#999"/><rect x="105" y="150" width="85" height="140" fill="#ddd"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const item: GalleryItem = {
  id: 'test/page.png',
  path: '/nonexistent/page.png',
  collection: 'test',
  frames: [
    { x: 10, y: 10, w: 180, h: 130 },
    { x: 10, y: 150, w: 85, h: 140 },
    { x: 0, y: 0, w: 5, h: 5 },
  ],
  texts: [
    { x: 120, y: 160, w: 30, h: 60, text: '夢がない' },
    { x: 20, y: 200, w: 10, h: 10, text: '…' },
  ],
};

const sizeOf = async (bytes: Buffer) => {
  const m = await sharp(bytes).metadata();
  return { width: m.width, height: m.height, format: m.format };
};

describe('SeededRandom', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = new SeededRandom('x');
    const b = new SeededRandom('x');
    const c = new SeededRandom('y');
    const seqA = [a.next(), a.next(), a.next()];
    assert.deepEqual([b.next(), b.next(), b.next()], seqA);
    assert.notDeepEqual([c.next(), c.next(), c.next()], seqA);
    assert.ok(seqA.every((v) => v >= 0 && v < 1));
  });
  it('shuffles into a permutation of the same values', () => {
    assert.deepEqual(new SeededRandom(3).shuffle([1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
  });
});

describe('meaningfulLength', () => {
  it('counts letters and digits only', () => {
    assert.equal(meaningfulLength('夢がない！…'), 4);
    assert.equal(meaningfulLength('...'), 0);
  });
});

describe('generateQuery', () => {
  it('makes the same bytes for the same seed, item and type', async () => {
    const bytes = await page();
    for (const type of syntheticQueryTypes) {
      const a = await generateQuery(type, item, bytes, 5);
      const b = await generateQuery(type, item, bytes, 5);
      assert.ok(a && b, type);
      assert.ok(a.bytes.equals(b.bytes), `${type} differs between runs`);
    }
  });
  it('re-compresses a smaller JPEG copy of the whole image', async () => {
    const q = (await generateQuery('recompressed', item, await page(), 1))!;
    const s = await sizeOf(q.bytes);
    assert.equal(s.format, 'jpeg');
    assert.ok(s.width! >= 70 && s.width! <= 120, String(s.width));
    assert.ok(Math.abs(s.height! / s.width! - 1.5) < 0.05);
  });
  it('crops about half the area', async () => {
    const q = (await generateQuery('crop-half', item, await page(), 1))!;
    const s = await sizeOf(q.bytes);
    const area = (s.width! * s.height!) / (200 * 300);
    assert.ok(area > 0.4 && area < 0.6, String(area));
  });
  it('cuts out one annotated panel that is not tiny', async () => {
    const q = (await generateQuery('panel', item, await page(), 1))!;
    const s = await sizeOf(q.bytes);
    assert.ok((s.width === 180 && s.height === 130) || (s.width === 85 && s.height === 140), `${s.width}x${s.height}`);
  });
  it('cuts out a text box with a margin, skipping boxes without enough letters', async () => {
    const q = (await generateQuery('bubble', item, await page(), 1))!;
    assert.match(q.note, /夢がない/);
    const s = await sizeOf(q.bytes);
    assert.deepEqual([s.width, s.height], [40, 78]); // 30x60 plus 15% each side, widened to whole pixels
  });
  it('skips panel and bubble queries for an image without annotations', async () => {
    const plain: GalleryItem = { id: 'x', path: '/x.png', collection: 'x' };
    assert.equal(await generateQuery('panel', plain, await page(), 1), undefined);
    assert.equal(await generateQuery('bubble', plain, await page(), 1), undefined);
  });
  it('mirrors for a flip, keeping the size', async () => {
    const q = (await generateQuery('flip', item, await page(), 1))!;
    assert.deepEqual(await sizeOf(q.bytes), { width: 200, height: 300, format: 'jpeg' });
  });
  it('puts a screenshot on a screen-sized PNG canvas larger than the image', async () => {
    const q = (await generateQuery('screenshot', item, await page(), 1))!;
    const s = await sizeOf(q.bytes);
    assert.equal(s.format, 'png');
    assert.ok([1080, 1366, 1920, 2560].includes(s.width!), String(s.width));
  });
  it('makes a phone photo with the long side resized to phone size', async () => {
    const q = (await generateQuery('phone-photo', item, await page(), 1))!;
    const s = await sizeOf(q.bytes);
    assert.equal(s.format, 'jpeg');
    assert.ok(s.height! >= 1000 && s.height! <= 1600, String(s.height));
  });
});
