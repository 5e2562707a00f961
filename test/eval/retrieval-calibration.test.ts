import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  calibratedConfidence,
  calibrationFeatureNames,
  calibrationFeatures,
  calibrationModelVersion,
  fitLogistic,
  parseCalibrationModel,
  predictConfidence,
  type CalibrationModel,
} from '../../src/eval/retrieval-calibration.js';
import { SeededRandom } from '../../src/eval/retrieval-queries.js';
import type { FusedHit } from '../../src/fusion/fuse.js';
import type { SpatialReason } from '../../src/fusion/rerank.js';

const fused: Array<FusedHit & { reasons: FusedHit['reasons'] & { spatial?: SpatialReason } }> = [
  {
    id: 1,
    score: 0.05,
    reasons: {
      visual: { rank: 1, score: 0.95, contribution: 1 / 61, detail: { similarity: 0.95, colour: 0.75 } },
      text: { rank: 1, score: 12, contribution: 1 / 61, detail: { matched: ['夢', 'が', 'ない'] } },
      hash: { rank: 1, score: 60, contribution: 2 / 61, detail: { distance: 4, exact: false } },
      spatial: { inliers: 63, matches: 90, verified: true, rank: 1 },
    },
  },
  { id: 2, score: 0.02, reasons: { visual: { rank: 2, score: 0.8, contribution: 1 / 62, detail: { similarity: 0.8 } }, text: { rank: 2, score: 4, contribution: 1 / 62, detail: { matched: ['夢'] } } } },
];

describe('calibrationFeatures', () => {
  it('describes a hit by its own evidence and its lead over the other hits', () => {
    const f = calibrationFeatures(fused, 0, 4);
    assert.equal(f.length, calibrationFeatureNames.length);
    const byName = Object.fromEntries(calibrationFeatureNames.map((name, i) => [name, f[i]]));
    assert.equal(byName.visualSimilarity, 0.95);
    assert.ok(Math.abs(byName.visualMargin! - 0.15) < 1e-12);
    assert.equal(byName.visualRankInverse, 1);
    assert.equal(byName.textMatchedShare, 0.75);
    assert.equal(byName.textScoreShare, 12 / 16);
    assert.equal(byName.hashCloseness, 0.75);
    assert.equal(byName.fusedRankInverse, 1);
    assert.equal(byName.visualTextAgree, 1);
    assert.equal(byName.spatialInliersLog, Math.log(64));
    assert.equal(byName.spatialVerified, 1);
    assert.equal(byName.spatialLeadLog, Math.log(64));
    assert.equal(byName.colourMismatch, 0.25);
  });
  it('gives a hit without text or hash evidence zeros there, and a negative visual margin when behind', () => {
    const byName = Object.fromEntries(calibrationFeatureNames.map((name, i) => [name, calibrationFeatures(fused, 1, 4)[i]]));
    assert.ok(byName.visualMargin! < 0);
    assert.equal(byName.hashCloseness, 0);
    assert.equal(byName.fusedRankInverse, 0.5);
    assert.equal(byName.visualTextAgree, 0);
    assert.equal(byName.spatialInliersLog, 0);
    assert.equal(byName.spatialVerified, 0);
    assert.equal(byName.spatialLeadLog, -Math.log(64));
    assert.equal(byName.colourMismatch, 0, 'no colour compared is no evidence');
  });
  it('refuses an index outside the list', () => {
    assert.throws(() => calibrationFeatures(fused, 5, 1), /^SagasuError: sagasu: no hit at index 5/);
  });
});

describe('fitLogistic', () => {
  it('learns that a larger feature means more likely right, and gives probabilities close to the truth', () => {
    const rng = new SeededRandom(7);
    const samples: number[][] = [];
    const labels: boolean[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = rng.range(-3, 3);
      const noise = rng.range(-1, 1);
      samples.push([x, noise]);
      labels.push(rng.next() < 1 / (1 + Math.exp(-2 * x)));
    }
    const fitted = fitLogistic(samples, labels, { l2: 0.01 });
    const model: CalibrationModel = { version: calibrationModelVersion, features: ['x', 'noise'], ...fitted, threshold: 0.5 };
    assert.ok(Math.abs(fitted.weights[0]! / fitted.scale[0]! - 2) < 0.3, `slope ${fitted.weights[0]! / fitted.scale[0]!}`);
    assert.ok(Math.abs(fitted.weights[1]!) < 0.2);
    assert.ok(Math.abs(predictConfidence(model, [0, 0]) - 0.5) < 0.06);
    assert.ok(predictConfidence(model, [2, 0]) > 0.95);
  });
  it('refuses samples without matching labels', () => {
    assert.throws(() => fitLogistic([[1]], []), /needs as many labels as samples/);
  });
});

describe('parseCalibrationModel', () => {
  const good = {
    version: calibrationModelVersion,
    features: [...calibrationFeatureNames],
    mean: calibrationFeatureNames.map(() => 0),
    scale: calibrationFeatureNames.map(() => 1),
    weights: calibrationFeatureNames.map(() => 0.1),
    bias: 0,
    threshold: 0.5,
  };
  it('accepts a model that matches the features and scores hits with it', () => {
    const model = parseCalibrationModel(JSON.parse(JSON.stringify(good)));
    const p = calibratedConfidence(model, fused, 0, 4);
    assert.ok(p > 0.5 && p < 1);
  });
  it('refuses another version or other features', () => {
    assert.throws(() => parseCalibrationModel({ ...good, version: 1 }), /version 1 is not supported/);
    assert.throws(() => parseCalibrationModel({ ...good, weights: [1] }), /does not match the 16 features/);
  });
});
