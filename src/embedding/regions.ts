/**
 * Where the region vectors of an image come from: grids of overlapping windows, each cropped and
 * embedded on its own, so that a query showing one panel or a crop meets a vector of about the
 * same part of the page. One CNN vector per page cannot do this: a panel is 5-20% of a page, and
 * the page's global vector is dominated by everything else (measured with
 * `bench/region-vectors.ts`: a panel's page ranks first 11% of the time by the whole-page vector,
 * 34% by the best of 20 windows; in the first 12, 27% vs 66%).
 *
 * Pooling regions of the whole page's 7x7 conv map instead (R-MAC style) costs nothing extra, but
 * measured no better than the whole vector: at 224 px a panel's detail is gone before pooling.
 */
import { SagasuError } from '../errors.js';
import type { Box, DecodedImage } from '../types.js';
import { detectPanels } from './panels.js';

/** `across` x `down` windows, each `share` of the image's width and height, spread evenly from edge to edge. */
export interface RegionGrid {
  across: number;
  down: number;
  share: number;
}

export interface RegionOptions {
  /** The grids whose windows are embedded (their windows are numbered in this order). */
  grids: RegionGrid[];
  /**
   * A region's similarity counts this much less than the whole image's: a whole-image query
   * (a re-post, a photo) must still prefer its page to a part of another page that happens to
   * look like it. Applied at search time.
   */
  penalty: number;
  /**
   * A grid is embedded only when its windows are at least this many pixels on their shorter side:
   * a window of a few dozen pixels, blown up to the network's 224, matches anything blurry (on
   * the 198-px product pictures, windows of a third drew store photos to the wrong products).
   * Grids are listed largest windows first, so an image that skips some keeps the first region
   * numbers of the layout.
   */
  minWindowSide: number;
  /**
   * Comic and manga pages: the page's own panels, found along its blank gutters
   * (src/embedding/panels.ts), as windows. `'replace-last-grid'`: on a page that splits into at
   * least two panels (each at least minWindowSide on its shorter side), the panels take the place
   * of the last (smallest) grid's windows; any other image keeps every grid. `'add'`: the panels
   * come after all the grids. `false`: grids only. Each image's windows are stored with its
   * region vectors, so images indexed with and without panels search side by side.
   */
  panels: 'replace-last-grid' | 'add' | false;
}

/**
 * Chosen with `bench/region-vectors.ts` on ../shared/eval (155 images, seed 1; visual source
 * alone, R@1 / R@12 of the right image):
 *
 * | regions | single panels | half-area crops | re-compressed copies |
 * | --- | --- | --- | --- |
 * | none (whole image only) | 0.11 / 0.27 | 0.36 / 0.80 | 0.72 / 0.92 |
 * | 4x4 of a third | 0.34 / 0.70 | 0.33 / 0.78 | 0.70 / 0.92 |
 * | 2x2 of 0.65 + 3x3 of a third | 0.26 / 0.62 | 0.57 / 0.92 | 0.70 / 0.89 |
 * | 2x2 of 0.65 + 4x4 of a third | 0.34 / 0.66 | 0.57 / 0.90 | 0.70 / 0.93 |
 * | 2x2 of 0.65 + panels where found, else 4x4 (default) | 0.55 / 0.70 | 0.60 / 0.92 | 0.71 / 0.92 |
 * | 2x2 of 0.65 + 4x4 + panels where found | 0.62 / 0.77 | 0.60 / 0.92 | 0.71 / 0.92 |
 * | 2x2 of 0.65 + panels where found, nothing else | 0.48 / 0.52 | 0.61 / 0.92 | 0.71 / 0.92 |
 *
 * (seed 2, the same rows: panels 0.26 / 0.59, 0.51 / 0.70, 0.58 / 0.74, 0.49 / 0.60.) Panels are
 * found on 40 of the 74 manga pages (none of the 81 product pictures) and take the 4x4 windows'
 * place there: a page then has 4 + 2-6 windows instead of 20, so indexing it costs less, not
 * more. What the 4x4 windows alone catch is the small speech-bubble crop (R@12 0.16 → 0.07 seed
 * 1, 0.10 → 0.07 seed 2, visual alone; a bubble is found by its words: fused, one bubble of 62
 * was lost on seed 1). Adding panels to the 4x4 windows keeps those and finds a few more panels,
 * at ~25% more embedding per manga page than today's 20 windows; measured, not adopted (fused
 * panel R@1 is held by text and verification: see the README).
 *
 * with a penalty of 0.02 (0 lets parts of other pages outrank a whole copy: re-compressed R@1
 * 0.68; 0.06 loses panels). Pooling windows of one 448-px pass instead of cropping reached only
 * 0.22 / 0.44 on panels.
 *
 * Cheaper ways to the 16 small windows, which are ~40% of an image's indexing CPU, all lose
 * panels (same bench, seed 1, panels R@1 / R@12 against 0.34 / 0.66; half-area crops, copies and
 * phone photos within ±0.02 in every case):
 * - each window embedded at 160 px instead of 224 (half the cost): 0.18 / 0.44; with the query
 *   also embedded at 160 for them: 0.23 / 0.53. At 128 px: 0.12 / 0.32 and 0.19 / 0.51
 *   (`--small-sizes 160,128`);
 * - pooled from the 21x21 map of one 672-px pass over the page (each window 7x7 cells, the same
 *   scale as a crop at 224; ~6.5x one 224-px pass, against 16x): 0.25 / 0.53; from one 448-px
 *   pass: 0.16 / 0.38 (`--map-sizes 672,448`). Near a window's edge the pass sees the rest of the
 *   page, which a query showing only that panel does not.
 */
export const defaultRegionOptions: RegionOptions = {
  grids: [
    { across: 2, down: 2, share: 0.65 },
    { across: 4, down: 4, share: 1 / 3 },
  ],
  penalty: 0.02,
  minWindowSide: 112,
  panels: 'replace-last-grid',
};

/** At most this many regions per image: region labels in the vector index are `imageId * maxRegions + region`. */
export const maxRegions = 32;

export function validateRegionOptions(options: RegionOptions): void {
  const total = options.grids.reduce((sum, grid) => sum + grid.across * grid.down, 0);
  for (const grid of options.grids) {
    if (![grid.across, grid.down].every((n) => Number.isInteger(n) && n >= 1) || !(grid.share > 0 && grid.share <= 1)) {
      throw new SagasuError('INVALID_OPTION', `a region grid needs whole across/down >= 1 and 0 < share <= 1 (got ${JSON.stringify(grid)})`);
    }
  }
  if (total < 1 || total > maxRegions) throw new SagasuError('INVALID_OPTION', `region grids must give 1 to ${maxRegions} regions per image (got ${total})`);
  if (!(options.penalty >= 0 && options.penalty < 1)) throw new SagasuError('INVALID_OPTION', `region penalty must be from 0 to 1 (got ${options.penalty})`);
  if (!(Number.isFinite(options.minWindowSide) && options.minWindowSide >= 1)) {
    throw new SagasuError('INVALID_OPTION', `region minWindowSide must be a number >= 1 (got ${options.minWindowSide})`);
  }
  if (![false, 'replace-last-grid', 'add'].includes(options.panels)) {
    throw new SagasuError('INVALID_OPTION', `region panels must be 'replace-last-grid', 'add' or false (got ${JSON.stringify(options.panels)})`);
  }
  if (options.grids.some((grid, i) => i > 0 && grid.share > options.grids[i - 1]!.share)) {
    throw new SagasuError('INVALID_OPTION', 'region grids must be listed largest windows first');
  }
}

/** Recorded with each image's region vectors: e.g. `4x4@0.333`. */
export function regionLayoutId(grids: readonly RegionGrid[]): string {
  return grids.map((grid) => `${grid.across}x${grid.down}@${grid.share.toFixed(3)}`).join('+');
}

/** The grids whose windows are large enough in a `width` x `height` image (see {@link RegionOptions.minWindowSide}). */
export function gridsFor(width: number, height: number, options: Pick<RegionOptions, 'grids' | 'minWindowSide'>): RegionGrid[] {
  const usable: RegionGrid[] = [];
  for (const grid of options.grids) {
    if (Math.min(width, height) * grid.share < options.minWindowSide) break;
    usable.push(grid);
  }
  return usable;
}

/** The windows of every grid in pixels of a `width` x `height` image, in region order. */
export function regionBoxes(width: number, height: number, grids: readonly RegionGrid[]): Box[] {
  const boxes: Box[] = [];
  for (const { across, down, share } of grids) {
    const w = Math.max(1, Math.round(width * share));
    const h = Math.max(1, Math.round(height * share));
    for (let row = 0; row < down; row++) {
      for (let column = 0; column < across; column++) {
        const x = across === 1 ? Math.round((width - w) / 2) : Math.round((column * (width - w)) / (across - 1));
        const y = down === 1 ? Math.round((height - h) / 2) : Math.round((row * (height - h)) / (down - 1));
        boxes.push({ x, y, w: Math.min(w, width - x), h: Math.min(h, height - y) });
      }
    }
  }
  return boxes;
}

/** The region's place as fractions of the image (what a result shows), rounded to 3 decimals. */
export function regionFraction(region: number, grids: readonly RegionGrid[]): Box | undefined {
  const scale = 1000;
  const box = regionBoxes(scale, scale, grids)[region];
  return box && { x: box.x / scale, y: box.y / scale, w: box.w / scale, h: box.h / scale };
}

/** The windows of one image, in pixels and region order, and the layout they are stored under. */
export interface RegionWindows {
  boxes: Box[];
  /**
   * The grids' id (see {@link regionLayoutId}), followed for a page cut into panels by
   * `+panels:x,y,w,h;...` with each panel as fractions of the image (3 decimals): enough to tell
   * a search result which part of the image matched (see {@link regionFractionIn}).
   */
  layout: string;
}

/**
 * The windows whose vectors an image is indexed with: its usable grids (see {@link gridsFor}) and,
 * on a page that splits into panels, the panels (see {@link RegionOptions.panels}). Panels are
 * extra evidence: when their detection fails, the image gets its grids.
 */
export async function regionWindows(image: DecodedImage, options: RegionOptions): Promise<RegionWindows> {
  const grids = gridsFor(image.width, image.height, options);
  const plain = { boxes: regionBoxes(image.width, image.height, grids), layout: regionLayoutId(options.grids) };
  if (!options.panels) return plain;
  const panels = await detectPanels(image)
    .then((found) => found.filter((box) => Math.min(box.w, box.h) >= options.minWindowSide))
    .catch(() => []);
  if (panels.length < 2) return plain;
  // The usable grids are a prefix of options.grids: dropping the last listed one drops the smallest windows.
  const kept = options.panels === 'replace-last-grid' ? grids.slice(0, options.grids.length - 1) : grids;
  const gridBoxes = regionBoxes(image.width, image.height, kept);
  // Largest first (detectPanels' order), as many as the region labels leave room for.
  const panelBoxes = panels.slice(0, maxRegions - gridBoxes.length);
  const fraction = (value: number, side: number) => (value / side).toFixed(3);
  const described = panelBoxes.map((box) => [fraction(box.x, image.width), fraction(box.y, image.height), fraction(box.w, image.width), fraction(box.h, image.height)].join(','));
  return { boxes: [...gridBoxes, ...panelBoxes], layout: `${kept.length > 0 ? `${regionLayoutId(kept)}+` : ''}panels:${described.join(';')}` };
}

/** A stored layout read back: its grids and its panels' boxes (fractions), or undefined when this version cannot read it. */
function parseLayout(layout: string): { grids: RegionGrid[]; panels: Box[] } | undefined {
  const grids: RegionGrid[] = [];
  const panels: Box[] = [];
  for (const part of layout.split('+')) {
    const grid = /^(\d+)x(\d+)@([\d.]+)$/.exec(part);
    if (grid) {
      grids.push({ across: Number(grid[1]), down: Number(grid[2]), share: Number(grid[3]) });
      continue;
    }
    if (!part.startsWith('panels:')) return undefined;
    for (const box of part.slice('panels:'.length).split(';')) {
      const [x, y, w, h] = box.split(',').map(Number);
      if (![x, y, w, h].every((value) => Number.isFinite(value))) return undefined;
      panels.push({ x: x!, y: y!, w: w!, h: h! });
    }
  }
  return { grids, panels };
}

/**
 * The region's place as fractions of the image, read from the layout its image was stored with
 * (grids only, or grids and panels: see {@link RegionWindows.layout}), and whether it is one of
 * the page's panels; undefined for a layout or region this version cannot read.
 */
export function regionIn(layout: string, region: number): { box: Box; panel: boolean } | undefined {
  const parsed = parseLayout(layout);
  if (!parsed) return undefined;
  const gridCount = regionBoxes(1, 1, parsed.grids).length;
  const panel = region >= gridCount;
  const box = panel ? parsed.panels[region - gridCount] : regionFraction(region, parsed.grids);
  return box ? { box, panel } : undefined;
}

/** The region's place as fractions of the image (see {@link regionIn}). */
export function regionFractionIn(layout: string, region: number): Box | undefined {
  return regionIn(layout, region)?.box;
}

/** Where a region lies, in words: e.g. `top left`, `middle`, `bottom right` (by its centre, in thirds of the image). */
export function describeRegionPlace(box: Box): string {
  const third = (centre: number) => (centre < 1 / 3 ? 0 : centre < 2 / 3 ? 1 : 2);
  const vertical = ['top', 'middle', 'bottom'][third(box.y + box.h / 2)]!;
  const horizontal = ['left', 'centre', 'right'][third(box.x + box.w / 2)]!;
  if (vertical === 'middle' && horizontal === 'centre') return 'middle';
  if (horizontal === 'centre') return vertical;
  if (vertical === 'middle') return horizontal;
  return `${vertical} ${horizontal}`;
}

/** The words a result shows for a visual hit on a region (see the engine's `reasons.visual.detail.regionBox` and `panel`). */
export function regionReason(detail: Record<string, unknown> | undefined): string {
  const box = detail?.['regionBox'] as Box | undefined;
  if (!box) return '';
  return `, matches the ${describeRegionPlace(box)} ${detail?.['panel'] === true ? 'panel of the page' : 'part of the image'}`;
}
