/**
 * Would region vectors help? Embeds every gallery image whole and as sets of regions (grids of
 * crops, and regional pooling of the whole image's conv map), makes the evaluation's seeded
 * queries, and prints where the right image ranks for the visual source alone when an image
 * scores the best similarity of its whole vector and its regions' vectors.
 *
 *   npm run build && node dist/bench/region-vectors.js ../shared/eval [--seed 1] [--types panel,crop-half,...]
 *     [--schemes big-2x2+thirds-4x4~112,...] [--penalties 0.02] [--cache vectors.json]
 *     [--small-sizes 160,128] [--map-sizes 672]
 *
 * `--small-sizes`: each crop scheme's windows are also embedded at these input sizes (schemes
 * `thirds-4x4/160`; `thirds-4x4/160q` compares them with the query embedded at 160 too).
 * `--map-sizes`: the windows are also pooled from one pass over the whole image at that size
 * (schemes `thirds-4x4/map672`). With `--schemes`, only the crop schemes it names are embedded.
 *
 * A measurement for choosing a region scheme, not a test: it asserts nothing. R@3 and R@12
 * matter as much as R@1: the engine spatially verifies the visual source's first 3 and the
 * fused first 12.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type * as Tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import sharp from 'sharp';
import { cropDecoded } from '../src/decoding/content-area.js';
import { decodeImage } from '../src/decoding/decode-image.js';
import { PREPROCESSING_BLUR_SIGMA } from '../src/embedding/features.js';
import { MOBILENET_V2_CHANNELS, MOBILENET_V2_INPUT_SIZE, loadMobileNetV2, type FeatureModel } from '../src/embedding/mobilenet-v2.js';
import { detectPanels } from '../src/embedding/panels.js';
import { defaultRegionOptions } from '../src/embedding/regions.js';
import { averagePool, dot, l2Normalize } from '../src/embedding/pooling.js';
import { loadGallery, type GalleryItem } from '../src/eval/retrieval-dataset.js';
import { generateQuery, type SyntheticQueryType } from '../src/eval/retrieval-queries.js';
import type { Box, DecodedImage } from '../src/types.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '1' },
    types: { type: 'string', default: 'panel,crop-half,bubble,recompressed,phone-photo,flip' },
    limit: { type: 'string', default: '0' },
    cache: { type: 'string' },
    penalties: { type: 'string', default: '0' },
    schemes: { type: 'string' },
    /** Also embed each crop scheme's windows at these input sizes (e.g. `160,128`): schemes `thirds-4x4/160`; `.../160q` also embeds the query at 160 for them. */
    'small-sizes': { type: 'string', default: '' },
    'map-sizes': { type: 'string', default: '' },
  },
});
/** Pool each crop scheme's windows from one pass over the whole image at these sizes (e.g. `672`): schemes `thirds-4x4/map672`. */
const mapSizes = values['map-sizes'] ? values['map-sizes'].split(',').map(Number) : [];
const smallSizes = values['small-sizes'] ? values['small-sizes'].split(',').map(Number) : [];

/** A region as fractions of the image: x, y, w, h in [0, 1]. */
type Fraction = [number, number, number, number];

function grid(cols: number, rows: number, w: number, h: number): Fraction[] {
  const out: Fraction[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = cols === 1 ? (1 - w) / 2 : (c * (1 - w)) / (cols - 1);
      const y = rows === 1 ? (1 - h) / 2 : (r * (1 - h)) / (rows - 1);
      out.push([x, y, w, h]);
    }
  }
  return out;
}

/** Crop schemes: each region is embedded on its own, as a query crop would be. */
const cropSchemes: Record<string, Fraction[]> = {
  quadrants: grid(2, 2, 0.5, 0.5),
  'halves-3x3': grid(3, 3, 0.5, 0.5),
  'thirds-3x3': grid(3, 3, 1 / 3, 1 / 3),
  'rows-5': grid(1, 5, 1, 1 / 3),
  'thirds-4x4': grid(4, 4, 1 / 3, 1 / 3),
  'big-2x2': grid(2, 2, 0.65, 0.65),
};

/** Regional pooling of the whole image's 7x7 map: windows in map cells [x, y, w, h]. */
function mapWindows(size: number, step: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let y = 0; y + size <= 7; y += step) for (let x = 0; x + size <= 7; x += step) out.push([x, y, size, size]);
  return out;
}
const mapSchemes: Record<string, [number, number, number, number][]> = {
  'map-4x4': mapWindows(4, 3),
  'map-3x3': mapWindows(3, 2),
  'map-both': [...mapWindows(4, 3), ...mapWindows(3, 2)],
};

interface Embedded {
  whole: Float32Array;
  /** Shorter side of the image in pixels. */
  side?: number;
  regions: Map<string, Float32Array[]>;
}

/** The whole image's 7x7 conv map at the network's own 224 px. */
function embedMap(model: FeatureModel, image: DecodedImage): Promise<Float32Array> {
  return mapAt(model, image, MOBILENET_V2_INPUT_SIZE);
}

/**
 * The network cut at its last conv map, built for a square input of \`size\` px (it is fully
 * convolutional up to there), sharing nothing with the 224-px model but the weights' source.
 */
const sizedModels = new Map<number, Tf.LayersModel>();
function modelAt(model: FeatureModel, size: number): Tf.LayersModel {
  if (size === MOBILENET_V2_INPUT_SIZE) return model.model;
  let sized = sizedModels.get(size);
  if (!sized) {
    const { tf } = model.runtime;
    const input = tf.input({ shape: [size, size, 3] });
    // Re-apply the cut model's layers to a new input: weights shared, shapes inferred anew.
    sized = tf.model({ inputs: input, outputs: model.model.apply(input) as Tf.SymbolicTensor });
    sizedModels.set(size, sized);
  }
  return sized;
}

async function embedAt(model: FeatureModel, image: DecodedImage, size: number): Promise<Float32Array> {
  if (size === MOBILENET_V2_INPUT_SIZE) return embedWhole(model, image);
  const map = await mapAt(model, image, size);
  return l2Normalize(averagePool(map, map.length / MOBILENET_V2_CHANNELS, MOBILENET_V2_CHANNELS));
}

/** The last conv map of a pass at \`size\` px: (size / 32)^2 cells of 1280 channels. */
async function mapAt(model: FeatureModel, image: DecodedImage, size: number): Promise<Float32Array> {
  const { tf } = model.runtime;
  const sized = modelAt(model, size);
  // The engine's preprocessing (see resizeForModel), at this size.
  const pixels = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .blur(PREPROCESSING_BLUR_SIGMA)
    .raw()
    .toBuffer();
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = pixels[i]! / 255;
  const output = tf.tidy(() => sized.predict(tf.tensor4d(scaled, [1, size, size, 3], 'float32')) as Tensor);
  try {
    return (await output.data()) as Float32Array;
  } finally {
    output.dispose();
  }
}

function poolWindow(map: Float32Array, [x0, y0, w, h]: [number, number, number, number], side = 7): Float32Array {
  const channels = MOBILENET_V2_CHANNELS;
  const cells = new Float32Array(w * h * channels);
  let at = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      cells.set(map.subarray((y * side + x) * channels, (y * side + x + 1) * channels), at);
      at += channels;
    }
  }
  return l2Normalize(averagePool(cells, w * h, channels));
}

function boxOf(image: DecodedImage, [fx, fy, fw, fh]: Fraction): Box {
  const x = Math.round(fx * image.width);
  const y = Math.round(fy * image.height);
  return { x, y, w: Math.max(1, Math.min(image.width - x, Math.round(fw * image.width))), h: Math.max(1, Math.min(image.height - y, Math.round(fh * image.height))) };
}

async function embedWhole(model: FeatureModel, image: DecodedImage): Promise<Float32Array> {
  const map = await embedMap(model, image);
  return l2Normalize(averagePool(map, 49, MOBILENET_V2_CHANNELS));
}

async function main(): Promise<void> {
  const root = positionals[0];
  if (!root) throw new Error('usage: region-vectors <gallery folder>');
  const model = await loadMobileNetV2();
  const collections = await loadGallery(root);
  const items: GalleryItem[] = collections.flatMap((c) => c.items);
  console.log(`gallery: ${items.length} images; backend ${model.runtime.backend}`);
  // Only the crop schemes that --schemes names are embedded (all of them without --schemes).
  const neededCrops = new Set(
    values.schemes ? values.schemes.split(',').flatMap((s) => s.split(/[@~]/)[0]!.split('+').flatMap((part) => part.split('/')[0]!.split('|'))) : Object.keys(cropSchemes),
  );
  const gallery = new Map<string, Embedded>();
  let panelCount = 0;
  const started = performance.now();
  // --cache <file>: the gallery's vectors are written once and read back on later runs.
  if (values.cache && existsSync(values.cache)) {
    const saved = JSON.parse(readFileSync(values.cache, 'utf8')) as Record<string, { whole: number[]; regions: Record<string, number[][]> }>;
    for (const [id, entry] of Object.entries(saved)) {
      gallery.set(id, { whole: Float32Array.from(entry.whole), regions: new Map(Object.entries(entry.regions).map(([k, v]) => [k, v.map((x) => Float32Array.from(x))])) });
    }
  }
  for (const item of gallery.size > 0 ? [] : items) {
    const { image } = await decodeImage(await readFile(item.path));
    const map = await embedMap(model, image);
    const whole = l2Normalize(averagePool(map, 49, MOBILENET_V2_CHANNELS));
    const regions = new Map<string, Float32Array[]>();
    for (const [name, windows] of Object.entries(mapSchemes)) regions.set(name, windows.map((w) => poolWindow(map, w)));
    const bigMaps = new Map<number, Float32Array>();
    for (const size of mapSizes) bigMaps.set(size, await mapAt(model, image, size));
    for (const [name, fractions] of Object.entries(cropSchemes)) {
      if (!neededCrops.has(name)) continue;
      const windows = await Promise.all(fractions.map((fraction) => cropDecoded(image, boxOf(image, fraction))));
      for (const [size, map] of bigMaps) {
        const side = Math.round(Math.sqrt(map.length / MOBILENET_V2_CHANNELS));
        // Each window snapped to the map's cells (32 px each at this size).
        const cells = fractions.map(([x, y, w, h]): [number, number, number, number] => {
          const x0 = Math.round(x * side);
          const y0 = Math.round(y * side);
          return [x0, y0, Math.max(1, Math.min(side - x0, Math.round(w * side))), Math.max(1, Math.min(side - y0, Math.round(h * side)))];
        });
        regions.set(`${name}/map${size}`, cells.map((window) => poolWindow(map, window, side)));
      }
      for (const size of [MOBILENET_V2_INPUT_SIZE, ...smallSizes]) {
        const vectors: Float32Array[] = [];
        for (const window of windows) vectors.push(await embedAt(model, window, size));
        regions.set(size === MOBILENET_V2_INPUT_SIZE ? name : `${name}/${size}`, vectors);
      }
    }
    if (neededCrops.has('panels')) {
      // Detected panels (src/embedding/panels.ts), as many as the page has, as small as the engine keeps them; none on a page that does not split.
      const panels = (await detectPanels(image)).filter((box) => Math.min(box.w, box.h) >= defaultRegionOptions.minWindowSide);
      const vectors: Float32Array[] = [];
      for (const box of panels) vectors.push(await embedWhole(model, await cropDecoded(image, box)));
      regions.set('panels', vectors);
      panelCount += vectors.length;
    }
    gallery.set(item.id, { whole, regions });
  }
  if (neededCrops.has('panels')) console.log(`detected panels embedded: ${panelCount} in ${items.length} images`);
  console.log(`embedded the gallery in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (values.cache && !existsSync(values.cache)) {
    const out: Record<string, unknown> = {};
    for (const [id, entry] of gallery) out[id] = { whole: [...entry.whole], regions: Object.fromEntries([...entry.regions].map(([k, v]) => [k, v.map((x) => [...x])])) };
    writeFileSync(values.cache, JSON.stringify(out));
  }
  const penalties = values.penalties.split(',').map(Number);
  for (const item of items) {
    const meta = await sharp(item.path).metadata();
    gallery.get(item.id)!.side = Math.min(meta.width ?? 0, meta.height ?? 0);
  }

  const baseSchemes = values.schemes
    ? ['whole', ...values.schemes.split(',')]
    : ['whole', ...Object.keys(mapSchemes), ...Object.keys(cropSchemes), 'quadrants+rows-5', 'halves-3x3+rows-5', 'quadrants+thirds-3x3'];
  // "scheme@0.03": a region's similarity counts 0.03 less than the whole image's.
  // "scheme~112": a grid's windows are used only when they are at least 112 px on their shorter side.
  const schemes = baseSchemes.flatMap((s) => {
    if (s === 'whole') return [s];
    const [name, minWindow] = s.split('~');
    return penalties.map((p) => `${name}${p === 0 ? '' : `@${p}`}${minWindow ? `~${minWindow}` : ''}`);
  });
  const shares: Record<string, number> = { quadrants: 0.5, 'halves-3x3': 0.5, 'thirds-3x3': 1 / 3, 'rows-5': 1 / 3, 'thirds-4x4': 1 / 3, 'big-2x2': 0.65 };
  // A part "thirds-4x4/160q" is compared with the query embedded at 160 px too; other parts with the 224-px query vector.
  const regionsOf = (entry: Embedded, scheme: string): { vectors: Float32Array[]; querySize: number }[] => {
    if (scheme === 'whole') return [];
    const minWindow = Number(scheme.split('~')[1] ?? 0);
    return scheme
      .split(/[@~]/)[0]!
      .split('+')
      // "panels|thirds-4x4": the detected panels, or the grid on an image where none were found.
      .map((part) => (part.includes('|') ? ((entry.regions.get('panels')?.length ?? 0) > 0 ? 'panels' : part.split('|')[1]!) : part))
      .filter((part) => (shares[part.split('/')[0]!] ?? 1) * (entry.side ?? Infinity) >= minWindow)
      .map((part) => ({
        vectors: entry.regions.get(part.replace(/q$/, ''))!,
        querySize: part.endsWith('q') ? Number(part.slice(part.indexOf('/') + 1, -1)) : MOBILENET_V2_INPUT_SIZE,
      }));
  };
  const types = values.types.split(',') as Array<SyntheticQueryType | 'store-photo'>;
  const realQueries = collections.flatMap((c) => c.realQueries);
  const limit = Number(values.limit);
  for (const type of types) {
    const ranks = new Map<string, number[]>(schemes.map((s) => [s, []]));
    const jobs =
      type === 'store-photo'
        ? realQueries.filter((q) => q.type === type).map((q) => ({ id: q.expectedId, bytes: async () => readFile(q.path) }))
        : (limit > 0 ? items.slice(0, limit) : items).map((item) => ({
            id: item.id,
            bytes: async () => (await generateQuery(type, item, await readFile(item.path), values.seed))?.bytes,
          }));
    for (const job of jobs) {
      const item = { id: job.id };
      const bytes = await job.bytes();
      if (!bytes) continue;
      const { image } = await decodeImage(bytes);
      const vector = await embedWhole(model, image);
      const queryAt = new Map<number, Float32Array>([[MOBILENET_V2_INPUT_SIZE, vector]]);
      for (const size of smallSizes) queryAt.set(size, await embedAt(model, image, size));
      for (const scheme of schemes) {
        const scores: [string, number][] = [];
        for (const [id, entry] of gallery) {
          let best = dot(vector, entry.whole);
          const penalty = Number(scheme.split('~')[0]!.split('@')[1] ?? 0);
          for (const { vectors, querySize } of regionsOf(entry, scheme)) {
            const probe = queryAt.get(querySize)!;
            for (const region of vectors) best = Math.max(best, dot(probe, region) - penalty);
          }
          scores.push([id, best]);
        }
        const own = scores.find(([id]) => id === item.id)![1];
        ranks.get(scheme)!.push(1 + scores.filter(([, score]) => score > own).length);
      }
    }
    const n = ranks.get('whole')!.length;
    console.log(`\n${type} (${n} queries)`);
    console.log('scheme                  R@1    R@3    R@12   MRR    median rank');
    for (const scheme of schemes) {
      const list = ranks.get(scheme)!;
      const at = (k: number) => (list.filter((r) => r <= k).length / list.length).toFixed(3);
      const mrr = (list.reduce((sum, r) => sum + 1 / r, 0) / list.length).toFixed(3);
      const median = [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
      console.log(`${scheme.padEnd(22)}  ${at(1)}  ${at(3)}  ${at(12)}  ${mrr}  ${median}`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
