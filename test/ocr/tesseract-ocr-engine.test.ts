/**
 * Real tesseract.js on the generated fixtures (no mocks). One engine per file: worker start is
 * the expensive part. Expectations are exact where measurement showed them to hold every time
 * (the fixtures are committed PNGs and tesseract is deterministic on the same input).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { isSagasuError } from '../../src/errors.js';
import { type OcrRunTrace, TesseractOcrEngine, defaultOcrOptions } from '../../src/ocr/index.js';
import type { DecodedImage, OcrResult } from '../../src/types.js';
import { fixture } from '../helpers/paths.js';

const decode = async (file: string): Promise<DecodedImage> => (await decodeImage(readFileSync(file))).image;

const manifest = JSON.parse(readFileSync(fixture('fixtures.json'), 'utf8')) as Record<string, { words: string[]; orientation: string }>;

function assertBoxesInside(result: OcrResult, image: DecodedImage): void {
  for (const line of result.lines) {
    for (const box of [line.box, ...line.words.map((w) => w.box)]) {
      assert.ok(box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0, `empty or negative box ${JSON.stringify(box)}`);
      assert.ok(box.x + box.w <= image.width && box.y + box.h <= image.height, `box ${JSON.stringify(box)} outside ${image.width}x${image.height}`);
    }
  }
}

const rejectsWithCode = async (promise: Promise<unknown>, code: string): Promise<void> => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isSagasuError(error), `expected a SagasuError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, /^sagasu: /);
    return true;
  });
};

describe('TesseractOcrEngine', () => {
  const ocr = new TesseractOcrEngine();
  before(async () => {
    await ocr.start();
  });
  after(async () => {
    await ocr.close();
  });

  describe('id', () => {
    it('names the engine version, the languages and the traineddata flavour', () => {
      assert.match(ocr.id, /^tesseract\.js@\d+\.\d+\.\d+\/eng\+jpn\+jpn_vert@4\.0\.0_best_int$/);
    });
  });

  describe('recognize', () => {
    it('reads every English word of text-en.png, line by line', async () => {
      const image = await decode(fixture('text-en.png'));
      const result = await ocr.recognize(image);
      assert.deepEqual(
        result.lines.map((l) => l.text.toLowerCase()),
        ['the quick brown fox', 'jumps over the lazy dog', 'sagasu 2026'],
      );
      assert.equal(result.text, result.lines.map((l) => l.text).join('\n'));
      assert.ok(result.lines.every((l) => l.orientation === 'horizontal' && l.language === 'eng+jpn'));
      assert.deepEqual(
        result.lines.flatMap((l) => l.words.map((w) => w.text.toLowerCase())),
        manifest['text-en.png']!.words.map((w) => w.toLowerCase()),
      );
      assertBoxesInside(result, image);
    });

    it('reads horizontal Japanese exactly, without spaces between characters', async () => {
      const image = await decode(fixture('text-ja-horizontal.png'));
      const result = await ocr.recognize(image);
      assert.deepEqual(result.lines.map((l) => l.text), ['探し物は何ですか', '見つけにくい物ですか']);
      assert.ok(result.lines.every((l) => l.orientation === 'horizontal'));
      assertBoxesInside(result, image);
    });

    it('reads vertical Japanese exactly, columns right to left, as vertical lines', async () => {
      const image = await decode(fixture('text-ja-vertical.png'));
      const result = await ocr.recognize(image);
      assert.deepEqual(result.lines.map((l) => l.text), ['探し物は何ですか', '見つけにくい物ですか']);
      for (const line of result.lines) {
        assert.equal(line.orientation, 'vertical');
        assert.equal(line.language, 'jpn_vert');
        assert.ok(line.box.h > line.box.w * 4, `a column is tall and narrow: ${JSON.stringify(line.box)}`);
      }
      assertBoxesInside(result, image);
    });

    it('finds the words of the speech bubbles on every manga-like page', async () => {
      for (const file of ['page-01.png', 'page-02.png', 'page-03.png', 'page-04.png', 'page-05.png', 'page-06.png']) {
        const image = await decode(fixture(file));
        const result = await ocr.recognize(image);
        const expected = manifest[file]!;
        for (const word of expected.words) {
          assert.ok(result.text.toLowerCase().includes(word.toLowerCase()), `${file}: "${word}" not in ${JSON.stringify(result.text)}`);
        }
        const orientations = new Set(result.lines.map((l) => l.orientation));
        assert.deepEqual([...orientations], [expected.orientation], `${file} orientation`);
        assertBoxesInside(result, image);
      }
    });

    it('records the regions it read, and each line points at the region it came from', async () => {
      const result = await ocr.recognize(await decode(fixture('page-03.png')));
      assert.deepEqual(result.regions, [{ box: { x: 373, y: 651, w: 78, h: 97 }, kind: 'block', orientation: 'vertical' }]);
      assert.deepEqual(
        result.lines.map((l) => [l.text, l.region]),
        [
          ['灯台は', 0],
          ['どこ', 0],
        ],
      );
    });

    it('reports each tesseract run to trace: what was read, its size, the lines kept and the time', async () => {
      const runs: OcrRunTrace[] = [];
      const traced = new TesseractOcrEngine({ workers: 1, trace: (run) => runs.push(run) });
      try {
        const result = await traced.recognize(await decode(fixture('text-en.png')));
        assert.equal(result.lines.length, 3);
        // The slot's two workers run at once, so the order of the reports is not fixed.
        const sorted = [...runs].sort((a, b) => a.target.localeCompare(b.target));
        assert.deepEqual(
          sorted.map(({ ms, ...rest }) => rest),
          [
            { target: 'block', orientation: 'horizontal', pixels: 192_681, lines: 3 },
            { target: 'whole', orientation: 'horizontal', pixels: 640 * 240, lines: 3 },
          ],
        );
        assert.ok(sorted.every((run) => run.ms > 0));
      } finally {
        await traced.close();
      }
    });

    it('still reads the text when trace throws, and logs the error', async () => {
      const logged: string[] = [];
      const traced = new TesseractOcrEngine({
        workers: 1,
        trace: () => {
          throw new Error('observer failed');
        },
        logger: (message) => logged.push(message),
      });
      try {
        const result = await traced.recognize(await decode(fixture('text-en.png')));
        assert.equal(result.lines.length, 3);
        assert.deepEqual(logged, ['OCR trace callback threw', 'OCR trace callback threw']);
      } finally {
        await traced.close();
      }
    });

    it('reads whole images only when regions are turned off', async () => {
      const wholeOnly = new TesseractOcrEngine({ workers: 1, textBlocks: false, bubbles: false });
      try {
        const result = await wholeOnly.recognize(await decode(fixture('text-en.png')));
        assert.deepEqual(result.regions, []);
        assert.ok(result.lines.every((l) => l.region === undefined));
        assert.match(result.text.toLowerCase(), /quick brown fox/);
      } finally {
        await wholeOnly.close();
      }
    });

    it('reads light text on dark ground through the whole-image pass, which never-never skips', async () => {
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="200"><rect width="640" height="200" fill="#000"/>' +
          '<text x="40" y="120" font-family="DejaVu Sans" font-size="64" fill="#fff">LIGHTHOUSE</text></svg>',
      );
      const image = (await decodeImage(await sharp(svg).png().toBuffer())).image;
      assert.deepEqual((await ocr.recognize(image)).text, 'LIGHTHOUSE');
      const gated = new TesseractOcrEngine({ workers: 1, wholeImageHorizontal: 'never', wholeImageVertical: 'never' });
      try {
        const result = await gated.recognize(image);
        assert.deepEqual([result.text, result.regions], ['', []]);
      } finally {
        await gated.close();
      }
    });

    it('reads nothing in photos without text', async () => {
      for (const file of ['photo-01.png', 'photo-02.png', 'photo-03.png', 'photo-04.png']) {
        const result = await ocr.recognize(await decode(fixture(file)));
        assert.equal(result.text, '', `${file}: ${JSON.stringify(result.text)}`);
        assert.deepEqual(result.lines, []);
      }
    });

    it('serves two concurrent calls', async () => {
      const [en, ja] = await Promise.all([ocr.recognize(await decode(fixture('text-en.png'))), ocr.recognize(await decode(fixture('text-ja-vertical.png')))]);
      assert.equal(en.lines.length, 3);
      assert.equal(ja.text, '探し物は何ですか\n見つけにくい物ですか');
    });

    it('rejects with TIMEOUT when aborted while running, and the next call still works', async () => {
      const page = await decode(fixture('page-04.png'));
      const controller = new AbortController();
      const running = ocr.recognize(page, { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await rejectsWithCode(running, 'TIMEOUT');
      const result = await ocr.recognize(await decode(fixture('text-en.png')));
      assert.equal(result.lines.length, 3);
    });

    it('rejects with TIMEOUT at once when the signal is already aborted', async () => {
      await rejectsWithCode(ocr.recognize(await decode(fixture('text-en.png')), { signal: AbortSignal.abort() }), 'TIMEOUT');
    });

    it('rejects only the aborted call among queued ones', async () => {
      const image = await decode(fixture('page-01.png'));
      const controller = new AbortController();
      // More calls than workers, so the last one waits in the queue when it is aborted.
      const calls = Array.from({ length: defaultOcrOptions.workers + 1 }, (_, i) =>
        ocr.recognize(image, i === defaultOcrOptions.workers ? { signal: controller.signal } : {}),
      );
      controller.abort();
      const settled = await Promise.allSettled(calls);
      assert.deepEqual(
        settled.map((s) => s.status),
        [...Array.from({ length: defaultOcrOptions.workers }, () => 'fulfilled'), 'rejected'],
      );
      const last = settled.at(-1) as PromiseRejectedResult;
      assert.equal((last.reason as { code: string }).code, 'TIMEOUT');
    });

    it('refuses pixel data too short for the stated size, and keeps working', async () => {
      const image: DecodedImage = { data: Buffer.alloc(10), width: 64, height: 48, channels: 3, original: { width: 64, height: 48, format: 'raw', bytes: 10 } };
      await rejectsWithCode(ocr.recognize(image), 'CORRUPT_IMAGE');
      assert.equal((await ocr.recognize(await decode(fixture('text-en.png')))).lines.length, 3);
    });

    it('returns an empty result for an all-white image', async () => {
      const data = Buffer.alloc(64 * 48 * 3, 255);
      const result = await ocr.recognize({ data, width: 64, height: 48, channels: 3, original: { width: 64, height: 48, format: 'raw', bytes: data.length } });
      assert.deepEqual(result, { text: '', lines: [], regions: [] });
    });
  });
});

describe('TesseractOcrEngine lifecycle', () => {
  describe('close', () => {
    it('makes later calls reject with a clear error', async () => {
      const ocr = new TesseractOcrEngine({ workers: 1 });
      await ocr.recognize(await decode(fixture('text-ja-horizontal.png')));
      await ocr.close();
      await rejectsWithCode(ocr.recognize(await decode(fixture('text-en.png'))), 'OCR_FAILED');
      await assert.rejects(ocr.recognize(await decode(fixture('text-en.png'))), /engine is closed/);
      await ocr.close(); // closing twice is harmless
    });

    it('rejects a call under way and one waiting in the queue', async () => {
      const ocr = new TesseractOcrEngine({ workers: 1 });
      await ocr.start();
      const page = await decode(fixture('page-04.png'));
      const running = ocr.recognize(page);
      const waiting = ocr.recognize(page);
      const closedError = { code: 'OCR_FAILED', message: 'sagasu: the OCR engine is closed; create a new one' };
      const checks = [assert.rejects(running, closedError), assert.rejects(waiting, closedError)];
      await new Promise((resolve) => setTimeout(resolve, 20));
      await ocr.close();
      await Promise.all(checks);
    });

    it('works on an engine that never started a worker', async () => {
      const ocr = new TesseractOcrEngine();
      await ocr.close();
      await rejectsWithCode(ocr.start(), 'OCR_FAILED');
    });
  });

  describe('start', () => {
    it('rejects with OCR_FAILED for damaged traineddata instead of crashing the process, and so do calls', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sagasu-bad-tessdata-'));
      try {
        writeFileSync(join(dir, 'eng.traineddata'), Buffer.from('not a traineddata file, just text long enough'));
        const ocr = new TesseractOcrEngine({ langPath: dir, gzip: false, horizontalLanguages: 'eng', verticalLanguages: null, workers: 1 });
        await assert.rejects(ocr.start(), { code: 'OCR_FAILED', message: /eng\.traineddata is damaged or not a traineddata file/ });
        await rejectsWithCode(ocr.recognize(await decode(fixture('text-en.png'))), 'OCR_FAILED');
        await ocr.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('constructor', () => {
    it('refuses a bad worker count', () => {
      assert.throws(() => new TesseractOcrEngine({ workers: 0 }), { code: 'INVALID_OPTION', message: 'sagasu: option "workers" must be a positive integer, got 0' });
    });

    it('refuses a negative or fractional region cap', () => {
      assert.throws(() => new TesseractOcrEngine({ maxRegions: 1.5 }), { code: 'INVALID_OPTION', message: 'sagasu: option "maxRegions" must be a whole number >= 0, got 1.5' });
      assert.throws(() => new TesseractOcrEngine({ maxRegionPixels: -1 }), { code: 'INVALID_OPTION', message: 'sagasu: option "maxRegionPixels" must be >= 0, got -1' });
    });

    it('refuses a langPath without the traineddata, instead of letting tesseract.js go to the network', () => {
      assert.throws(() => new TesseractOcrEngine({ langPath: '/nonexistent' }), { code: 'NOT_FOUND', message: 'sagasu: traineddata file missing: /nonexistent/eng.traineddata.gz' });
    });

    it('refuses a language whose npm package is not installed', () => {
      assert.throws(() => new TesseractOcrEngine({ horizontalLanguages: 'eng+kor' }), {
        code: 'NOT_FOUND',
        message: 'sagasu: traineddata for "kor" is not installed: add the npm package @tesseract.js-data/kor',
      });
    });
  });
});
