import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { defaultPanelOptions, detectPanels } from '../../src/embedding/panels.js';
import type { Box } from '../../src/types.js';
import { blocksPng, panelPagePng } from '../helpers/fakes.js';
import { scenePng } from './synthetic-images.js';

/** A 600x800 page: one wide panel on top, two side by side below (gutters 20 px). */
const page: Box[] = [
  { x: 20, y: 20, w: 560, h: 280 },
  { x: 20, y: 320, w: 270, h: 460 },
  { x: 310, y: 320, w: 270, h: 460 },
];

/** Each found box is within `slack` px of the expected one on every side (the page is cut at 512 px, not 800). */
function assertBoxesNear(found: Box[], expected: Box[], slack = 3): void {
  assert.equal(found.length, expected.length, `found ${JSON.stringify(found)}`);
  for (const [i, want] of expected.entries()) {
    const got = found[i]!;
    for (const [a, b] of [
      [got.x, want.x],
      [got.y, want.y],
      [got.x + got.w, want.x + want.w],
      [got.y + got.h, want.y + want.h],
    ] as const) {
      assert.ok(Math.abs(a - b) <= slack, `panel ${i}: ${JSON.stringify(got)} against ${JSON.stringify(want)}`);
    }
  }
}

describe('detectPanels', () => {
  it('cuts a page along its gutters, across then down, and returns the panels largest first', async () => {
    const { image } = await decodeImage(await panelPagePng(1, 600, 800, page));
    assertBoxesNear(await detectPanels(image), [page[0]!, page[1]!, page[2]!]);
  });

  it('still cuts where dust specks lie in the gutters', async () => {
    const { image } = await decodeImage(await panelPagePng(2, 600, 800, page, 40));
    assertBoxesNear(await detectPanels(image), [page[0]!, page[1]!, page[2]!]);
  });

  it('keeps panels that a drawing joins across their gutter as one box', async () => {
    // A bar drawn over the vertical gutter joins the two lower panels.
    const joined = [...page, { x: 250, y: 500, w: 100, h: 40 }];
    const { image } = await decodeImage(await panelPagePng(3, 600, 800, joined));
    assertBoxesNear(await detectPanels(image), [{ x: 20, y: 320, w: 560, h: 460 }, page[0]!]);
  });

  it('finds no panels in a photo, a picture without gutters or a page of one panel', async () => {
    for (const bytes of [await scenePng(4, 640, 480), await blocksPng(5, 400, 300), await panelPagePng(6, 600, 800, [{ x: 30, y: 30, w: 540, h: 740 }])]) {
      const { image } = await decodeImage(bytes);
      assert.deepEqual(await detectPanels(image), []);
    }
  });

  it('leaves out strips and specks too small to be panels', async () => {
    // A caption strip (a tenth of the page high) between two panels is not a panel of its own.
    const withStrip = [
      { x: 20, y: 20, w: 560, h: 300 },
      { x: 20, y: 340, w: 560, h: 60 },
      { x: 20, y: 420, w: 560, h: 360 },
    ];
    const { image } = await decodeImage(await panelPagePng(7, 600, 800, withStrip));
    assertBoxesNear(await detectPanels(image), [withStrip[2]!, withStrip[0]!]);
  });

  it('refuses options out of range', async () => {
    const { image } = await decodeImage(await blocksPng(8, 100, 100));
    await assert.rejects(detectPanels(image, { minArea: 0 }), /panel options out of range/);
    await assert.rejects(detectPanels(image, { analysisSide: 10 }), /panel options out of range/);
    assert.equal(defaultPanelOptions.analysisSide, 512);
  });
});
