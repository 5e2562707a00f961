import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourMatch, colourSignature, colourSignaturePart, colourSimilarity, noColour, packColourSignatures } from '../../src/embedding/colour.js';
import { seededRandom } from '../../src/random.js';
import type { DecodedImage } from '../../src/types.js';

type Rgb = [number, number, number];

function painted(width: number, height: number, paint: (x: number, y: number) => Rgb): DecodedImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 3);
  return { data, width, height, channels: 3, original: { width, height, format: 'raw', bytes: data.length } };
}

const bin = (index: number) => Array.from({ length: 16 }, (_, i) => (i === index ? 255 : 0));
const red: Rgb = [255, 0, 0];
const white: Rgb = [255, 255, 255];
// Hue 0.9375 sixths of the circle: the centre of bin 2, a warm yellow.
const yellow: Rgb = [160, 150, 0];

describe('colourSignature', () => {
  it('puts a hue at a bin centre in that bin, and one on a bin edge half in each neighbour', () => {
    assert.deepEqual(Array.from(colourSignature(painted(80, 60, () => yellow))!), bin(2));
    assert.deepEqual(Array.from(colourSignature(painted(80, 60, () => red))!), [128, ...new Array(14).fill(0), 128]);
  });

  it('counts coloured pixels only: a white background changes nothing', () => {
    const onWhite = painted(200, 200, (x, y) => (Math.hypot(x - 100, y - 100) < 60 ? yellow : white));
    assert.deepEqual(Array.from(colourSignature(onWhite)!), bin(2));
  });

  it('has none for a grey image, even with sensor noise or a few stray coloured pixels', () => {
    const random = seededRandom(3);
    const noisy = painted(300, 200, () => [0, 0, 0].map(() => 128 + Math.round((random() - 0.5) * 40)) as Rgb);
    assert.equal(colourSignature(noisy), undefined);
    const stray = painted(300, 200, (x, y) => (x < 3 && y < 200 ? red : [128, 128, 128]));
    assert.equal(colourSignature(stray), undefined);
  });

  it('reads only the box when given one (the picture inside a screenshot)', () => {
    const halves = painted(256, 128, (x) => (x < 128 ? [0, 0, 255] : yellow));
    assert.deepEqual(Array.from(colourSignature(halves, { x: 128, y: 0, w: 128, h: 128 })!), bin(2));
    assert.notDeepEqual(Array.from(colourSignature(halves)!), bin(2));
  });
});

describe('colourSimilarity', () => {
  it('is 1 for the same hues, 0 for none in common, and the shared part in between', () => {
    const a = Uint8Array.from(bin(2));
    assert.equal(colourSimilarity(a, a), 1);
    assert.equal(colourSimilarity(a, Uint8Array.from(bin(9))), 0);
    const half = Uint8Array.from(bin(2).map((v, i) => (i === 2 || i === 3 ? 128 : v)));
    assert.equal(colourSimilarity(a, half), 128 / 256);
  });

  it('refuses a signature of another size', () => {
    assert.throws(() => colourSimilarity(new Uint8Array(16), new Uint8Array(8)), /sagasu: a colour signature has 16 bins/);
  });
});

describe('packColourSignatures and colourSignaturePart', () => {
  it('keeps the whole image and each region in one row, a part without colour as zeros', () => {
    const whole = Uint8Array.from(bin(2));
    const region = Uint8Array.from(bin(9));
    const packed = packColourSignatures([whole, undefined, region])!;
    assert.equal(packed.length, 48);
    assert.deepEqual(Array.from(colourSignaturePart(packed, 0)!), bin(2));
    assert.equal(colourSignaturePart(packed, 1), undefined);
    assert.deepEqual(Array.from(colourSignaturePart(packed, 2)!), bin(9));
    // A region the row does not have (an image indexed without regions).
    assert.equal(colourSignaturePart(packed, 3), undefined);
  });

  it('stores nothing for an image none of whose parts has colour', () => {
    assert.equal(packColourSignatures([undefined, undefined]), undefined);
  });
});

describe('colourMatch', () => {
  const yellowBin = Uint8Array.from(bin(2));
  const blueBin = Uint8Array.from(bin(10));
  // The whole image is yellow, its region 0 blue, its region 1 without colour.
  const packed = packColourSignatures([yellowBin, blueBin, undefined])!;

  it('compares with the whole image when no region matched', () => {
    assert.equal(colourMatch(blueBin, packed), 0);
    assert.equal(colourMatch(yellowBin, packed), 1);
  });

  it('takes the better of the matched region and the whole image', () => {
    // A part of the image (the blue region), and the whole picture that looked like region 0.
    assert.equal(colourMatch(blueBin, packed, 0), 1);
    assert.equal(colourMatch(yellowBin, packed, 0), 1);
    // A region without colour leaves the whole image.
    assert.equal(colourMatch(blueBin, packed, 1), 0);
  });

  it('is undefined when the parts compared have no colour', () => {
    assert.equal(colourMatch(blueBin, new Uint8Array(48), 0), undefined);
  });

  it('is 0 for an image measured without any colour', () => {
    assert.equal(colourMatch(blueBin, noColour), 0);
    assert.equal(colourMatch(blueBin, noColour, 3), 0);
  });
});
