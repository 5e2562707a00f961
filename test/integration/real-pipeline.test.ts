/**
 * The whole pipeline with every part real: sharp, tesseract.js OCR (eng+jpn, jpn_vert), the
 * MobileNetV2 model on TensorFlow.js, hnswlib HNSW, MiniSearch and a SQLite file, on the
 * project's generated fixture pages.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Sagasu } from '../../src/sagasu.js';
import { fixture } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

const pages = ['page-01.png', 'page-02.png', 'page-03.png', 'page-04.png', 'page-05.png', 'page-06.png'];
const photos = ['photo-01.png', 'photo-02.png', 'photo-03.png', 'photo-04.png'];
const words = JSON.parse(readFileSync(fixture('fixtures.json'), 'utf8')) as Record<string, { words: string[] }>;

let engine: Sagasu;

before(async () => {
  engine = await Sagasu.open({ dataDir: join(scratchDir('sagasu-real-'), 'data') });
  const summary = await engine.indexPaths([...pages, ...photos].map(fixture));
  assert.deepEqual([summary.added, summary.failed], [10, []]);
});

after(async () => {
  await engine?.close();
});

/** The top-left region covering about half the area, re-compressed as a JPEG. */
async function halfCrop(name: string, quality = 80): Promise<Buffer> {
  const image = sharp(fixture(name));
  const { width, height } = await image.metadata();
  const [w, h] = [Math.round(width! * 0.75), Math.round(height! * 0.67)];
  return sharp(fixture(name)).extract({ left: width! - w, top: 0, width: w, height: h }).jpeg({ quality }).toBuffer();
}

describe('indexing and searching with the real engines', () => {
  it('stores OCR text that contains the words of an English page', () => {
    const id = engine.store.sourcesByPath(fixture('page-02.png'))[0]!.imageId;
    const text = engine.store.getImage(id)!.ocrText.toUpperCase();
    for (const word of ['MIDNIGHT', 'BAKERY', 'OPENS']) assert.ok(text.includes(word), `"${word}" in ${JSON.stringify(text)}`);
  });

  it('stores the text regions OCR read, each line pointing at its region', () => {
    const image = engine.store.getImage(engine.store.sourcesByPath(fixture('page-03.png'))[0]!.imageId)!;
    assert.ok(image.ocrRegions.length > 0, 'regions recorded');
    for (const line of image.ocrLines) if (line.region !== undefined) assert.ok(line.region >= 0 && line.region < image.ocrRegions.length);
    assert.ok(image.ocrLines.some((line) => line.region !== undefined && line.orientation === 'vertical'), 'the vertical bubble was read as a region');
  });

  it('shows which OCR lines, with their boxes, hold the matched words', async () => {
    const result = await engine.search({ text: 'midnight bakery' }, { k: 1 });
    const lines = result.hits[0]!.reasons.text!.detail!.lines as Array<{ text: string; box: { x: number; y: number; w: number; h: number } }>;
    assert.ok(lines.length > 0 && lines.some((line) => /BAKERY/i.test(line.text)), JSON.stringify(lines));
    for (const { box } of lines) assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.w <= 600 && box.y + box.h <= 850, JSON.stringify(box));
  });

  it('finds the page from a cropped, re-compressed copy, ranked first', async () => {
    for (const name of ['page-02.png', 'page-03.png', 'page-05.png']) {
      const result = await engine.search({ image: await halfCrop(name) }, { k: 3 });
      assert.equal(result.hits[0]?.path, fixture(name), `${name}: got ${result.hits.map((h) => h.path).join(', ')}`);
      assert.ok(result.hits[0]!.reasons.visual, 'the visual source contributed');
    }
  });

  it('finds a picture without text from a small re-compressed copy, ranked first', async () => {
    for (const name of photos) {
      const query = await sharp(fixture(name)).resize({ width: 320 }).jpeg({ quality: 60 }).toBuffer();
      const result = await engine.search({ image: query }, { k: 3 });
      assert.equal(result.hits[0]?.path, fixture(name), name);
      assert.equal(result.hits[0]!.reasons.hash?.detail?.exact, false);
    }
  });

  it('compares colours: the copy of a photo matches its own colours better than any other photo, and shares none with a black-and-white page', async () => {
    for (const name of photos) {
      const query = await sharp(fixture(name)).resize({ width: 320 }).jpeg({ quality: 60 }).toBuffer();
      // Every indexed image (the fixtures are fewer than 36, so colour compares them all).
      const visual = (await engine.search({ image: query }, { k: 36, sources: ['visual'] })).hits;
      const colourOf = (path: string) => visual.find((hit) => hit.path === path)?.reasons.visual?.detail?.colour as number | undefined;
      const own = colourOf(fixture(name))!;
      assert.equal(typeof own, 'number', `${name}: its own colours compared`);
      for (const other of photos.filter((photo) => photo !== name)) {
        const theirs = colourOf(fixture(other));
        assert.ok(theirs === undefined || own > theirs, `${name}: own colours ${own}, ${other}'s ${theirs}`);
      }
      const page = visual.find((hit) => hit.path === fixture('page-02.png'));
      assert.equal(page?.reasons.visual?.detail?.colour, 0, name);
    }
  });

  it('finds an exact copy through its hash', async () => {
    const result = await engine.search({ image: readFileSync(fixture('photo-03.png')) }, { k: 1 });
    assert.deepEqual(result.hits[0]?.reasons.hash?.detail, { distance: 0, exact: true });
  });

  it('finds an image with words by --text alone', async () => {
    const result = await engine.search({ text: words['page-01.png']!.words.join(' ') }, { k: 3 });
    assert.equal(result.hits[0]?.path, fixture('page-01.png'));
    assert.deepEqual(Object.keys(result.hits[0]!.reasons), ['text']);
    assert.ok((result.hits[0]!.reasons.text!.detail!.matched as string[]).includes('lighthouse'));
  });

  it('finds a page by its words when the query is only its speech bubble text', async () => {
    const result = await engine.search({ text: 'midnight bakery' }, { k: 3 });
    assert.equal(result.hits[0]?.path, fixture('page-02.png'));
  });
});
