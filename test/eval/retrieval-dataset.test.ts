import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { detectLayout, loadGallery } from '../../src/eval/retrieval-dataset.js';
import { scratchDir } from '../helpers/scratch.js';

const png = (shade: number) => sharp({ create: { width: 20, height: 30, channels: 3, background: { r: shade, g: shade, b: shade } } }).png().toBuffer();

async function datasets(): Promise<string> {
  const root = scratchDir('sagasu-eval-dataset-');
  mkdirSync(join(root, 'manga', 'book', 'ja'), { recursive: true });
  writeFileSync(join(root, 'manga', 'book', 'ja', '000.jpg'), await png(10));
  writeFileSync(join(root, 'manga', 'book', 'ja', '001.jpg'), await png(20));
  writeFileSync(
    join(root, 'manga', 'annotation.json'),
    JSON.stringify([
      {
        book_title: 'book',
        pages: [
          { page_index: 1, image_paths: { ja: 'book/ja/000.jpg' }, frame: [{ x: 1, y: 2, w: 3, h: 4 }], text: [{ x: 5, y: 6, w: 7, h: 8, text_ja: '夢' }] },
          { page_index: 2, image_paths: { ja: 'book/ja/001.jpg' }, frame: [], text: [] },
          { page_index: 3, image_paths: { ja: 'book/ja/missing.jpg' } },
        ],
      },
    ]),
  );
  const p = join(root, 'products');
  mkdirSync(join(p, 'iconic', 'Packages', 'Milk'), { recursive: true });
  mkdirSync(join(p, 'iconic', 'Fruit', 'Apple'), { recursive: true });
  mkdirSync(join(p, 'val', 'Packages', 'Milk'), { recursive: true });
  writeFileSync(join(p, 'iconic', 'Packages', 'Milk', 'Milk_Iconic.jpg'), await png(30));
  writeFileSync(join(p, 'iconic', 'Fruit', 'Apple', 'Apple_Iconic.jpg'), await png(40));
  writeFileSync(join(p, 'val', 'Packages', 'Milk', 'Milk_001.jpg'), await png(50));
  writeFileSync(
    join(p, 'classes.csv'),
    'Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),Iconic Image Path (str),Product Description Path (str)\n' +
      'Apple,0,Apple,0,/iconic/Fruit/Apple/Apple_Iconic.jpg,/x.txt\n' +
      'Milk,1,Milk,1,/iconic/Packages/Milk/Milk_Iconic.jpg,/y.txt\n',
  );
  writeFileSync(join(p, 'val.txt'), 'val/Packages/Milk/Milk_001.jpg, 1, 1\nval/Packages/Milk/Missing.jpg, 1, 1\n');
  return root;
}

describe('loadGallery', () => {
  it('reads a folder holding manga/ and products/ as two collections with annotations and store photos', async () => {
    const root = await datasets();
    assert.equal(detectLayout(root), 'folder');
    const [manga, products] = await loadGallery(root);
    assert.equal(manga!.layout, 'manga');
    assert.deepEqual(manga!.items.map((i) => i.id), ['manga/book/ja/000.jpg', 'manga/book/ja/001.jpg']);
    assert.deepEqual(manga!.items[0]!.frames, [{ x: 1, y: 2, w: 3, h: 4 }]);
    assert.deepEqual(manga!.items[0]!.texts, [{ x: 5, y: 6, w: 7, h: 8, text: '夢' }]);
    assert.equal(products!.layout, 'products');
    assert.deepEqual(products!.items.map((i) => [i.id, i.tags]), [
      ['products/iconic/Fruit/Apple/Apple_Iconic.jpg', []],
      ['products/iconic/Packages/Milk/Milk_Iconic.jpg', ['packaged']],
    ]);
    assert.deepEqual(
      products!.realQueries.map((q) => [q.type, q.expectedId, q.tags]),
      [['store-photo', 'products/iconic/Packages/Milk/Milk_Iconic.jpg', ['packaged']]],
    );
  });
  it('reads any other folder as one collection where every image is its own identity', async () => {
    const root = await datasets();
    const [plain] = await loadGallery(join(root, 'manga', 'book'));
    assert.equal(plain!.layout, 'folder');
    assert.deepEqual(plain!.items.map((i) => i.id), ['book/ja/000.jpg', 'book/ja/001.jpg']);
  });
  it('refuses a folder that does not exist', async () => {
    await assert.rejects(loadGallery('/nonexistent/gallery'), /^SagasuError: sagasu: no such gallery folder: \/nonexistent\/gallery$/);
  });
});
