import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { findBubbles } from '../../src/ocr/text-regions.js';
import { fixture } from '../helpers/paths.js';

async function greyOf(svgOrFile: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(svgOrFile).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const svg = (body: string): Buffer =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="#777"/>${body}</svg>`);

describe('findBubbles', () => {
  it('finds a white ellipse with marks inside and blanks what lies outside it', async () => {
    const { data, width, height } = await greyOf(
      svg(
        '<ellipse cx="150" cy="100" rx="80" ry="50" fill="#fff" stroke="#000" stroke-width="3"/>' +
          '<rect x="110" y="90" width="80" height="6" fill="#000"/><rect x="120" y="104" width="60" height="6" fill="#000"/>',
      ),
    );
    const bubbles = findBubbles(data, width, height);
    assert.equal(bubbles.length, 1);
    const { box, pixels } = bubbles[0]!;
    // Inside the outline: from about x 72 to 228, y 52 to 148.
    assert.ok(Math.abs(box.x - 72) <= 2 && Math.abs(box.y - 52) <= 2 && Math.abs(box.w - 157) <= 3 && Math.abs(box.h - 97) <= 3, JSON.stringify(box));
    assert.equal(pixels.length, box.w * box.h);
    assert.equal(pixels[0], 255, 'the grey corner outside the ellipse is blanked');
    const markRow = 93 - box.y;
    assert.ok((pixels[markRow * box.w + (150 - box.x)] as number) < 50, 'the marks inside are kept');
  });

  it('ignores an empty white shape, and white that touches the border', async () => {
    const { data, width, height } = await greyOf(
      svg('<circle cx="80" cy="100" r="40" fill="#fff" stroke="#000" stroke-width="3"/><rect x="200" y="0" width="100" height="200" fill="#fff"/><rect x="230" y="90" width="40" height="6" fill="#000"/>'),
    );
    assert.deepEqual(findBubbles(data, width, height), []);
  });

  it('finds the speech bubbles of a generated page', async () => {
    const { data, width, height } = await greyOf(fixture('page-05.png'));
    const boxes = findBubbles(data, width, height).map((b) => b.box);
    // page-05 has two bubbles: "PURPLE / ELEPHANT PARADE" at the top and "GOODBYE" in the second panel.
    assert.equal(boxes.length, 2);
    assert.ok(boxes.some((b) => b.y < 60 && b.x < 200 && b.x + b.w > 400));
    assert.ok(boxes.some((b) => b.y > 340 && b.y < 380));
  });

  it('returns at most maxBubbles, the largest first', async () => {
    const body = [30, 100, 170, 240]
      .map((x, i) => `<circle cx="${x + 20}" cy="100" r="${14 + i * 4}" fill="#fff" stroke="#000" stroke-width="2"/><rect x="${x + 12}" y="98" width="16" height="4" fill="#000"/>`)
      .join('');
    const { data, width, height } = await greyOf(svg(body));
    const bubbles = findBubbles(data, width, height, { maxBubbles: 2 });
    assert.equal(bubbles.length, 2);
    assert.ok(bubbles[0]!.box.w > bubbles[1]!.box.w);
    assert.ok(bubbles[0]!.box.x > 200);
  });
});
