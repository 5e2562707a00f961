/**
 * Query images made from gallery images the way users post them: each transformation is seeded
 * by (seed, identity, type), so a query is the same in every run whatever else is generated,
 * subsampled or skipped.
 */
import sharp, { type Sharp } from 'sharp';
import type { Box } from '../types.js';
import type { GalleryItem } from './retrieval-dataset.js';

/** Kinds of query made from a gallery image. `store-photo` is real photos (products layout), never generated. */
export const syntheticQueryTypes = ['recompressed', 'crop-half', 'panel', 'bubble', 'phone-photo', 'screenshot', 'flip'] as const;
export type SyntheticQueryType = (typeof syntheticQueryTypes)[number];
export const allQueryTypes = [...syntheticQueryTypes, 'store-photo'] as const;
export type QueryType = (typeof allQueryTypes)[number];

export interface GeneratedQuery {
  bytes: Buffer;
  /** File ending that fits the bytes (`.jpg`, `.png`). */
  ext: string;
  /** What was done, for reading a failure: `crop 412x590 at 120,33`, ... */
  note: string;
}

/** A small seeded generator (mulberry32): fast, 32-bit state, good enough for sampling. */
export class SeededRandom {
  private state: number;

  constructor(seed: number | string) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return Math.floor(this.range(min, max + 1));
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.min(values.length - 1, Math.floor(this.next() * values.length))]!;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(1e-12, this.next());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A seeded permutation (Fisher-Yates) of a copy. */
  shuffle<T>(values: readonly T[]): T[] {
    const out = [...values];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** FNV-1a, so string seeds give stable 32-bit states. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Characters that carry text (letters, digits, kana, kanji): a bubble needs a few to be findable by words. */
export function meaningfulLength(text: string): number {
  return (text.normalize('NFKC').match(/[\p{L}\p{N}]/gu) ?? []).length;
}

/** Options of the query generators (exported defaults below). */
export interface QueryGeneratorOptions {
  /** Panels smaller than this share of the page are not picked (tiny insets are not what people post). Default 0.03. */
  minPanelArea: number;
  /** Text boxes with fewer meaningful characters are not picked as bubbles. Default 3. */
  minBubbleCharacters: number;
  /** Margin added around a text box on each side, as a share of its size (the balloon around the words). Default 0.15. */
  bubbleMargin: number;
}

export const defaultQueryGeneratorOptions: QueryGeneratorOptions = {
  minPanelArea: 0.03,
  minBubbleCharacters: 3,
  bubbleMargin: 0.15,
};

interface Size {
  width: number;
  height: number;
}

const jpeg = (image: Sharp, quality: number) => image.jpeg({ quality: Math.round(quality), mozjpeg: false }).toBuffer();

/** The oriented size of an image (EXIF rotation applied), as the engine sees it. */
async function orientedSize(bytes: Buffer): Promise<Size> {
  const meta = await sharp(bytes).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  return swap ? { width: height, height: width } : { width, height };
}

function clampBox(box: Box, size: Size): Box | undefined {
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  const right = Math.min(size.width, Math.ceil(box.x + box.w));
  const bottom = Math.min(size.height, Math.ceil(box.y + box.h));
  if (right - x < 8 || bottom - y < 8) return undefined;
  return { x, y, w: right - x, h: bottom - y };
}

/** Annotation boxes are in the original pixel grid; scale them if the file differs (it should not). */
function scaleBox(box: Box, from: Size | undefined, to: Size): Box {
  if (!from || (from.width === to.width && from.height === to.height)) return box;
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return { x: box.x * sx, y: box.y * sy, w: box.w * sx, h: box.h * sy };
}

/**
 * Makes one query of `type` from a gallery image, or `undefined` when the type does not apply
 * (no panel or text annotations). Deterministic for a given (seed, item id, type).
 */
export async function generateQuery(
  type: SyntheticQueryType,
  item: GalleryItem,
  bytes: Buffer,
  seed: string | number,
  options: Partial<QueryGeneratorOptions> = {},
): Promise<GeneratedQuery | undefined> {
  const opts = { ...defaultQueryGeneratorOptions, ...options };
  const rng = new SeededRandom(`${seed}|${item.id}|${type}`);
  const size = await orientedSize(bytes);
  const base = () => sharp(bytes).rotate().removeAlpha().toColourspace('srgb');
  switch (type) {
    case 'recompressed': {
      const scale = rng.range(0.35, 0.6);
      const quality = rng.int(35, 70);
      const width = Math.max(16, Math.round(size.width * scale));
      return { bytes: await jpeg(base().resize({ width }), quality), ext: '.jpg', note: `resize x${scale.toFixed(2)}, JPEG q${quality}` };
    }
    case 'crop-half': {
      const area = rng.range(0.45, 0.55);
      const aspect = Math.exp(rng.range(Math.log(0.7), Math.log(1.4)));
      const w = Math.min(size.width, Math.round(size.width * Math.sqrt(area * aspect)));
      const h = Math.min(size.height, Math.round((size.width * size.height * area) / w));
      const left = rng.int(0, size.width - w);
      const top = rng.int(0, size.height - h);
      const box = clampBox({ x: left, y: top, w, h }, size)!;
      return { bytes: await jpeg(base().extract(extractRegion(box)), 85), ext: '.jpg', note: `crop ${box.w}x${box.h} at ${box.x},${box.y}` };
    }
    case 'panel': {
      const frames = (item.frames ?? []).map((f) => clampBox(f, size)).filter((f): f is Box => !!f);
      const big = frames.filter((f) => f.w * f.h >= opts.minPanelArea * size.width * size.height);
      if (big.length === 0) return undefined;
      const frame = rng.pick(big);
      return { bytes: await jpeg(base().extract(extractRegion(frame)), 85), ext: '.jpg', note: `panel ${frame.w}x${frame.h} at ${frame.x},${frame.y}` };
    }
    case 'bubble': {
      const boxes = (item.texts ?? []).filter((t) => meaningfulLength(t.text) >= opts.minBubbleCharacters);
      if (boxes.length === 0) return undefined;
      const text = rng.pick(boxes);
      const mx = text.w * opts.bubbleMargin;
      const my = text.h * opts.bubbleMargin;
      const box = clampBox(scaleBox({ x: text.x - mx, y: text.y - my, w: text.w + 2 * mx, h: text.h + 2 * my }, undefined, size), size);
      if (!box) return undefined;
      return { bytes: await jpeg(base().extract(extractRegion(box)), 90), ext: '.jpg', note: `bubble "${text.text}" ${box.w}x${box.h} at ${box.x},${box.y}` };
    }
    case 'phone-photo':
      return phonePhoto(base, size, rng);
    case 'screenshot':
      return screenshot(base, size, rng);
    case 'flip': {
      const quality = rng.int(80, 92);
      return { bytes: await jpeg(base().flop(), quality), ext: '.jpg', note: `mirrored, JPEG q${quality}` };
    }
  }
}

const extractRegion = (box: Box) => ({ left: box.x, top: box.y, width: box.w, height: box.h });

/**
 * A photo of the image on a screen or on paper: a surround, a small rotation and shear, uneven
 * lighting, blur, sensor noise, then a phone-sized JPEG.
 */
async function phonePhoto(base: () => Sharp, size: Size, rng: SeededRandom): Promise<GeneratedQuery> {
  const border = Math.round(Math.max(size.width, size.height) * rng.range(0.03, 0.08));
  const grey = rng.int(20, 90);
  const surround = { r: grey, g: grey, b: Math.min(255, grey + rng.int(0, 15)) };
  const angle = rng.range(-4, 4);
  const shearX = rng.range(-0.05, 0.05);
  const shearY = rng.range(-0.03, 0.03);
  const rad = (angle * Math.PI) / 180;
  const matrix: [number, number, number, number] = [Math.cos(rad), -Math.sin(rad) + shearX, Math.sin(rad) + shearY, Math.cos(rad)];
  const blur = rng.range(0.6, 1.4);
  const framed = await base()
    .extend({ top: border, bottom: border, left: border, right: border, background: surround })
    .affine(matrix, { background: surround, interpolator: 'bilinear' })
    .blur(blur)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { data, info } = framed;
  const channels = info.channels;
  // Light falls off across the frame (a lamp, a screen's angle) and the sensor adds noise.
  const gain = rng.range(0.8, 1.1);
  const gx = rng.range(-0.25, 0.25);
  const gy = rng.range(-0.25, 0.25);
  const tint = [rng.range(0.95, 1.05), rng.range(0.95, 1.05), rng.range(0.93, 1.07)];
  const offset = rng.range(-10, 15);
  const sigma = rng.range(3, 9);
  const noise = new SeededRandom(rng.int(0, 2 ** 31));
  const out = Buffer.alloc(data.length);
  for (let y = 0; y < info.height; y++) {
    const fy = y / info.height - 0.5;
    for (let x = 0; x < info.width; x++) {
      const light = gain * (1 + gx * (x / info.width - 0.5) + gy * fy);
      const n = sigma * noise.normal();
      const at = (y * info.width + x) * channels;
      for (let c = 0; c < channels; c++) {
        out[at + c] = Math.max(0, Math.min(255, Math.round(data[at + c]! * light * (tint[c] ?? 1) + offset + n)));
      }
    }
  }
  const longSide = rng.int(1000, 1600);
  const quality = rng.int(70, 88);
  const image = sharp(out, { raw: { width: info.width, height: info.height, channels } }).resize({
    width: info.width >= info.height ? longSide : undefined,
    height: info.width < info.height ? longSide : undefined,
  });
  return {
    bytes: await jpeg(image, quality),
    ext: '.jpg',
    note: `photo: border ${border}, rotate ${angle.toFixed(1)}°, shear ${shearX.toFixed(3)}/${shearY.toFixed(3)}, blur ${blur.toFixed(2)}, noise ${sigma.toFixed(1)}, JPEG q${quality}`,
  };
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Grey bars standing in for lines of chat text (no font needed to look like text at a glance). */
function textLines(x: number, y: number, maxWidth: number, count: number, colour: string, rng: SeededRandom): string {
  let svg = '';
  for (let i = 0; i < count; i++) {
    const w = Math.round(maxWidth * rng.range(0.3, 1));
    svg += `<rect x="${x}" y="${y + i * 26}" width="${w}" height="14" rx="7" fill="${colour}"/>`;
  }
  return svg;
}

/**
 * A screenshot of the image shown in an app: a phone screen (status bar, title bar, navigation
 * bar) or a desktop chat window (side bar, channel header, messages above), saved as PNG.
 */
async function screenshot(base: () => Sharp, size: Size, rng: SeededRandom): Promise<GeneratedQuery> {
  const dark = rng.next() < 0.5;
  const bg = dark ? '#313338' : '#ffffff';
  const bar = dark ? '#1e1f22' : '#f2f3f5';
  const ink = dark ? '#dbdee1' : '#060607';
  const faint = dark ? '#4e5058' : '#c4c9ce';
  const phone = rng.next() < 0.5;
  let canvas: Size;
  let area: Box;
  let overlay: string;
  if (phone) {
    canvas = { width: 1080, height: rng.pick([2340, 2400, 1920]) };
    const status = rng.int(60, 110);
    const header = rng.int(110, 180);
    const nav = rng.int(100, 170);
    const margin = rng.int(0, 48);
    area = { x: margin, y: status + header + rng.int(0, 120), w: canvas.width - 2 * margin, h: canvas.height - status - header - nav - 140 };
    overlay =
      `<rect x="0" y="0" width="${canvas.width}" height="${status}" fill="${bar}"/>` +
      `<text x="40" y="${status - 20}" font-family="DejaVu Sans" font-size="36" fill="${ink}">${rng.int(0, 23)}:${String(rng.int(0, 59)).padStart(2, '0')}</text>` +
      `<rect x="${canvas.width - 160}" y="${status / 2 - 12}" width="110" height="24" rx="6" fill="${ink}"/>` +
      `<rect x="0" y="${status}" width="${canvas.width}" height="${header}" fill="${bar}"/>` +
      `<text x="120" y="${status + header / 2 + 14}" font-family="DejaVu Sans" font-size="42" fill="${ink}">${escapeXml(rng.pick(['# general', 'Photos', 'manga-chat', 'Saved']))}</text>` +
      `<rect x="0" y="${canvas.height - nav}" width="${canvas.width}" height="${nav}" fill="${bar}"/>` +
      `<circle cx="${canvas.width / 2}" cy="${canvas.height - nav / 2}" r="28" fill="${faint}"/>`;
  } else {
    canvas = rng.pick([
      { width: 1920, height: 1080 },
      { width: 1366, height: 768 },
      { width: 2560, height: 1440 },
    ]);
    const side = Math.round(canvas.width * rng.range(0.12, 0.2));
    const top = Math.round(canvas.height * 0.045);
    const input = Math.round(canvas.height * 0.08);
    const textTop = top + 30;
    const shownHeight = Math.round(canvas.height * rng.range(0.55, 0.75));
    area = { x: side + 80, y: textTop + 90, w: canvas.width - side - 120, h: shownHeight };
    overlay =
      `<rect x="0" y="0" width="${side}" height="${canvas.height}" fill="${bar}"/>` +
      textLines(24, top + 40, side - 48, Math.floor((canvas.height - top - 80) / 52), faint, rng) +
      `<rect x="${side}" y="0" width="${canvas.width - side}" height="${top}" fill="${bg}" stroke="${bar}"/>` +
      `<text x="${side + 24}" y="${top * 0.7}" font-family="DejaVu Sans" font-size="${Math.round(top * 0.45)}" fill="${ink}"># manga</text>` +
      `<circle cx="${side + 44}" cy="${textTop + 30}" r="20" fill="${faint}"/>` +
      textLines(side + 80, textTop + 10, 500, 2, faint, rng) +
      `<rect x="${side + 20}" y="${canvas.height - input - 20}" width="${canvas.width - side - 40}" height="${input}" rx="10" fill="${bar}"/>`;
  }
  const scale = Math.min(area.w / size.width, area.h / size.height);
  const w = Math.max(16, Math.round(size.width * scale));
  const h = Math.max(16, Math.round(size.height * scale));
  const shown = await base().resize({ width: w, height: h, fit: 'fill' }).png().toBuffer();
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${canvas.width}" height="${canvas.height}">${overlay}</svg>`);
  const left = phone ? Math.round((canvas.width - w) / 2) : area.x;
  const bytes = await sharp({ create: { width: canvas.width, height: canvas.height, channels: 3, background: bg } })
    .composite([
      { input: svg, left: 0, top: 0 },
      { input: shown, left, top: area.y },
    ])
    .png()
    .toBuffer();
  return { bytes, ext: '.png', note: `screenshot ${phone ? 'phone' : 'desktop'} ${canvas.width}x${canvas.height}, image ${w}x${h} at ${left},${area.y}` };
}
