/**
 * Smoke test of the OCR evaluation (real tesseract on the fixtures in test/fixtures/ocr-eval,
 * annotated in the OpenMantra format), so the `sagasu eval-ocr` pipeline runs in CI without the
 * real pages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateOcr, loadAnnotatedPages } from '../../src/eval/ocr-eval.js';
import { evaluateTextIdentification, makeQueries, seededRandom } from '../../src/eval/text-identification.js';
import { TesseractOcrEngine } from '../../src/ocr/index.js';
import { fixturesDir } from '../helpers/paths.js';

const dir = join(fixturesDir, 'ocr-eval');

describe('loadAnnotatedPages', () => {
  it('reads titles, pages and boxes, with image paths made absolute', () => {
    const pages = loadAnnotatedPages(dir);
    assert.deepEqual(
      pages.map((p) => `${p.title}/${p.index}:${p.boxes.length}`),
      ['fixtures-text/1:2', 'fixtures-text/2:2', 'fixtures-text/3:1', 'fixtures-pages/1:1', 'fixtures-pages/2:2', 'fixtures-pages/3:1'],
    );
    assert.equal(pages[0]?.file, join(fixturesDir, 'text-ja-vertical.png'));
    assert.deepEqual(pages[3]?.boxes[0], { x: 384, y: 662, w: 56, h: 75, text: '灯台はどこ' });
  });

  it('throws NOT_FOUND for a folder without annotation.json', () => {
    assert.throws(() => loadAnnotatedPages(fixturesDir + '/nope'), (e: unknown) => (e as { code?: string }).code === 'NOT_FOUND');
  });
});

describe('makeQueries', () => {
  it('is deterministic for a seed and stays inside the image', () => {
    const pages = loadAnnotatedPages(dir);
    const sizes = new Map(pages.map((p) => [p.file, { width: 600, height: 900 }]));
    const a = makeQueries(pages, sizes, { seed: 7 });
    const b = makeQueries(pages, sizes, { seed: 7 });
    assert.deepEqual(a, b);
    assert.equal(a.length, 9);
    for (const q of a) assert.ok(q.crop.x >= 0 && q.crop.y >= 0 && q.crop.x + q.crop.w <= 600 && q.crop.y + q.crop.h <= 900);
  });

  it('draws the same numbers from the same seed', () => {
    const r = seededRandom(1);
    const s = seededRandom(1);
    assert.deepEqual([r(), r(), r()], [s(), s(), s()]);
  });
});

describe('evaluateOcr (real tesseract, fixtures)', () => {
  const ocr = new TesseractOcrEngine({ workers: 1 });
  before(() => ocr.start());
  after(() => ocr.close());

  it('reads the fixture text with high character recall and identifies pages from crops', async () => {
    const pages = loadAnnotatedPages(dir);
    const evaluation = await evaluateOcr(pages, ocr);
    assert.equal(evaluation.pages.length, 6);
    assert.deepEqual(Object.keys(evaluation.byTitle), ['fixtures-text', 'fixtures-pages']);
    assert.equal(evaluation.byTitle['fixtures-text']?.recall, 1);
    assert.ok(evaluation.overall.recall >= 0.9, `recall ${evaluation.overall.recall}`);
    assert.ok(evaluation.overall.precision >= 0.9, `precision ${evaluation.overall.precision}`);
    for (const page of evaluation.pages) assert.ok(page.seconds > 0 && page.cpuSeconds >= 0);

    const texts = new Map(evaluation.pages.map((e) => [e.page.file, e.result.text]));
    const identification = await evaluateTextIdentification(pages, texts, ocr);
    assert.equal(identification.queries, 9);
    assert.ok(identification.rank5 >= 0.6, `rank-5 ${identification.rank5}`);
  });
});
