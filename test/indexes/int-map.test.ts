import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntMap } from '../../src/indexes/int-map.js';
import { seededRandom } from '../../src/random.js';

describe('IntMap', () => {
  it('agrees with a Map through random sets, replacements and deletions, across resizes', () => {
    const random = seededRandom(5);
    const map = new IntMap();
    const reference = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      // Keys from a small range collide often; the odd large one checks the full range.
      const key = random() < 0.01 ? 0x7fffffff - Math.floor(random() * 10) : Math.floor(random() * 3000);
      if (random() < 0.35) assert.equal(map.delete(key), reference.delete(key));
      else {
        map.set(key, step);
        reference.set(key, step);
      }
      if (step % 997 === 0) {
        assert.equal(map.size, reference.size);
        for (let probe = 0; probe < 3000; probe++) assert.equal(map.get(probe), reference.get(probe));
      }
    }
    for (const [key, value] of reference) assert.equal(map.get(key), value);
    assert.equal(map.has(-1), false);
    map.clear();
    assert.deepEqual([map.size, map.get(5), map.has(5)], [0, undefined, false]);
  });

  it('refuses keys it cannot hold', () => {
    assert.throws(() => new IntMap().set(-1, 0), RangeError);
    assert.throws(() => new IntMap().set(2 ** 31, 0), RangeError);
    assert.throws(() => new IntMap().set(1.5, 0), RangeError);
  });
});
