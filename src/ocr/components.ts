/** One connected component: its label in the label map, its pixel count and its bounding box (inclusive). */
export interface Component {
  label: number;
  area: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Which grey pixels belong to components: darker than a level (ink), or at least as bright (paper). */
export type PixelClass = { below: number } | { atLeast: number };

/**
 * Labels the connected components of the grey pixels in `pixels`, with an explicit stack (no
 * recursion: a page-sized blob would overflow the call stack). Shared by the glyph finder (dark
 * ink, 8-connected) and the bubble finder (bright ground, 4-connected so a thin diagonal outline
 * still separates a bubble from its surroundings). The level test is inlined rather than passed
 * as a callback: this loop visits every pixel of the page and a callback doubled its time.
 * Returns the label map (0 = outside every component) and the components in scan order.
 */
export function connectedComponents(
  grey: Uint8Array,
  width: number,
  height: number,
  pixels: PixelClass,
  connectivity: 4 | 8,
): { labels: Int32Array; components: Component[] } {
  const n = width * height;
  const labels = new Int32Array(n);
  const stack = new Int32Array(n);
  const components: Component[] = [];
  const dark = 'below' in pixels;
  const level = 'below' in pixels ? pixels.below : pixels.atLeast;
  const member = (q: number): boolean => (dark ? (grey[q] as number) < level : (grey[q] as number) >= level);
  for (let start = 0; start < n; start++) {
    if (labels[start] !== 0 || !member(start)) continue;
    const label = components.length + 1;
    let sp = 0;
    stack[sp++] = start;
    labels[start] = label;
    let area = 0;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    while (sp > 0) {
      const p = stack[--sp] as number;
      area++;
      const x = p % width;
      const y = (p - x) / width;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 ? dy === 0 : dy !== 0 && connectivity === 4) continue;
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (labels[q] === 0 && (dark ? (grey[q] as number) < level : (grey[q] as number) >= level)) {
            labels[q] = label;
            stack[sp++] = q;
          }
        }
      }
    }
    components.push({ label, area, x0, y0, x1, y1 });
  }
  return { labels, components };
}
