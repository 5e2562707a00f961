import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanText, confidentWords, isMeaningful, mapBox, mergeLines, overlap, readingScore } from '../../src/ocr/lines.js';
import type { Box, OcrLine } from '../../src/types.js';

const line = (text: string, confidence: number, box: Box, region = 0, orientation: 'horizontal' | 'vertical' = 'horizontal'): OcrLine & { region: number } => ({
  text,
  confidence,
  box,
  orientation,
  language: orientation === 'vertical' ? 'jpn_vert' : 'eng+jpn',
  words: [],
  region,
});

describe('cleanText', () => {
  it('removes the spaces tesseract puts between Japanese characters', () => {
    assert.equal(cleanText('探し 物 は 何で すか'), '探し物は何ですか');
  });

  it('keeps spaces between Latin words and between Latin and Japanese', () => {
    assert.equal(cleanText('  The   quick fox\n'), 'The quick fox');
    assert.equal(cleanText('SAGASU で 探す'), 'SAGASU で探す');
  });

  it('joins full-width punctuation to the Japanese around it', () => {
    assert.equal(cleanText('何 ？ 本当 ！'), '何？本当！');
  });
});

describe('isMeaningful', () => {
  const filter = { minConfidence: 60 };
  it('drops lines under the confidence floor', () => {
    assert.equal(isMeaningful('LIGHTHOUSE', 59, filter), false);
    assert.equal(isMeaningful('LIGHTHOUSE', 60, filter), true);
  });

  it('drops lone punctuation and lone Latin letters', () => {
    assert.equal(isMeaningful('|', 95, filter), false);
    assert.equal(isMeaningful('~ ,', 95, filter), false);
    assert.equal(isMeaningful('E', 95, filter), false);
  });

  it('keeps a single kanji read confidently, not a doubtful one', () => {
    assert.equal(isMeaningful('海', 92, filter), true);
    assert.equal(isMeaningful('海', 70, filter), false);
  });
});

describe('readingScore', () => {
  it('prefers one long line to the same characters split into many short lines', () => {
    // Vertical text read horizontally comes out one character per line.
    assert.ok(readingScore([{ text: '静かに', confidence: 90 }]) > readingScore([{ text: '静', confidence: 92 }, { text: 'か', confidence: 96 }, { text: 'に', confidence: 96 }]));
  });

  it('is 0 for nothing read', () => {
    assert.equal(readingScore([]), 0);
  });
});

describe('overlap', () => {
  it('is the intersection over the smaller box', () => {
    assert.equal(overlap({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 }), 0.5);
    assert.equal(overlap({ x: 0, y: 0, w: 100, h: 100 }, { x: 10, y: 10, w: 5, h: 5 }), 1);
    assert.equal(overlap({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 }), 0);
  });
});

describe('mapBox', () => {
  it('undoes the crop scale and offset and clamps to the image', () => {
    assert.deepEqual(mapBox({ x: 10, y: 20, w: 40, h: 40 }, 2, 100, 50, 1000, 1000), { x: 105, y: 60, w: 20, h: 20 });
    assert.deepEqual(mapBox({ x: 0, y: 0, w: 400, h: 10 }, 1, 900, 0, 1000, 1000), { x: 900, y: 0, w: 100, h: 10 });
  });
});

describe('mergeLines', () => {
  it('keeps the better reading of a spot read twice', () => {
    const merged = mergeLines([line('GOODm<m', 82, { x: 0, y: 0, w: 100, h: 20 }, 0, 'vertical'), line('GOODBYE', 96, { x: 2, y: 1, w: 98, h: 19 })]);
    assert.deepEqual(merged.map((l) => l.text), ['GOODBYE']);
  });

  it('keeps lines that do not overlap, and drops the region marker of whole-image lines', () => {
    const merged = mergeLines([line('B', 90, { x: 0, y: 50, w: 100, h: 20 }), line('A', 90, { x: 0, y: 0, w: 100, h: 20 })]);
    assert.deepEqual(merged.map((l) => l.text), ['A', 'B']);
    assert.equal('region' in (merged[0] as object), false);
  });

  it('orders vertical columns of a bubble right to left, and bubbles top to bottom', () => {
    const merged = mergeLines([
      line('下の吹き出し', 90, { x: 10, y: 500, w: 20, h: 100 }, 2, 'vertical'),
      line('二列目', 90, { x: 100, y: 10, w: 20, h: 60 }, 1, 'vertical'),
      line('一列目', 90, { x: 130, y: 10, w: 20, h: 80 }, 1, 'vertical'),
    ]);
    assert.deepEqual(merged.map((l) => l.text), ['一列目', '二列目', '下の吹き出し']);
    // Region numbers 1, 2 become indices 0, 1 into OcrResult.regions.
    assert.deepEqual(merged.map((l) => l.region), [0, 0, 1]);
  });
});

describe('confidentWords', () => {
  const word = (text: string, confidence: number) => ({ text, confidence, box: { x: 0, y: 0, w: 1, h: 1 } });

  it('keeps the confident words of a weak line, joined without spaces in Japanese, with their letter-weighted confidence', () => {
    assert.deepEqual(confidentWords([word('史', 0), word('で', 0), word('すか', 92), word('ら', 89)], 60), {
      text: 'すから',
      confidence: 91,
      words: [word('すか', 92), word('ら', 89)],
    });
  });

  it('returns null when fewer than two letters are confident', () => {
    assert.equal(confidentWords([word('葛', 0), word('か', 35), word('に', 96)], 60), null);
  });
});
