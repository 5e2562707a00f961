import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultRegionOptions,
  describeRegionPlace,
  gridsFor,
  regionBoxes,
  regionFraction,
  regionLayoutId,
  regionFractionIn,
  regionIn,
  regionReason,
  regionWindows,
  validateRegionOptions,
} from '../../src/embedding/regions.js';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { detectPanels } from '../../src/embedding/panels.js';
import { blocksPng, panelPagePng } from '../helpers/fakes.js';

describe('regionBoxes', () => {
  it('spreads each grid\'s windows evenly from edge to edge', () => {
    assert.deepEqual(regionBoxes(300, 200, [{ across: 2, down: 2, share: 0.5 }]), [
      { x: 0, y: 0, w: 150, h: 100 },
      { x: 150, y: 0, w: 150, h: 100 },
      { x: 0, y: 100, w: 150, h: 100 },
      { x: 150, y: 100, w: 150, h: 100 },
    ]);
    // Four windows of a third across: they overlap, the last one ends at the edge.
    assert.deepEqual(
      regionBoxes(300, 300, [{ across: 4, down: 1, share: 1 / 3 }]).map((box) => [box.x, box.w]),
      [[0, 100], [67, 100], [133, 100], [200, 100]],
    );
  });

  it('centres a grid of one, and numbers the windows of several grids in order', () => {
    const boxes = regionBoxes(100, 100, [{ across: 1, down: 1, share: 0.5 }, { across: 2, down: 1, share: 1 }]);
    assert.deepEqual(boxes, [
      { x: 25, y: 25, w: 50, h: 50 },
      { x: 0, y: 0, w: 100, h: 100 },
      { x: 0, y: 0, w: 100, h: 100 },
    ]);
  });
});

describe('gridsFor', () => {
  it('keeps the grids whose windows are large enough, largest first, so a smaller image keeps a prefix of the numbering', () => {
    const [big, third] = defaultRegionOptions.grids;
    assert.equal(defaultRegionOptions.minWindowSide, 112);
    assert.deepEqual(gridsFor(800, 1100, defaultRegionOptions), [big, third]);
    // A 198-px catalogue picture: windows of a third would be 66 px.
    assert.deepEqual(gridsFor(198, 198, defaultRegionOptions), [big]);
    assert.deepEqual(gridsFor(336, 2000, defaultRegionOptions), [big, third]);
    assert.deepEqual(gridsFor(335, 2000, defaultRegionOptions), [big]);
    assert.deepEqual(gridsFor(160, 160, defaultRegionOptions), []);
  });
});

describe('regionFraction and describeRegionPlace', () => {
  it('gives a region\'s place as fractions of the image, and in words', () => {
    const grids = defaultRegionOptions.grids;
    // The four large windows first, then the sixteen of a third.
    assert.deepEqual(regionFraction(0, grids), { x: 0, y: 0, w: 0.65, h: 0.65 });
    assert.deepEqual(regionFraction(3, grids), { x: 0.35, y: 0.35, w: 0.65, h: 0.65 });
    assert.deepEqual(regionFraction(4, grids), { x: 0, y: 0, w: 0.333, h: 0.333 });
    assert.deepEqual(regionFraction(19, grids), { x: 0.667, y: 0.667, w: 0.333, h: 0.333 });
    assert.equal(regionFraction(20, grids), undefined);
    assert.equal(describeRegionPlace(regionFraction(4, grids)!), 'top left');
    assert.equal(describeRegionPlace(regionFraction(19, grids)!), 'bottom right');
    assert.equal(describeRegionPlace({ x: 0.33, y: 0.33, w: 0.34, h: 0.34 }), 'middle');
    assert.equal(describeRegionPlace({ x: 0.33, y: 0, w: 0.34, h: 0.3 }), 'top');
    assert.equal(describeRegionPlace({ x: 0, y: 0.4, w: 0.3, h: 0.2 }), 'left');
    assert.equal(regionReason({ similarity: 0.9, regionBox: { x: 0, y: 0.667, w: 0.333, h: 0.333 } }), ', matches the bottom left part of the image');
    assert.equal(regionReason({ similarity: 0.9 }), '');
    assert.equal(regionReason({ similarity: 0.9, regionBox: { x: 0.52, y: 0.4, w: 0.45, h: 0.58 }, panel: true }), ', matches the bottom right panel of the page');
  });
});

describe('validateRegionOptions and regionLayoutId', () => {
  it('names a layout by its grids and refuses grids that make no sense', () => {
    assert.equal(regionLayoutId(defaultRegionOptions.grids), '2x2@0.650+4x4@0.333');
    assert.equal(regionLayoutId([{ across: 2, down: 3, share: 0.5 }, { across: 1, down: 1, share: 0.8 }]), '2x3@0.500+1x1@0.800');
    validateRegionOptions(defaultRegionOptions);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, grids: [] }), /1 to 32 regions/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, grids: [{ across: 0, down: 2, share: 0.5 }] }), /whole across\/down/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, grids: [{ across: 2, down: 2, share: 1.5 }] }), /share <= 1/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, penalty: -0.1 }), /penalty/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, minWindowSide: 0 }), /minWindowSide/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, grids: [...defaultRegionOptions.grids].reverse() }), /largest windows first/);
    assert.throws(() => validateRegionOptions({ ...defaultRegionOptions, panels: 'yes' as 'add' }), /region panels must be/);
  });
});

describe('regionWindows and regionFractionIn', () => {
  const panels = [
    { x: 20, y: 20, w: 560, h: 280 },
    { x: 20, y: 320, w: 270, h: 460 },
    { x: 310, y: 320, w: 270, h: 460 },
  ];
  const [big] = defaultRegionOptions.grids;
  const fractions = (found: { x: number; y: number; w: number; h: number }[]) =>
    found.map((box) => [box.x / 600, box.y / 800, box.w / 600, box.h / 800].map((v) => v.toFixed(3)).join(',')).join(';');

  it('puts a page\'s panels in place of the smallest grid, and says where each lies in the layout', async () => {
    assert.equal(defaultRegionOptions.panels, 'replace-last-grid');
    const { image } = await decodeImage(await panelPagePng(1, 600, 800, panels));
    const found = await detectPanels(image);
    assert.equal(found.length, 3);
    const windows = await regionWindows(image, defaultRegionOptions);
    assert.deepEqual(windows.boxes, [...regionBoxes(600, 800, [big!]), ...found]);
    assert.equal(windows.layout, `2x2@0.650+panels:${fractions(found)}`);
    // Region 4 is the first (largest) panel; regions 0-3 are still the large windows.
    assert.deepEqual(regionFractionIn(windows.layout, 4), { x: Number((found[0]!.x / 600).toFixed(3)), y: Number((found[0]!.y / 800).toFixed(3)), w: Number((found[0]!.w / 600).toFixed(3)), h: Number((found[0]!.h / 800).toFixed(3)) });
    assert.deepEqual(regionFractionIn(windows.layout, 1), regionFraction(1, defaultRegionOptions.grids));
    assert.equal(regionFractionIn(windows.layout, 7), undefined);
    // Which windows are panels: 4 on, not the large ones.
    assert.deepEqual([regionIn(windows.layout, 1)?.panel, regionIn(windows.layout, 4)?.panel, regionIn(windows.layout, 6)?.panel, regionIn(windows.layout, 7)], [false, true, true, undefined]);
  });

  it('adds the panels after every grid with panels "add", and keeps grids only with panels off', async () => {
    const { image } = await decodeImage(await panelPagePng(1, 600, 800, panels));
    const found = await detectPanels(image);
    const added = await regionWindows(image, { ...defaultRegionOptions, panels: 'add' });
    assert.deepEqual(added.boxes, [...regionBoxes(600, 800, defaultRegionOptions.grids), ...found]);
    assert.equal(added.layout, `2x2@0.650+4x4@0.333+panels:${fractions(found)}`);
    assert.deepEqual(regionFractionIn(added.layout, 20), regionFractionIn(`panels:${fractions(found)}`, 0));
    const off = await regionWindows(image, { ...defaultRegionOptions, panels: false });
    assert.deepEqual(off, { boxes: regionBoxes(600, 800, defaultRegionOptions.grids), layout: '2x2@0.650+4x4@0.333' });
  });

  it('gives a picture without panels its grids, under the grids\' layout', async () => {
    const { image } = await decodeImage(await blocksPng(5, 400, 300));
    assert.deepEqual(await regionWindows(image, defaultRegionOptions), { boxes: regionBoxes(400, 300, [big!]), layout: '2x2@0.650+4x4@0.333' });
    // Layouts read back: the grids' own numbering, and nothing for a layout this version cannot read.
    assert.deepEqual(regionFractionIn('2x2@0.650+4x4@0.333', 19), regionFraction(19, defaultRegionOptions.grids));
    assert.equal(regionFractionIn('2x2@0.650+4x4@0.333', 20), undefined);
    assert.equal(regionFractionIn('spiral@7', 0), undefined);
    assert.equal(regionFractionIn('panels:0.1,0.2,x,0.4', 0), undefined);
  });
});
