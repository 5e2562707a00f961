/**
 * Region vectors are stored as IEEE half floats: 2.6 KB instead of 5.1 KB per region, i.e. 50 KB
 * less per image in `sagasu.db`. Re-ranking on half floats costs almost no recall (bench/scale.ts:
 * recall@10 0.975 vs 0.979 with float32 at 100k).
 *
 * Encoding uses @petamoriken/float16 (correct rounding, one image's regions in ~4 ms). Decoding is
 * on the search path (a re-rank reads the regions of up to 100 candidate images), where the
 * library's Float16Array (a Proxy) took 6.6 ms per image: a 65,536-entry table filled once by the
 * library's own getFloat16 turns it into one array lookup per value.
 */
import { Float16Array, getFloat16 } from '@petamoriken/float16';

/** Half-float bit patterns of `values`. */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const half = new Float16Array(values);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

/** Half-float bytes of `values` (little-endian, as SQLite stores the blob). */
export function encodeFloat16(values: Float32Array): Buffer {
  const bits = toFloat16Bits(values);
  return Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
}

let table: Float32Array | undefined;

/** The float of every 16-bit half-float pattern (filled once, 256 KiB): decoding is one look-up per value. */
export function decodingTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65_536);
    const view = new DataView(new ArrayBuffer(2));
    for (let bits = 0; bits < 65_536; bits++) {
      view.setUint16(0, bits, true);
      table[bits] = getFloat16(view, 0, true);
    }
  }
  return table;
}

/** The floats of half-float bytes written by {@link encodeFloat16}. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 2 !== 0) throw new RangeError(`sagasu: half-float data must have an even length (got ${bytes.byteLength} bytes)`);
  const lookup = decodingTable();
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0, at = 0; i < out.length; i++, at += 2) out[i] = lookup[bytes[at]! | (bytes[at + 1]! << 8)]!;
  return out;
}
