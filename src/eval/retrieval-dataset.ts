/**
 * Gallery layouts the retrieval evaluation understands, read into one shape: identities (each
 * indexed image is one) with optional annotations, plus real query photos with their answer.
 *
 * - **folder**: any folder of images; every image is its own identity, no annotations.
 * - **manga**: `annotation.json` at the root (OpenMantra): per page, panel boxes (`frame`) and
 *   text boxes with their transcription (`text`, `text_ja`).
 * - **products**: `classes.csv` (one iconic studio image per class) and `val.txt` (store photos:
 *   path, class id, coarse class id). Iconic images are indexed; store photos are real queries.
 * A folder holding `manga/` and/or `products/` with those layouts is read as both, side by side.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { SagasuError } from '../errors.js';
import { expandPaths } from '../sagasu.js';
import type { Box } from '../types.js';

export type GalleryLayout = 'folder' | 'manga' | 'products';

export interface TextBox extends Box {
  /** The human transcription of the box. */
  text: string;
}

export interface GalleryItem {
  /** Unique across the whole evaluation: `<collection>/<path relative to the collection root>`. */
  id: string;
  /** The image file that is indexed. */
  path: string;
  collection: string;
  /** Panel boxes, in the image's pixel coordinates (manga). */
  frames?: Box[];
  /** Text boxes with their transcriptions (manga). */
  texts?: TextBox[];
  /** Labels used to report subsets, e.g. `packaged` for products with printed packaging. */
  tags?: string[];
}

/** A real photo whose answer is a gallery identity (e.g. a store photo of a product). */
export interface RealQuery {
  path: string;
  collection: string;
  /** Query type it is reported under, e.g. `store-photo`. */
  type: string;
  expectedId: string;
  tags?: string[];
}

export interface EvalCollection {
  name: string;
  layout: GalleryLayout;
  root: string;
  items: GalleryItem[];
  realQueries: RealQuery[];
}

/** Which layout a folder has, by its marker files. */
export function detectLayout(root: string): GalleryLayout {
  if (existsSync(join(root, 'annotation.json'))) return 'manga';
  if (existsSync(join(root, 'classes.csv'))) return 'products';
  return 'folder';
}

/**
 * Reads a gallery folder. A folder without its own marker files but with `manga/` or
 * `products/` sub-folders that have them gives one collection per such sub-folder.
 */
export async function loadGallery(path: string): Promise<EvalCollection[]> {
  const root = resolve(path);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new SagasuError('NOT_FOUND', `no such gallery folder: ${path}`);
  const layout = detectLayout(root);
  if (layout === 'folder') {
    const children = ['manga', 'products'].map((name) => join(root, name)).filter((dir) => existsSync(dir) && detectLayout(dir) !== 'folder');
    if (children.length > 0) return Promise.all(children.map((dir) => loadCollection(dir, basename(dir))));
  }
  return [await loadCollection(root, basename(root))];
}

export async function loadCollection(root: string, name: string): Promise<EvalCollection> {
  const layout = detectLayout(root);
  if (layout === 'manga') return loadManga(root, name);
  if (layout === 'products') return loadProducts(root, name);
  const files = await expandPaths([root]);
  if (files.length === 0) throw new SagasuError('NOT_FOUND', `no images under ${root}`);
  const items = files.map((file) => ({ id: `${name}/${relative(root, file)}`, path: file, collection: name }));
  return { name, layout, root, items, realQueries: [] };
}

interface MantraBox {
  x: number;
  y: number;
  w: number;
  h: number;
  text_ja?: string;
}

interface MantraBook {
  book_title?: string;
  pages: Array<{ image_paths: { ja?: string }; frame?: MantraBox[]; text?: MantraBox[] }>;
}

function loadManga(root: string, name: string): EvalCollection {
  let books: MantraBook[];
  try {
    books = JSON.parse(readFileSync(join(root, 'annotation.json'), 'utf8')) as MantraBook[];
  } catch (error) {
    throw new SagasuError('INVALID_OPTION', `cannot read ${join(root, 'annotation.json')}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(books)) throw new SagasuError('INVALID_OPTION', `${join(root, 'annotation.json')} is not a list of books`);
  const items: GalleryItem[] = [];
  for (const book of books) {
    for (const page of book.pages ?? []) {
      const rel = page.image_paths?.ja;
      if (!rel) continue;
      const path = join(root, rel);
      if (!existsSync(path)) continue;
      const box = (b: MantraBox): Box => ({ x: b.x, y: b.y, w: b.w, h: b.h });
      items.push({
        id: `${name}/${rel}`,
        path,
        collection: name,
        frames: (page.frame ?? []).map(box),
        texts: (page.text ?? []).map((b) => ({ ...box(b), text: b.text_ja ?? '' })),
      });
    }
  }
  if (items.length === 0) throw new SagasuError('NOT_FOUND', `annotation.json under ${root} names no existing page`);
  return { name, layout: 'manga', root, items, realQueries: [] };
}

/** Splits one CSV line (no quoted commas appear in these files, but quotes are tolerated). */
function csvCells(line: string): string[] {
  return line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
}

function loadProducts(root: string, name: string): EvalCollection {
  const lines = readFileSync(join(root, 'classes.csv'), 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const byClass = new Map<string, GalleryItem>();
  const items: GalleryItem[] = [];
  for (const line of lines.slice(1)) {
    const cells = csvCells(line);
    const classId = cells[1];
    const iconic = cells[4];
    if (classId === undefined || !iconic) continue;
    const rel = iconic.replace(/^\/+/, '');
    const path = join(root, rel);
    if (!existsSync(path)) continue;
    // Printed packaging carries text (OCR can help); fruit and vegetables are visual only.
    const tags = rel.split('/').includes('Packages') ? ['packaged'] : [];
    const item: GalleryItem = { id: `${name}/${rel}`, path, collection: name, tags };
    byClass.set(classId, item);
    items.push(item);
  }
  if (items.length === 0) throw new SagasuError('NOT_FOUND', `classes.csv under ${root} names no existing iconic image`);
  const realQueries: RealQuery[] = [];
  const valFile = join(root, 'val.txt');
  if (existsSync(valFile)) {
    for (const line of readFileSync(valFile, 'utf8').split(/\r?\n/)) {
      const [rel, classId] = csvCells(line);
      if (!rel || classId === undefined) continue;
      const item = byClass.get(classId);
      const path = join(root, rel);
      if (!item || !existsSync(path)) continue;
      realQueries.push({ path, collection: name, type: 'store-photo', expectedId: item.id, tags: item.tags ?? [] });
    }
  }
  return { name, layout: 'products', root, items, realQueries };
}
