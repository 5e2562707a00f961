import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SnapshotReader } from '../../src/store/snapshot-file.js';
import { scratchDir } from '../helpers/scratch.js';

describe('SnapshotReader.read', () => {
  it('fills typed arrays in file order, across staging-buffer boundaries', () => {
    const file = join(scratchDir('sagasu-reader-'), 'data.bin');
    const ints = Int32Array.from({ length: 1000 }, (_, i) => i * 7 - 300);
    const floats = Float32Array.from({ length: 333 }, (_, i) => i / 3);
    writeFileSync(file, Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(ints.buffer), Buffer.from(floats.buffer)]));
    const reader = new SnapshotReader(file, 64);
    try {
      assert.deepEqual([...reader.read(new Uint8Array(3))], [1, 2, 3]);
      // A view into a larger buffer is filled where it points, nowhere else.
      const room = new Int32Array(1002);
      reader.read(room.subarray(1, 1001));
      assert.deepEqual([room[0], room[1001]], [0, 0]);
      assert.deepEqual([...room.subarray(1, 1001)], [...ints]);
      assert.equal(reader.atEnd(), false);
      assert.deepEqual([...reader.read(new Float32Array(333))], [...floats]);
      assert.equal(reader.atEnd(), true);
      assert.throws(() => reader.read(new Uint8Array(1)), /truncated/);
    } finally {
      reader.close();
    }
  });
});
