import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFloat16, encodeFloat16 } from '../../src/store/float16.js';

const bytesOf = (...halves: number[]) => new Uint8Array(Uint16Array.from(halves).buffer);

describe('decodeFloat16', () => {
  it('reads known half-float bit patterns exactly', () => {
    assert.deepEqual(
      Array.from(decodeFloat16(bytesOf(0x0000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x7c00, 0xfc00))),
      [0, 1, -2, 65504, 2 ** -24, 0.333251953125, Infinity, -Infinity],
    );
    assert.ok(Number.isNaN(decodeFloat16(bytesOf(0x7e00))[0]));
  });

  it('refuses an odd number of bytes', () => {
    assert.throws(() => decodeFloat16(new Uint8Array(3)), /even length/);
  });
});

describe('encodeFloat16', () => {
  it('round-trips unit-vector values to within half a unit in the last place (2^-11 relative)', () => {
    const values = Float32Array.from({ length: 1280 }, (_, i) => Math.sin(i * 12.9898) * 0.2);
    const bytes = encodeFloat16(values);
    assert.equal(bytes.byteLength, 2560);
    const back = decodeFloat16(bytes);
    for (let i = 0; i < values.length; i++) {
      assert.ok(Math.abs(back[i]! - values[i]!) <= Math.max(Math.abs(values[i]!) * 2 ** -11, 2 ** -25), `${values[i]} -> ${back[i]}`);
    }
    assert.deepEqual(Array.from(decodeFloat16(encodeFloat16(Float32Array.of(1, -2, 0.5, 65504)))), [1, -2, 0.5, 65504]);
  });
});
