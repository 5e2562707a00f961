import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../src/decoding/decode-image.js';
import { SagasuError } from '../../src/errors.js';
import {
  decodeLocalFeatures,
  defaultVerifyOptions,
  encodeLocalFeatures,
  extractLocalFeatures,
  plausibleHomography,
  resolveVerifyOptions,
  spreadKeypoints,
  verifyLocalFeatures,
  type LocalFeatures,
  type VerifyOptions,
} from '../../src/verification/local-features.js';
import { fixture } from '../helpers/paths.js';

const decoded = async (bytes: Buffer) => (await decodeImage(bytes)).image;
const features = async (bytes: Buffer, mirrored = false) => extractLocalFeatures(await decoded(bytes), { mirrored });
const page = () => readFileSync(fixture('page-01.png'));

/** A phone-like re-shoot of part of the page: cropped to ~60% of its area, turned 4°, scaled, re-compressed. */
async function reshotCrop(bytes: Buffer): Promise<Buffer> {
  const cropped = await sharp(bytes).extract({ left: 60, top: 120, width: 460, height: 660 }).toBuffer();
  return sharp(cropped).rotate(4, { background: '#808080' }).resize({ width: 380 }).jpeg({ quality: 60 }).toBuffer();
}

describe('extractLocalFeatures', () => {
  it('finds keypoints with one 32-byte descriptor each, in an image no larger than maxSide', async () => {
    const result = await extractLocalFeatures(await decoded(page()), { maxSide: 512, maxFeatures: 300 });
    const count = result.points.length / 2;
    assert.ok(count > 100 && count <= 300, `count ${count}`);
    assert.equal(result.descriptors.length, count * 32);
    assert.deepEqual([result.width, result.height], [361, 512]); // 600 x 850 scaled to 512 high
    for (let i = 0; i < count; i++) {
      assert.ok(result.points[2 * i]! >= 0 && result.points[2 * i]! < 362 && result.points[2 * i + 1]! >= 0 && result.points[2 * i + 1]! < 512);
    }
  });

  it('finds none in a flat image', async () => {
    const flat = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a6' } }).png().toBuffer();
    const result = await features(flat);
    assert.equal(result.points.length, 0);
    assert.equal(result.descriptors.length, 0);
  });
});

describe('extractLocalFeatures with spread keypoints', () => {
  /** Left half dense high-contrast marks (corners everywhere, like screentone or small print), right half faint shapes. */
  async function busyAndQuiet(): Promise<Buffer> {
    const marks = Array.from({ length: 10 * 13 }, (_, i) => `<rect x="${(i % 10) * 30 + (i % 7)}" y="${Math.floor(i / 10) * 30 + (i % 5)}" width="7" height="6" fill="#000"/>`).join('');
    const shapes = Array.from({ length: 12 }, (_, i) => `<rect x="${330 + (i % 3) * 85}" y="${30 + Math.floor(i / 3) * 95}" width="${30 + (i % 4) * 8}" height="${40 + (i % 5) * 6}" fill="#c8c8c8"/>`).join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><rect width="600" height="400" fill="#fff"/>${marks}${shapes}</svg>`;
    return sharp(Buffer.from(svg)).png().toBuffer();
  }
  const onTheRight = (result: LocalFeatures) => result.points.filter((value, i) => i % 2 === 0 && value >= result.width / 2).length;

  it('keeps keypoints in a quiet part of the image that the strongest-first choice leaves out', async () => {
    const image = await decoded(await busyAndQuiet());
    const strongest = await extractLocalFeatures(image, { maxFeatures: 300, spread: false });
    const spread = await extractLocalFeatures(image, { maxFeatures: 300, spread: { grid: 4, oversample: 3 } });
    // ORB's own choice may fall a little short of maxFeatures (it fills its pyramid levels by quota).
    assert.ok(strongest.points.length / 2 >= 290, `strongest ${strongest.points.length / 2}`);
    assert.equal(spread.points.length / 2, 300);
    assert.equal(spread.descriptors.length, 300 * 32);
    assert.equal(onTheRight(strongest), 0);
    // 8 of the 16 cells are on the right, with a share of 18 each: the faint shapes' corners fill part of it (63 here).
    assert.ok(onTheRight(spread) >= 40, `right half: ${onTheRight(spread)}`);
  });

  it('refuses a spread that is not whole numbers >= 1 with INVALID_OPTION', async () => {
    const image = await decoded(page());
    for (const spread of [{ grid: 0, oversample: 3 }, { grid: 4, oversample: 1.5 }]) {
      await assert.rejects(extractLocalFeatures(image, { spread }), (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION', JSON.stringify(spread));
    }
  });
});

describe('spreadKeypoints', () => {
  const list = (points: Array<[number, number, number]>) => ({ size: () => points.length, get: (i: number) => ({ pt: { x: points[i]![0], y: points[i]![1] }, response: points[i]![2] }) });

  it('gives each grid cell its share of the strongest, then fills with the strongest left, in detection order', () => {
    // 2 x 2 grid on 100 x 100, keep 4 (a share of 1 per cell): cell top-left holds 0, 1, 2; top-right 3; bottom-left 4, 5; bottom-right none.
    const keypoints = list([[10, 10, 0.9], [20, 20, 0.8], [30, 30, 0.7], [60, 10, 0.1], [10, 60, 0.2], [20, 70, 0.3]]);
    // Shares: 0 (top-left), 3 (top-right), 5 (bottom-left); the fourth is the strongest left: 1.
    assert.deepEqual(spreadKeypoints(keypoints, 100, 100, 4, 2), [0, 1, 3, 5]);
  });

  it('keeps every keypoint when there are no more than it may keep', () => {
    assert.deepEqual(spreadKeypoints(list([[1, 1, 0.1], [2, 2, 0.2]]), 10, 10, 2, 4), [0, 1]);
  });
});

describe('encodeLocalFeatures / decodeLocalFeatures', () => {
  it('round-trips exactly', async () => {
    const original = await features(page());
    const copy = decodeLocalFeatures(encodeLocalFeatures(original));
    assert.deepEqual([copy.width, copy.height], [original.width, original.height]);
    assert.deepEqual(copy.points, original.points);
    assert.deepEqual(copy.descriptors, original.descriptors);
  });

  it('refuses a damaged or unknown buffer with STORE_VERSION', async () => {
    const encoded = encodeLocalFeatures(await features(page()));
    for (const bad of [encoded.subarray(0, encoded.length - 1), Buffer.concat([Buffer.from([9]), encoded.subarray(1)]), Buffer.alloc(3)]) {
      assert.throws(() => decodeLocalFeatures(bad), (error: unknown) => error instanceof SagasuError && error.code === 'STORE_VERSION');
    }
  });
});

describe('plausibleHomography', () => {
  it('accepts rotation, scaling and translation, and refuses mirrors, collapses and strong perspective', () => {
    const a = Math.cos(0.2) * 1.5;
    const b = Math.sin(0.2) * 1.5;
    assert.equal(plausibleHomography([1, 0, 0, 0, 1, 0, 0, 0, 1]), true);
    assert.equal(plausibleHomography([a, -b, 40, b, a, -12, 0, 0, 1]), true);
    assert.equal(plausibleHomography([-1, 0, 600, 0, 1, 0, 0, 0, 1]), false);
    assert.equal(plausibleHomography([0.05, 0, 0, 0, 0.05, 0, 0, 0, 1]), false);
    assert.equal(plausibleHomography([1, 0, 0, 0, 1, 0, 0.01, 0, 1]), false);
  });
});

describe('verifyLocalFeatures', () => {
  it('verifies a rotated, scaled, re-compressed crop of the page with many inliers', async () => {
    const query = await features(await reshotCrop(page()));
    const result = await verifyLocalFeatures(query, await features(page()));
    assert.equal(result.verified, true);
    assert.ok(result.inliers >= 40, `inliers ${result.inliers}`);
    assert.ok(result.matches >= result.inliers);
  });

  it('does not verify the crop against other pictures', async () => {
    const query = await features(await reshotCrop(page()));
    for (const other of ['page-02.png', 'page-05.png', 'photo-01.png']) {
      const result = await verifyLocalFeatures(query, await features(readFileSync(fixture(other))));
      assert.equal(result.verified, false, `${other}: ${result.inliers} inliers`);
      assert.ok(result.inliers < 12);
    }
  });

  it('matches a mirrored copy far better with the mirrored query features', async () => {
    // ORB is not mirror-invariant; the few symmetric shapes of a page (frames, round glyphs) still
    // match a mirror, so the direct comparison is weak but not always empty.
    const flipped = await sharp(page()).flop().png().toBuffer();
    const original = await features(page());
    const direct = await verifyLocalFeatures(await features(flipped), original);
    const unflipped = await verifyLocalFeatures(await features(flipped, true), original);
    assert.equal(unflipped.verified, true);
    assert.ok(unflipped.inliers >= 500 && unflipped.inliers > 5 * direct.inliers, `inliers ${unflipped.inliers} vs ${direct.inliers} direct`);
  });

  it('verifies the crop and nothing else with every homography estimator', async () => {
    const query = await features(await reshotCrop(page()));
    const original = await features(page());
    const others = await Promise.all(['page-02.png', 'photo-01.png'].map(async (name) => features(readFileSync(fixture(name)))));
    for (const estimator of ['ransac', 'rho', 'usac-accurate'] as const) {
      const right = await verifyLocalFeatures(query, original, { estimator });
      assert.equal(right.verified, true, estimator);
      assert.ok(right.inliers >= 40, `${estimator}: inliers ${right.inliers}`);
      for (const other of others) assert.equal((await verifyLocalFeatures(query, other, { estimator })).verified, false, estimator);
    }
  });

  it('refuses an unknown estimator with INVALID_OPTION', async () => {
    const query = await features(await reshotCrop(page()));
    await assert.rejects(verifyLocalFeatures(query, query, { estimator: 'lmeds' as never }), (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION');
  });

  it('still verifies a right match when RANSAC may draw only a few samples, since most of its matches agree', async () => {
    const query = await features(await reshotCrop(page()));
    const original = await features(page());
    const full = await verifyLocalFeatures(query, original, { maxIterations: 2000 });
    const few = await verifyLocalFeatures(query, original, { maxIterations: 50 });
    assert.equal(few.verified, true);
    assert.equal(few.matches, full.matches);
    assert.ok(few.inliers >= 0.9 * full.inliers, `inliers ${few.inliers} with 50 samples vs ${full.inliers} with 2000`);
    // The cap is applied: one sample does not find the transform that 2000 samples find.
    assert.ok((await verifyLocalFeatures(query, original, { maxIterations: 1 })).inliers < full.inliers);
  });

  it('refuses a maxIterations that is not a whole number >= 1 with INVALID_OPTION', async () => {
    const query = await features(await reshotCrop(page()));
    for (const maxIterations of [0, 2.5, Number.NaN]) {
      await assert.rejects(
        verifyLocalFeatures(query, query, { maxIterations }),
        (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION' && /maxIterations/.test(error.message),
        String(maxIterations),
      );
    }
  });

  it('refuses ratio, distance, threshold and inlier settings out of range with INVALID_OPTION', async () => {
    const query = await features(await reshotCrop(page()));
    const cases: Array<[VerifyOptions, RegExp]> = [
      [{ ratio: 0 }, /ratio must be a number in \(0, 1\] \(got 0\)/],
      [{ ratio: 1.2 }, /ratio must be a number in \(0, 1\] \(got 1\.2\)/],
      [{ maxDistance: -1 }, /maxDistance must be a number >= 0 \(got -1\)/],
      [{ reprojectionThreshold: Infinity }, /reprojectionThreshold must be a finite number > 0 \(got null\)/],
      [{ minInliers: 3 }, /minInliers must be a whole number >= 4 \(got 3\)/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(
        verifyLocalFeatures(query, query, options),
        (error: unknown) => error instanceof SagasuError && error.code === 'INVALID_OPTION' && message.test(error.message),
        JSON.stringify(options),
      );
    }
    assert.deepEqual(resolveVerifyOptions({ ratio: 1, minInliers: 4 }), { ...defaultVerifyOptions, ratio: 1, minInliers: 4 });
  });

  it('reports nothing when a side has too few features', async () => {
    const empty: LocalFeatures = { width: 10, height: 10, points: new Float32Array(0), descriptors: new Uint8Array(0) };
    assert.deepEqual(await verifyLocalFeatures(empty, await features(page())), { inliers: 0, matches: 0, verified: false });
  });
});
