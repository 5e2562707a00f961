import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { cropDecoded, findContentArea } from '../../src/decoding/content-area.js';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { fixture } from '../helpers/paths.js';

/** A desktop-app screenshot: dark canvas, a side panel and a header with lines of "text", the fixture page shown at (500, 120). */
async function screenshotOfPage(): Promise<Buffer> {
  const page = await sharp(fixture('page-03.png')).resize({ width: 420 }).png().toBuffer();
  const lines = Array.from({ length: 12 }, (_, i) => `<rect x="24" y="${80 + i * 52}" width="${140 + ((i * 37) % 90)}" height="14" rx="4" fill="#4e5058"/>`).join('');
  const chrome = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="1366" height="768">` +
      `<rect width="1366" height="768" fill="#313338"/><rect width="240" height="768" fill="#1e1f22"/>${lines}` +
      `<rect x="240" y="0" width="1126" height="36" fill="#2b2d31"/><rect x="264" y="12" width="120" height="12" fill="#dbdee1"/>` +
      `<rect x="260" y="700" width="1086" height="48" rx="10" fill="#1e1f22"/></svg>`,
  );
  return sharp(chrome).composite([{ input: page, left: 500, top: 120 }]).png().toBuffer();
}

/**
 * A chat-app screenshot where the poster's avatar and two lines of message text sit just above
 * the picture (24 px: close enough to join its area of detail), and the picture is either the
 * fixture page or, with `split`, its two halves 40 px apart (one picture with a wide gutter).
 */
async function chatScreenshot(split = false): Promise<{ shot: Buffer; pageHeight: number }> {
  const page = await sharp(fixture('page-03.png')).resize({ width: 420 }).png().toBuffer();
  const { height = 0 } = await sharp(page).metadata();
  const half = Math.floor(height / 2);
  const parts = split
    ? [
        { input: await sharp(page).extract({ left: 0, top: 0, width: 420, height: half }).toBuffer(), left: 500, top: 120 },
        { input: await sharp(page).extract({ left: 0, top: half, width: 420, height: height - half }).toBuffer(), left: 500, top: 120 + half + 40 },
      ]
    : [{ input: page, left: 500, top: 120 }];
  const chrome = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="1366" height="${split ? 808 : 768}">` +
      `<rect width="1366" height="${split ? 808 : 768}" fill="#313338"/><rect width="240" height="${split ? 808 : 768}" fill="#1e1f22"/>` +
      `<circle cx="470" cy="80" r="14" fill="#80848e"/>` +
      `<rect x="500" y="66" width="360" height="10" rx="4" fill="#4e5058"/><rect x="500" y="86" width="220" height="10" rx="4" fill="#4e5058"/></svg>`,
  );
  return { shot: await sharp(chrome).composite(parts).png().toBuffer(), pageHeight: split ? height + 40 : height };
}

/**
 * A light chat app showing a product photographed on white: the photo's only detail is the
 * object's outline (a yellow ellipse, 380x260 at (520, 200)), while the side bar's close lines of
 * text make one area with more detail pixels.
 */
async function lightScreenshotOfProduct(): Promise<Buffer> {
  const lines = Array.from({ length: 16 }, (_, i) => `<rect x="24" y="${60 + i * 24}" width="${120 + ((i * 37) % 60)}" height="10" rx="4" fill="#c4c9ce"/>`).join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="1366" height="768">` +
    `<rect width="1366" height="768" fill="#ffffff"/><rect width="240" height="768" fill="#f2f3f5"/>${lines}` +
    `<ellipse cx="710" cy="330" rx="190" ry="130" fill="#f5c518"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe('findContentArea', () => {
  it('finds the picture inside a screenshot, to within two analysis pixels', async () => {
    const shot = await screenshotOfPage();
    const { height = 0 } = await sharp(await sharp(fixture('page-03.png')).resize({ width: 420 }).png().toBuffer()).metadata();
    const { image } = await decodeImage(shot);
    const box = await findContentArea(image);
    assert.ok(box, 'a content area');
    // The analysis copy is 192 px wide: one of its pixels is 7 px of the screenshot.
    const near = (a: number, b: number) => Math.abs(a - b) <= 15;
    assert.ok(near(box.x, 500) && near(box.y, 120) && near(box.x + box.w, 920) && near(box.y + box.h, 120 + height), JSON.stringify(box));
  });

  it('cuts off the avatar and the lines of text just above the picture', async () => {
    const { shot, pageHeight } = await chatScreenshot();
    const box = await findContentArea((await decodeImage(shot)).image);
    assert.ok(box, 'a content area');
    const near = (a: number, b: number) => Math.abs(a - b) <= 15;
    assert.ok(near(box.x, 500) && near(box.y, 120) && near(box.x + box.w, 920) && near(box.y + box.h, 120 + pageHeight), JSON.stringify(box));
  });

  it('keeps a picture whole when a wide gutter splits it into two large parts', async () => {
    const { shot, pageHeight } = await chatScreenshot(true);
    const box = await findContentArea((await decodeImage(shot)).image);
    assert.ok(box, 'a content area');
    const near = (a: number, b: number) => Math.abs(a - b) <= 15;
    assert.ok(near(box.y, 120) && near(box.y + box.h, 120 + pageHeight), JSON.stringify(box));
  });

  it('takes the widest area when the one with the most detail is small: a smooth object on white beside a side bar of text', async () => {
    const { image } = await decodeImage(await lightScreenshotOfProduct());
    const box = await findContentArea(image);
    assert.ok(box, 'a content area');
    const near = (a: number, b: number) => Math.abs(a - b) <= 15;
    assert.ok(near(box.x, 520) && near(box.y, 200) && near(box.x + box.w, 900) && near(box.y + box.h, 460), JSON.stringify(box));
    // Without that rule the side bar, the area with the most detail, would be taken.
    const sideBar = await findContentArea(image, { preferWidestBelow: 0 });
    assert.ok(sideBar && sideBar.x + sideBar.w <= 240, JSON.stringify(sideBar));
  });

  it('finds none in an image that is all content, or all flat', async () => {
    for (const name of ['page-01.png', 'page-02.png']) {
      assert.equal(await findContentArea((await decodeImage(await sharp(fixture(name)).toBuffer())).image), undefined, name);
    }
    const flat = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#808080' } }).png().toBuffer();
    assert.equal(await findContentArea((await decodeImage(flat)).image), undefined);
  });
});

describe('cropDecoded', () => {
  it('returns the pixels of the box as an image of that size', async () => {
    const { image } = await decodeImage(await sharp(fixture('page-01.png')).toBuffer());
    const crop = await cropDecoded(image, { x: 10, y: 20, w: 30, h: 40 });
    assert.deepEqual([crop.width, crop.height, crop.data.length], [30, 40, 30 * 40 * 3]);
    assert.deepEqual([...crop.data.subarray(0, 3)], [...image.data.subarray((20 * image.width + 10) * 3, (20 * image.width + 10) * 3 + 3)]);
  });
});
