import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averagePool, dot, gemPool, l2Norm, l2Normalize } from '../../src/embedding/pooling.js';

describe('l2Normalize', () => {
  it('scales a vector to unit length', () => {
    assert.deepEqual(Array.from(l2Normalize([3, 4])), [Math.fround(0.6), Math.fround(0.8)]);
  });

  it('returns a new array and leaves the input alone', () => {
    const input = Float32Array.of(0, 2, 0);
    const output = l2Normalize(input);
    assert.deepEqual(Array.from(output), [0, 1, 0]);
    assert.deepEqual(Array.from(input), [0, 2, 0]);
    assert.notEqual(output, input);
  });

  it('returns a zero vector unchanged, since it has no direction', () => {
    assert.deepEqual(Array.from(l2Normalize([0, 0, 0])), [0, 0, 0]);
  });
});

describe('l2Norm', () => {
  it('is the euclidean length', () => {
    assert.equal(l2Norm([3, 4]), 5);
    assert.equal(l2Norm([]), 0);
  });
});

describe('dot', () => {
  it('sums the element-wise products', () => {
    assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  });

  it('refuses vectors of different lengths', () => {
    assert.throws(() => dot([1], [1, 2]), /dot of vectors of length 1 and 2/);
  });
});

describe('averagePool', () => {
  it('averages each channel over the positions of a channels-last map', () => {
    // 2 positions x 3 channels: [1, 2, 3] and [3, 6, 9]
    assert.deepEqual(Array.from(averagePool(Float32Array.of(1, 2, 3, 3, 6, 9), 2, 3)), [2, 4, 6]);
  });

  it('refuses a map of the wrong size', () => {
    assert.throws(() => averagePool(Float32Array.of(1, 2, 3), 2, 2), /expected 4 values, got 3/);
  });
});

describe('gemPool', () => {
  it('is the average when the power is 1', () => {
    assert.deepEqual(Array.from(gemPool(Float32Array.of(1, 2, 3, 4), 2, 2, 1)), [2, 3]);
  });

  it('takes the cube root of the mean of cubes when the power is 3', () => {
    // channel 0: (0^3 + 2^3) / 2 = 4 -> 4^(1/3); channel 1: (3^3 + 3^3) / 2 = 27 -> 3
    const pooled = gemPool(Float32Array.of(0, 3, 2, 3), 2, 2, 3, 0);
    assert.deepEqual(Array.from(pooled), [Math.fround(Math.cbrt(4)), 3]);
  });

  it('lies between the average and the maximum, nearer the maximum as the power grows', () => {
    const map = Float32Array.of(1, 2, 4, 8);
    const [p1, p3, p10] = [1, 3, 10].map((p) => gemPool(map, 4, 1, p)[0]!);
    assert.equal(p1, 3.75);
    assert.ok(p1 < p3! && p3! < p10! && p10! < 8);
  });

  it('clamps values below eps, so negative inputs cannot produce NaN', () => {
    assert.deepEqual(Array.from(gemPool(Float32Array.of(-8, -8), 2, 1, 3, 1)), [1]);
  });

  it('refuses a bad power or shape', () => {
    assert.throws(() => gemPool(Float32Array.of(1), 1, 1, 0), /power must be a positive finite number/);
    assert.throws(() => gemPool(Float32Array.of(1, 2), 1, 1, 3), /expected 1 values, got 2/);
    assert.throws(() => gemPool(Float32Array.of(), 0, 1, 3), /positive integer positions and channels/);
  });
});
