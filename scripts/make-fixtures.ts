/**
 * Renders the fixture images (test/fixtures/) and the demo gallery (data/samples/) from SVG
 * with sharp. Deterministic: every random choice comes from a seeded PRNG, so re-running it
 * gives the same drawings (byte-identical output needs the same librsvg and fonts).
 *
 * Japanese glyphs need a CJK font at generation time only (the outputs are committed):
 *   apt-get install -y fonts-noto-cjk
 *
 * Usage: node dist/scripts/make-fixtures.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { packageRoot } from '../src/paths.js';
import { seededRandom } from '../src/random.js';

const fixturesDir = join(packageRoot, 'test', 'fixtures');
const samplesDir = join(packageRoot, 'data', 'samples');
const galleryDir = join(samplesDir, 'gallery');
const queriesDir = join(samplesDir, 'queries');

const LATIN_FONT = 'DejaVu Sans';
const CJK_FONT = 'Noto Sans CJK JP';

const prng = seededRandom;

type Rng = () => number;
const between = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();
const int = (rng: Rng, lo: number, hi: number): number => Math.floor(between(rng, lo, hi + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const colour = (rng: Rng): string => `hsl(${int(rng, 0, 359)},${int(rng, 35, 90)}%,${int(rng, 25, 75)}%)`;
const grey = (rng: Rng): string => {
  const v = int(rng, 40, 200);
  return `rgb(${v},${v},${v})`;
};
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const svg = (w: number, h: number, body: string): Buffer =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${body}</svg>`);

/** Horizontal lines of text, left aligned. */
function textLines(lines: readonly string[], x: number, y: number, size: number, font: string, gap = 1.5): string {
  return lines
    .map(
      (line, i) =>
        `<text x="${x}" y="${y + i * size * gap}" font-family="${font}" font-size="${size}" fill="#000">${esc(line)}</text>`,
    )
    .join('');
}

/**
 * Vertical Japanese as in manga: one glyph per row, columns from right to left.
 * Drawn glyph by glyph because librsvg's writing-mode support is incomplete.
 */
function verticalColumns(columns: readonly string[], rightX: number, topY: number, size: number, font: string): string {
  let out = '';
  columns.forEach((column, c) => {
    const cx = rightX - c * size * 1.5;
    [...column].forEach((ch, r) => {
      const cy = topY + (r + 1) * size * 1.1;
      // Long vowel mark and dashes are rotated in vertical text.
      const rotate = /[ー〜…―]/.test(ch) ? ` transform="rotate(90 ${cx} ${cy - size * 0.35})"` : '';
      out += `<text x="${cx}" y="${cy}" font-family="${font}" font-size="${size}" text-anchor="middle" fill="#000"${rotate}>${esc(ch)}</text>`;
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Drawings (no text): used inside panels and for photos.

function hatching(rng: Rng, x: number, y: number, w: number, h: number, id: string): string {
  const step = int(rng, 5, 12);
  const angle = int(rng, 0, 179);
  return (
    `<defs><pattern id="${id}" width="${step}" height="${step}" patternUnits="userSpaceOnUse" patternTransform="rotate(${angle})">` +
    `<line x1="0" y1="0" x2="0" y2="${step}" stroke="#000" stroke-width="${between(rng, 0.8, 2.5).toFixed(1)}"/></pattern></defs>` +
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="url(#${id})"/>`
  );
}

function polygon(rng: Rng, cx: number, cy: number, r: number, fill: string): string {
  const n = int(rng, 3, 8);
  const pts: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i / n) * Math.PI * 2 + rng() * 0.5;
    const rr = r * between(rng, 0.5, 1);
    pts.push(`${(cx + Math.cos(a) * rr).toFixed(1)},${(cy + Math.sin(a) * rr).toFixed(1)}`);
  }
  return `<polygon points="${pts.join(' ')}" fill="${fill}" stroke="#000" stroke-width="${int(rng, 1, 4)}"/>`;
}

/** A stick-and-blob character: head, body, limbs. */
function figure(rng: Rng, cx: number, baseY: number, height: number, fill: string): string {
  const head = height * 0.16;
  const headY = baseY - height + head;
  const bodyTop = headY + head;
  const bodyBottom = baseY - height * 0.38;
  const sw = Math.max(2, height * 0.04).toFixed(1);
  const armA = between(rng, -0.6, 0.6);
  return (
    `<circle cx="${cx}" cy="${headY}" r="${head}" fill="#fff" stroke="#000" stroke-width="${sw}"/>` +
    `<circle cx="${cx - head * 0.35}" cy="${headY - head * 0.1}" r="${head * 0.12}" fill="#000"/>` +
    `<circle cx="${cx + head * 0.35}" cy="${headY - head * 0.1}" r="${head * 0.12}" fill="#000"/>` +
    `<path d="M${cx - head * 0.9} ${bodyTop} L${cx + head * 0.9} ${bodyTop} L${cx + head * 1.2} ${bodyBottom} L${cx - head * 1.2} ${bodyBottom} Z" fill="${fill}" stroke="#000" stroke-width="${sw}"/>` +
    `<line x1="${cx - head * 0.9}" y1="${bodyTop + 4}" x2="${cx - head * 2.2}" y2="${bodyTop + head * (1.5 + armA * 2)}" stroke="#000" stroke-width="${sw}"/>` +
    `<line x1="${cx + head * 0.9}" y1="${bodyTop + 4}" x2="${cx + head * 2.2}" y2="${bodyTop + head * (1.5 - armA * 2)}" stroke="#000" stroke-width="${sw}"/>` +
    `<line x1="${cx - head * 0.6}" y1="${bodyBottom}" x2="${cx - head * 0.9}" y2="${baseY}" stroke="#000" stroke-width="${sw}"/>` +
    `<line x1="${cx + head * 0.6}" y1="${bodyBottom}" x2="${cx + head * 0.9}" y2="${baseY}" stroke="#000" stroke-width="${sw}"/>`
  );
}

let gradientCounter = 0;
function gradientRect(rng: Rng, x: number, y: number, w: number, h: number, colours: readonly string[]): string {
  const id = `g${gradientCounter++}`;
  const radial = rng() < 0.4;
  const stops = colours.map((c, i) => `<stop offset="${(i / Math.max(1, colours.length - 1)).toFixed(2)}" stop-color="${c}"/>`).join('');
  const def = radial
    ? `<radialGradient id="${id}" cx="${between(rng, 0.2, 0.8).toFixed(2)}" cy="${between(rng, 0.2, 0.8).toFixed(2)}" r="0.8">${stops}</radialGradient>`
    : `<linearGradient id="${id}" x1="0" y1="0" x2="${between(rng, 0, 1).toFixed(2)}" y2="1">${stops}</linearGradient>`;
  return `<defs>${def}</defs><rect x="${x}" y="${y}" width="${w}" height="${h}" fill="url(#${id})"/>`;
}

/** One panel's contents; `style` varies so pages differ clearly from each other. */
function panelDrawing(rng: Rng, x: number, y: number, w: number, h: number, style: number, mono: boolean): string {
  const fill = (): string => (mono ? grey(rng) : colour(rng));
  let out = `<svg x="${x}" y="${y}" width="${w}" height="${h}" overflow="hidden">`;
  const kind = (style + int(rng, 0, 1)) % 5;
  if (kind === 0) {
    out += gradientRect(rng, 0, 0, w, h, [fill(), fill()]);
    for (let i = 0; i < int(rng, 3, 7); i++) {
      out += `<circle cx="${int(rng, 0, w)}" cy="${int(rng, 0, h)}" r="${int(rng, 10, Math.min(w, h) / 3)}" fill="${fill()}" stroke="#000" stroke-width="2"/>`;
    }
  } else if (kind === 1) {
    out += `<rect width="${w}" height="${h}" fill="#fff"/>` + hatching(rng, 0, 0, w, h * between(rng, 0.3, 0.7), `h${gradientCounter++}`);
    for (let i = 0; i < int(rng, 1, 3); i++) out += figure(rng, between(rng, w * 0.2, w * 0.8), h * 0.95, h * between(rng, 0.5, 0.85), fill());
  } else if (kind === 2) {
    out += `<rect width="${w}" height="${h}" fill="${mono ? '#eee' : colour(rng)}"/>`;
    for (let i = 0; i < int(rng, 4, 9); i++) out += polygon(rng, int(rng, 0, w), int(rng, 0, h), int(rng, 15, Math.min(w, h) / 2.5), fill());
  } else if (kind === 3) {
    // Speed lines radiating from a point, a manga staple.
    const cx = between(rng, w * 0.3, w * 0.7);
    const cy = between(rng, h * 0.3, h * 0.7);
    out += `<rect width="${w}" height="${h}" fill="#fff"/>`;
    const n = int(rng, 30, 70);
    for (let i = 0; i < n; i++) {
      const a = (i / n) * Math.PI * 2 + rng() * 0.05;
      const r0 = between(rng, 30, Math.min(w, h) / 3);
      out += `<line x1="${(cx + Math.cos(a) * r0).toFixed(1)}" y1="${(cy + Math.sin(a) * r0).toFixed(1)}" x2="${(cx + Math.cos(a) * w).toFixed(1)}" y2="${(cy + Math.sin(a) * w).toFixed(1)}" stroke="#000" stroke-width="${between(rng, 0.5, 3).toFixed(1)}"/>`;
    }
    out += figure(rng, cx, cy + h * 0.3, h * 0.5, fill());
  } else {
    // Landscape strip: sky gradient, hills, sun.
    out += gradientRect(rng, 0, 0, w, h, [mono ? '#ddd' : colour(rng), '#fff']);
    out += `<circle cx="${int(rng, 0, w)}" cy="${int(rng, 0, h / 2)}" r="${int(rng, 10, 40)}" fill="${fill()}"/>`;
    for (let i = 0; i < 3; i++) {
      const base = h * (0.55 + i * 0.15);
      let d = `M0 ${h} L0 ${base.toFixed(1)}`;
      for (let px = 0; px <= w; px += w / 6) d += ` L${px.toFixed(1)} ${(base - between(rng, 0, h * 0.2)).toFixed(1)}`;
      out += `<path d="${d} L${w} ${h} Z" fill="${fill()}" stroke="#000" stroke-width="1.5"/>`;
    }
  }
  return out + '</svg>';
}

/** Splits the page into 3-5 panels with gutters. */
function panelLayout(rng: Rng, width: number, height: number, count: number): { x: number; y: number; w: number; h: number }[] {
  const margin = 24;
  const gutter = 14;
  const rows = count <= 3 ? count : count === 4 ? 2 : 3;
  const panels: { x: number; y: number; w: number; h: number }[] = [];
  const innerH = height - margin * 2 - gutter * (rows - 1);
  const weights = Array.from({ length: rows }, () => between(rng, 0.8, 1.3));
  const total = weights.reduce((a, b) => a + b, 0);
  let y = margin;
  let left = count;
  for (let r = 0; r < rows; r++) {
    const h = Math.round((innerH * (weights[r] as number)) / total);
    const cols = Math.min(left - (rows - r - 1), r === rows - 1 ? left : rng() < 0.6 ? 2 : 1);
    const innerW = width - margin * 2 - gutter * (cols - 1);
    const split = between(rng, 0.35, 0.65);
    let x = margin;
    for (let c = 0; c < cols; c++) {
      const w = cols === 1 ? innerW : cols === 2 ? Math.round(c === 0 ? innerW * split : innerW * (1 - split)) : Math.round(innerW / cols);
      panels.push({ x, y, w, h });
      x += w + gutter;
    }
    left -= cols;
    y += h + gutter;
  }
  return panels;
}

interface PageSpec {
  readonly file: string;
  readonly seed: number;
  readonly style: number;
  readonly mono: boolean;
  /** Each bubble: horizontal English lines or vertical Japanese columns (right to left). */
  readonly bubbles: readonly { readonly text: readonly string[]; readonly orientation: 'horizontal' | 'vertical' }[];
}

/** A manga-like page; bubbles are placed in the panels (largest first) so they stay readable. */
function renderPage(spec: PageSpec, width: number, height: number): Buffer {
  const rng = prng(spec.seed);
  const panels = panelLayout(rng, width, height, int(rng, 3, 5));
  let body = `<rect width="${width}" height="${height}" fill="#fff"/>`;
  for (const p of panels) {
    body += panelDrawing(rng, p.x, p.y, p.w, p.h, spec.style, spec.mono);
    body += `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="none" stroke="#000" stroke-width="4"/>`;
  }
  const bySize = [...panels].sort((a, b) => b.w * b.h - a.w * a.h);
  spec.bubbles.forEach((bubble, i) => {
    const p = bySize[i % bySize.length] as (typeof panels)[number];
    const scale = width / 600;
    if (bubble.orientation === 'horizontal') {
      const size = Math.round(22 * scale);
      const longest = Math.max(...bubble.text.map((l) => l.length));
      const tw = longest * size * 0.68;
      const th = bubble.text.length * size * 1.35;
      const rx = tw / 2 + size * 1.2;
      const ry = th / 2 + size * 0.9;
      const cx = Math.min(Math.max(p.x + rx + 6, p.x + p.w / 2), width - rx - 6);
      const cy = p.y + ry + 8;
      body += `<path d="M${cx - rx * 0.2} ${cy + ry * 0.8} L${cx - rx * 0.5} ${cy + ry * 1.5} L${cx + rx * 0.1} ${cy + ry * 0.9} Z" fill="#fff" stroke="#000" stroke-width="2.5"/>`;
      body += `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#fff" stroke="#000" stroke-width="2.5"/>`;
      body += bubble.text
        .map(
          (line, j) =>
            `<text x="${cx}" y="${cy - th / 2 + size * (j + 1) * 1.35 - size * 0.3}" font-family="${LATIN_FONT}" font-weight="bold" font-size="${size}" text-anchor="middle" fill="#000">${esc(line)}</text>`,
        )
        .join('');
    } else {
      const size = Math.round(24 * scale);
      const longest = Math.max(...bubble.text.map((c) => [...c].length));
      const tw = bubble.text.length * size * 1.5;
      const th = longest * size * 1.1;
      const rx = tw / 2 + size * 1.1;
      const ry = th / 2 + size * 1.1;
      const cx = Math.min(p.x + p.w - rx - 8, Math.max(p.x + rx + 8, p.x + p.w * 0.7));
      const cy = Math.max(p.y + ry + 8, p.y + p.h / 2);
      body += `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#fff" stroke="#000" stroke-width="2.5"/>`;
      body += verticalColumns(bubble.text, cx + tw / 2 - size * 0.75, cy - th / 2 - size * 0.15, size, CJK_FONT);
    }
  });
  return svg(width, height, body);
}

/** A text-free "photo": gradient sky, shapes, ground; `theme` keeps the photos apart. */
function renderPhoto(seed: number, theme: number, width: number, height: number): Buffer {
  const rng = prng(seed);
  let body = '';
  if (theme === 0) {
    // Sunset over the sea.
    body += gradientRect(rng, 0, 0, width, height * 0.6, ['#ff7e40', '#ffd27a', '#fff0c0']);
    body += `<circle cx="${width * between(rng, 0.3, 0.7)}" cy="${height * 0.55}" r="${height * 0.12}" fill="#ff4010"/>`;
    body += gradientRect(rng, 0, height * 0.6, width, height * 0.4, ['#1a3a6a', '#0a1a3a']);
    for (let i = 0; i < 40; i++) {
      const yy = between(rng, height * 0.62, height);
      body += `<line x1="${between(rng, 0, width)}" y1="${yy}" x2="${between(rng, 0, width)}" y2="${yy}" stroke="#ffb070" stroke-opacity="0.5" stroke-width="2"/>`;
    }
  } else if (theme === 1) {
    // Green hills and trees.
    body += gradientRect(rng, 0, 0, width, height, ['#8ecbff', '#e8f6ff']);
    for (let i = 0; i < 4; i++) {
      const base = height * (0.45 + i * 0.14);
      let d = `M0 ${height} L0 ${base}`;
      for (let px = 0; px <= width; px += width / 10) d += ` Q${px + width / 20} ${base - between(rng, 20, 90)} ${px + width / 10} ${base}`;
      body += `<path d="${d} L${width} ${height} Z" fill="hsl(${int(rng, 90, 140)},${int(rng, 35, 60)}%,${30 + i * 8}%)"/>`;
    }
    for (let i = 0; i < 12; i++) {
      const tx = between(rng, 0, width);
      const ty = between(rng, height * 0.55, height * 0.95);
      const s = between(rng, 15, 40);
      body += `<rect x="${tx - s * 0.12}" y="${ty}" width="${s * 0.24}" height="${s * 0.8}" fill="#5a3a1a"/>`;
      body += `<polygon points="${tx},${ty - s * 1.6} ${tx - s * 0.7},${ty + s * 0.1} ${tx + s * 0.7},${ty + s * 0.1}" fill="#1f5a2a"/>`;
    }
  } else if (theme === 2) {
    // Night city: dark sky, stars, building blocks with lit windows.
    body += gradientRect(rng, 0, 0, width, height, ['#05051a', '#2a1a4a']);
    for (let i = 0; i < 80; i++) body += `<circle cx="${between(rng, 0, width)}" cy="${between(rng, 0, height * 0.5)}" r="${between(rng, 0.5, 1.8)}" fill="#fff"/>`;
    let x = 0;
    while (x < width) {
      const bw = between(rng, 40, 110);
      const bh = between(rng, height * 0.25, height * 0.75);
      body += `<rect x="${x}" y="${height - bh}" width="${bw}" height="${bh}" fill="hsl(${int(rng, 200, 260)},20%,${int(rng, 10, 22)}%)"/>`;
      for (let wy = height - bh + 10; wy < height - 10; wy += 18) {
        for (let wx = x + 6; wx < x + bw - 10; wx += 14) {
          if (rng() < 0.45) body += `<rect x="${wx}" y="${wy}" width="7" height="9" fill="#ffe08a"/>`;
        }
      }
      x += bw + between(rng, 2, 12);
    }
  } else {
    // Abstract still life: table, bowls and fruit.
    body += gradientRect(rng, 0, 0, width, height * 0.65, ['#c8b8a0', '#806a50']);
    body += `<rect y="${height * 0.65}" width="${width}" height="${height * 0.35}" fill="#6a3a1a"/>`;
    for (let i = 0; i < 9; i++) {
      const cx = between(rng, width * 0.1, width * 0.9);
      const cy = between(rng, height * 0.55, height * 0.8);
      const r = between(rng, 20, 60);
      body += `<ellipse cx="${cx}" cy="${cy}" rx="${r}" ry="${r * 0.85}" fill="hsl(${pick(rng, [0, 30, 50, 100, 280])},75%,${int(rng, 35, 55)}%)"/>`;
      body += `<ellipse cx="${cx - r * 0.3}" cy="${cy - r * 0.3}" rx="${r * 0.2}" ry="${r * 0.12}" fill="#fff" fill-opacity="0.5"/>`;
    }
  }
  return svg(width, height, body);
}

// ---------------------------------------------------------------------------------------------

/** Text of each fixture page, written to fixtures.json for tests. */
const PAGES: readonly PageSpec[] = [
  { file: 'page-01.png', seed: 101, style: 0, mono: false, bubbles: [{ text: ['WHERE IS THE', 'LIGHTHOUSE'], orientation: 'horizontal' }] },
  { file: 'page-02.png', seed: 202, style: 1, mono: true, bubbles: [{ text: ['MIDNIGHT', 'BAKERY OPENS'], orientation: 'horizontal' }] },
  { file: 'page-03.png', seed: 303, style: 2, mono: true, bubbles: [{ text: ['灯台は', 'どこ'], orientation: 'vertical' }] },
  { file: 'page-04.png', seed: 404, style: 3, mono: true, bubbles: [{ text: ['夜明けの', '図書館'], orientation: 'vertical' }, { text: ['静かに'], orientation: 'vertical' }] },
  { file: 'page-05.png', seed: 505, style: 4, mono: false, bubbles: [{ text: ['PURPLE', 'ELEPHANT PARADE'], orientation: 'horizontal' }, { text: ['GOODBYE'], orientation: 'horizontal' }] },
  { file: 'page-06.png', seed: 606, style: 3, mono: false, bubbles: [{ text: ['星空の', '約束だ'], orientation: 'vertical' }] },
];

const GALLERY: readonly PageSpec[] = [
  { file: 'gallery-01.jpg', seed: 1001, style: 1, mono: true, bubbles: [{ text: ['THE RED', 'UMBRELLA'], orientation: 'horizontal' }] },
  { file: 'gallery-02.jpg', seed: 1002, style: 3, mono: true, bubbles: [{ text: ['雨の日の', '約束'], orientation: 'vertical' }] },
  { file: 'gallery-03.jpg', seed: 1003, style: 0, mono: false, bubbles: [{ text: ['CAPTAIN', 'OF THE SKY'], orientation: 'horizontal' }, { text: ['海へ'], orientation: 'vertical' }] },
  { file: 'gallery-04.jpg', seed: 1004, style: 4, mono: false, bubbles: [{ text: ['秘密の', '地図'], orientation: 'vertical' }] },
  { file: 'gallery-05.jpg', seed: 1005, style: 2, mono: true, bubbles: [{ text: ['SILVER', 'TRAIN STATION'], orientation: 'horizontal' }] },
];

function words(spec: PageSpec): string[] {
  // English splits on spaces; a Japanese column is kept whole (no spaces to split on).
  return spec.bubbles.flatMap((b) => (b.orientation === 'horizontal' ? b.text.flatMap((l) => l.split(' ')) : [...b.text]));
}

async function png(svgBuf: Buffer, file: string, grey = false): Promise<void> {
  let img = sharp(svgBuf);
  if (grey) img = img.greyscale();
  await img.png({ compressionLevel: 9, palette: true, colours: grey ? 16 : 64, effort: 10 }).toFile(file);
}

async function main(): Promise<void> {
  mkdirSync(fixturesDir, { recursive: true });
  mkdirSync(queriesDir, { recursive: true });
  mkdirSync(galleryDir, { recursive: true });

  await png(
    svg(640, 240, `<rect width="640" height="240" fill="#fff"/>` + textLines(['The quick brown fox', 'jumps over the lazy dog', 'SAGASU 2026'], 30, 60, 36, LATIN_FONT)),
    join(fixturesDir, 'text-en.png'),
    true,
  );
  await png(
    svg(560, 200, `<rect width="560" height="200" fill="#fff"/>` + textLines(['探し物は何ですか', '見つけにくい物ですか'], 30, 75, 40, CJK_FONT, 1.8)),
    join(fixturesDir, 'text-ja-horizontal.png'),
    true,
  );
  await png(
    svg(240, 520, `<rect width="240" height="520" fill="#fff"/>` + verticalColumns(['探し物は何ですか', '見つけにくい物ですか'], 150, 20, 40, CJK_FONT)),
    join(fixturesDir, 'text-ja-vertical.png'),
    true,
  );

  const manifest: Record<string, { words: string[]; orientation: 'horizontal' | 'vertical' | 'mixed' | 'none' }> = {
    'text-en.png': { words: ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', 'SAGASU', '2026'], orientation: 'horizontal' },
    'text-ja-horizontal.png': { words: ['探し物は何ですか', '見つけにくい物ですか'], orientation: 'horizontal' },
    'text-ja-vertical.png': { words: ['探し物は何ですか', '見つけにくい物ですか'], orientation: 'vertical' },
  };
  const orientationOf = (spec: PageSpec): 'horizontal' | 'vertical' | 'mixed' => {
    const set = new Set(spec.bubbles.map((b) => b.orientation));
    return set.size > 1 ? 'mixed' : (spec.bubbles[0]?.orientation ?? 'horizontal');
  };
  for (const spec of PAGES) {
    await png(renderPage(spec, 600, 850), join(fixturesDir, spec.file), spec.mono);
    manifest[spec.file] = { words: words(spec), orientation: orientationOf(spec) };
  }
  for (let i = 0; i < 4; i++) {
    const file = `photo-0${i + 1}.png`;
    await png(renderPhoto(7000 + i, i, 640, 480), join(fixturesDir, file));
    manifest[file] = { words: [], orientation: 'none' };
  }
  writeFileSync(join(fixturesDir, 'fixtures.json'), JSON.stringify(manifest, null, 2) + '\n');

  // Gallery: five pages and three photos, 800 px wide, JPEG q85.
  const galleryManifest: Record<string, { words: string[] }> = {};
  for (const spec of GALLERY) {
    await sharp(renderPage(spec, 800, 1130)).jpeg({ quality: 85, mozjpeg: true }).toFile(join(galleryDir, spec.file));
    galleryManifest[spec.file] = { words: words(spec) };
  }
  for (let i = 0; i < 3; i++) {
    const file = `gallery-0${GALLERY.length + i + 1}.jpg`;
    // Themes shifted and seeds changed so the gallery photos differ from the test photos.
    await sharp(renderPhoto(9000 + i, (i + 1) % 4, 800, 600)).jpeg({ quality: 85, mozjpeg: true }).toFile(join(galleryDir, file));
    galleryManifest[file] = { words: [] };
  }

  // Queries derived from gallery images.
  const g3 = join(galleryDir, 'gallery-03.jpg');
  const m3 = await sharp(g3).metadata();
  const cw = Math.round((m3.width as number) * 0.71);
  const ch = Math.round((m3.height as number) * 0.71);
  await sharp(g3)
    .extract({ left: (m3.width as number) - cw, top: 0, width: cw, height: ch })
    .jpeg({ quality: 85 })
    .toFile(join(queriesDir, 'crop-of-gallery-03.jpg'));
  await sharp(join(galleryDir, 'gallery-05.jpg')).resize({ width: 400 }).jpeg({ quality: 60 }).toFile(join(queriesDir, 'small-recompressed-of-gallery-05.jpg'));
  // "Phone photo": slightly rotated on a grey desk, blurred, darker, re-compressed.
  const g2 = join(galleryDir, 'gallery-02.jpg');
  const rotated = await sharp(g2).rotate(4, { background: '#5a5a5a' }).blur(1.2).modulate({ brightness: 0.88 }).toBuffer();
  await sharp(rotated).resize({ width: 720 }).jpeg({ quality: 75 }).toFile(join(queriesDir, 'phone-photo-of-gallery-02.jpg'));

  writeFileSync(join(samplesDir, 'samples.json'), JSON.stringify(galleryManifest, null, 2) + '\n');
  writeFileSync(
    join(samplesDir, 'README.md'),
    [
      '# Sample gallery',
      '',
      'Synthetic images generated by `scripts/make-fixtures.ts` (`npm run build && node dist/scripts/make-fixtures.js`),',
      'licensed with the project (MIT). `samples.json` lists the words in each gallery image.',
      '',
      '- `gallery/gallery-01.jpg` .. `gallery-05.jpg`: manga-like pages with English or vertical Japanese speech bubbles.',
      '- `gallery-06.jpg` .. `gallery-08.jpg`: text-free "photos".',
      '- `queries/`: pictures derived from gallery images; the file name says which one:',
      '  - `crop-of-gallery-03.jpg`: the top-right half (by area) of gallery-03.',
      '  - `small-recompressed-of-gallery-05.jpg`: gallery-05 at half size, JPEG quality 60.',
      '  - `phone-photo-of-gallery-02.jpg`: gallery-02 rotated 4 degrees on a grey background, blurred, darker, re-compressed.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
