import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { TfjsEmbedder } from '../../src/embedding/tfjs-embedder.js';
import { isSagasuError } from '../../src/errors.js';
import { Pca } from '../../src/indexes/pca.js';
import { halfSizeJpeg, scenePng } from '../embedding/synthetic-images.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const near = (actual: number, expected: number, tolerance = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
const rejectsWith = (code: string, message: string) => (error: unknown) => isSagasuError(error) && error.code === code && error.message === message;

// A plane in 5-d, away from the origin: offset + a·u + b·v with u, v orthonormal.
const offset = [3, 1, 0, 0, 2];
const u = [0, 0.6, 0.8, 0, 0];
const v = [0, 0, 0, 1, 0];
const onPlane = (a: number, b: number) => Float32Array.from(offset, (o, i) => o + a * u[i]! + b * v[i]!);
// a in {-2, 2} and b in {-1, 1}: variance 4 along u, 1 along v, none elsewhere.
const planeData = [onPlane(-2, -1), onPlane(-2, 1), onPlane(2, -1), onPlane(2, 1)];
const component = (pca: Pca, c: number) => Array.from(pca.components.subarray(c * 5, (c + 1) * 5));

describe('Pca.fit', () => {
  it('finds the plane the data lie on, by decreasing variance, with the largest coordinate positive', () => {
    const pca = Pca.fit(planeData, { dimension: 3 });
    assert.equal(pca.componentCount, 2);
    assert.deepEqual(Array.from(pca.mean), offset);
    assert.deepEqual(Array.from(pca.variances, (x) => Math.round(x * 1e6) / 1e6), [4, 1]);
    component(pca, 0).forEach((x, i) => near(x, u[i]!));
    component(pca, 1).forEach((x, i) => near(x, v[i]!));
    near(pca.totalVariance, 5);
    near(pca.explainedVariance, 1);
    assert.equal(pca.samples, 4);
  });

  it('gives the same bytes for the same samples and seed', () => {
    const random = (() => {
      let s = 7;
      return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    })();
    const data = Array.from({ length: 200 }, () => Float32Array.from({ length: 40 }, (_, i) => random() * (i + 1)));
    const first = Pca.fit(data, { dimension: 8, seed: 3 }).toBuffer();
    assert.deepEqual(Pca.fit(data, { dimension: 8, seed: 3 }).toBuffer(), first);
  });

  it('finds the top components of a large spread-out spectrum by subspace iteration', () => {
    // 300-d data with variance 1/(i+1)^2 along axis i, so the top 4 axes are the answer.
    let s = 11;
    const gaussian = () => {
      const a = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / 4294967297;
      const b = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / 4294967297;
      return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
    };
    const data = Array.from({ length: 3000 }, () => Float32Array.from({ length: 300 }, (_, i) => gaussian() / (i + 1)));
    const pca = Pca.fit(data, { dimension: 5 });
    for (let c = 0; c < 4; c++) near(Math.abs(pca.components[c * 300 + c]!), 1, 0.02);
  });

  it('refuses a dimension that is not below the input dimension, and samples of mixed lengths', () => {
    assert.throws(() => Pca.fit(planeData, { dimension: 5 }), rejectsWith('INVALID_OPTION', 'sagasu: PCA: option "dimension" must be an integer from 2 to 4 (got 5)'));
    assert.throws(() => Pca.fit([], { dimension: 2 }), rejectsWith('INVALID_OPTION', 'sagasu: PCA: at least one sample vector is needed'));
    assert.throws(
      () => Pca.fit([new Float32Array(5), new Float32Array(4)], { dimension: 2 }),
      rejectsWith('INVALID_OPTION', 'sagasu: PCA: sample vectors differ in length (4 and 5)'),
    );
  });
});

describe('Pca.project', () => {
  it('keeps the cosine similarity of vectors in the fitted plane, mean included', () => {
    const pca = Pca.fit(planeData, { dimension: 3 });
    const points = [onPlane(0, 0), onPlane(5, -3), onPlane(-1, 0.5), onPlane(0.2, 7)];
    for (const a of points) {
      const pa = pca.project(a);
      assert.equal(pa.length, 3);
      near(Math.hypot(...pa), 1);
      for (const b of points) near(dot(pa, pca.project(b)), cosine(a, b));
    }
  });

  it('whitens: equal steps along the two components, in units of their spread, give orthogonal unit vectors', () => {
    const pca = Pca.fit(planeData, { dimension: 2, whiten: true });
    const along = pca.project(onPlane(2, 0)).map(Math.abs);
    const across = pca.project(onPlane(0, 1)).map(Math.abs);
    along.forEach((x, i) => near(x, [1, 0][i]!));
    across.forEach((x, i) => near(x, [0, 1][i]!));
  });

  it('refuses a vector of another length', () => {
    const pca = Pca.fit(planeData, { dimension: 3 });
    assert.throws(
      () => pca.project(new Float32Array(4)),
      rejectsWith('MODEL_MISMATCH', 'sagasu: PCA: a 4-d vector cannot be projected by a PCA fitted on 5-d vectors'),
    );
  });
});

describe('Pca.toBuffer and fromBuffer', () => {
  it('round-trips every field and projects the same', () => {
    const pca = Pca.fit(planeData, { dimension: 3 });
    const buffer = pca.toBuffer();
    // Header line padded to 4 bytes, then 5 (mean) + 2 (variances) + 10 (components) float32.
    assert.equal(buffer.length % 4, 0);
    assert.equal(buffer.length - (buffer.indexOf(0x0a) + 1), 17 * 4);
    const copy = Pca.fromBuffer(buffer);
    assert.deepEqual(
      [copy.inputDimension, copy.dimension, copy.whiten, copy.totalVariance, copy.samples],
      [pca.inputDimension, pca.dimension, pca.whiten, pca.totalVariance, pca.samples],
    );
    assert.deepEqual(copy.mean, pca.mean);
    assert.deepEqual(copy.variances, pca.variances);
    assert.deepEqual(copy.components, pca.components);
    assert.deepEqual(copy.project(onPlane(1, 2)), pca.project(onPlane(1, 2)));
  });

  it('refuses another version, a truncated buffer and foreign bytes', () => {
    const buffer = Pca.fit(planeData, { dimension: 3 }).toBuffer();
    const newer = Buffer.from(buffer.toString('latin1').replace('"version":1', '"version":9'), 'latin1');
    assert.throws(() => Pca.fromBuffer(newer), rejectsWith('INVALID_OPTION', 'sagasu: PCA: serialization version 9 is not supported (expected 1)'));
    assert.throws(() => Pca.fromBuffer(buffer.subarray(0, buffer.length - 4)), rejectsWith('INVALID_OPTION', 'sagasu: PCA: the serialized PCA is truncated'));
    assert.throws(() => Pca.fromBuffer(Buffer.from('{"format":"other"}\n')), rejectsWith('INVALID_OPTION', 'sagasu: PCA: not a serialized PCA'));
  });
});

describe('Pca on real embeddings', () => {
  // Real MobileNetV2 (wasm) embeddings of 24 generated scenes and of half-size JPEG copies of them.
  const originals: Float32Array[] = [];
  const copies: Float32Array[] = [];
  before(async () => {
    const embedder = new TfjsEmbedder();
    for (let seed = 1; seed <= 24; seed++) {
      const png = await scenePng(seed, 480, 360);
      originals.push(await embedder.embed((await decodeImage(png)).image));
      copies.push(await embedder.embed((await decodeImage(await halfSizeJpeg(png))).image));
    }
    await embedder.close();
  });

  const ranking = (query: Float32Array, among: Float32Array[]) =>
    among.map((x, i) => ({ i, s: dot(x, query) })).sort((a, b) => b.s - a.s).map(({ i }) => i);

  it('ranks the originals for every copy exactly as the full vectors do when it keeps all their variance', () => {
    // 23 components + the mean coordinate span all 24 originals, so a copy's dot product with
    // each original is unchanged by the projection and only its length is (the same for all).
    const pca = Pca.fit(originals, { dimension: 24 });
    const projected = originals.map((x) => pca.project(x));
    assert.equal(pca.componentCount, 23);
    assert.ok(Math.abs(pca.explainedVariance - 1) < 1e-4);
    for (const copy of copies) assert.deepEqual(ranking(pca.project(copy), projected), ranking(copy, originals));
  });
});
