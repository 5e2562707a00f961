import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HashIndex, hammingDistance } from '../../src/indexes/hash-index.js';
import { seededRandom } from '../../src/random.js';

describe('hammingDistance', () => {
  it('counts differing bits across both 32-bit halves', () => {
    assert.equal(hammingDistance('0000000000000000', '0000000000000000'), 0);
    assert.equal(hammingDistance('ffffffffffffffff', '0000000000000000'), 64);
    assert.equal(hammingDistance('8000000000000001', '0000000000000000'), 2);
  });

  it('matches a bit-by-bit count for any pair (property)', () => {
    const hex = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => v.toString(16).padStart(16, '0'));
    fc.assert(
      fc.property(hex, hex, (a, b) => {
        const slow = [...(BigInt('0x' + a) ^ BigInt('0x' + b)).toString(2)].filter((c) => c === '1').length;
        return hammingDistance(a, b) === slow;
      }),
    );
  });
});

describe('HashIndex.search', () => {
  it('puts exact byte matches first, then near duplicates by distance, and skips far ones', () => {
    const index = new HashIndex();
    index.add({ id: 1, phash: '0000000000000000' });
    index.add({ id: 2, phash: '0000000000000003' }); // distance 2
    index.add({ id: 3, phash: '0000000000000001' }); // distance 1
    index.add({ id: 4, phash: 'ffffffff00000000' }); // distance 32
    assert.deepEqual(index.search('0000000000000000', { maxDistance: 10, exact: [2] }), [
      { id: 2, distance: 0, exact: true },
      { id: 1, distance: 0, exact: false },
      { id: 3, distance: 1, exact: false },
    ]);
  });

  it('counts at most 8 differing bits as a near duplicate by default', () => {
    const index = new HashIndex();
    index.add({ id: 8, phash: '00000000000000ff' }); // distance 8
    index.add({ id: 9, phash: '00000000000001ff' }); // distance 9
    assert.deepEqual(index.search('0000000000000000'), [{ id: 8, distance: 8, exact: false }]);
  });

  it('honours the filter and the limit', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 5; id++) index.add({ id, phash: '0000000000000000' });
    assert.deepEqual(
      index.search('0000000000000000', { filter: (id) => id % 2 === 1, limit: 2 }).map((hit) => hit.id),
      [1, 3],
    );
  });

  it('drops exact matches the filter rejects, and lists an exact match once', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 3; id++) index.add({ id, phash: '0000000000000000' });
    assert.deepEqual(index.search('0000000000000000', { exact: [2], filter: (id) => id !== 2 }), [
      { id: 1, distance: 0, exact: false },
      { id: 3, distance: 0, exact: false },
    ]);
    assert.deepEqual(index.search('0000000000000000', { exact: [3] }).map((hit) => [hit.id, hit.exact]), [[3, true], [1, false], [2, false]]);
  });

  it('forgets removed ids, keeping the others findable after the swap', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 3; id++) index.add({ id, phash: '000000000000000' + id });
    assert.equal(index.remove(1), true);
    assert.equal(index.remove(1), false);
    assert.equal(index.count, 2);
    assert.deepEqual(index.search('0000000000000001', { maxDistance: 0 }), []);
    assert.deepEqual(index.search('0000000000000003', { maxDistance: 0 }), [{ id: 3, distance: 0, exact: false }]);
  });

  it('grows past its initial capacity', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 3000; id++) index.add({ id, phash: id.toString(16).padStart(16, '0') });
    assert.equal(index.count, 3000);
    assert.deepEqual(index.search((2999).toString(16).padStart(16, '0'), { maxDistance: 0 }), [{ id: 2999, distance: 0, exact: false }]);
  });
});

describe('HashIndex.search with chunk tables (multi-index hashing)', () => {
  /** Hashes in clusters (a few bits flipped from a centre), as near duplicates are. */
  const hashes = (count: number, seed: number) => {
    const random = seededRandom(seed);
    const word = () => Math.floor(random() * 2 ** 32);
    const centres = Array.from({ length: 20 }, () => [word(), word()] as const);
    return Array.from({ length: count }, () => {
      let [high, low] = centres[Math.floor(random() * centres.length)]!;
      const flips = Math.floor(random() * 14);
      for (let f = 0; f < flips; f++) {
        const bit = Math.floor(random() * 64);
        if (bit < 32) high = (high ^ (1 << bit)) >>> 0;
        else low = (low ^ (1 << (bit - 32))) >>> 0;
      }
      return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
    });
  };

  it('finds exactly what a scan finds, at every distance, through adds, replacements, removals and growth', () => {
    // 1,300 hashes: the tables are built at 100 and carried through the growth past 1,024 slots.
    const all = hashes(1340, 3);
    const list = all.slice(0, 1300);
    const tables = new HashIndex({ multiIndexFrom: 100 });
    const scan = new HashIndex({ multiIndexFrom: Infinity });
    const random = seededRandom(9);
    list.forEach((phash, i) => {
      for (const index of [tables, scan]) index.add({ id: i + 1, phash });
      if (i > 150 && random() < 0.2) {
        const id = 1 + Math.floor(random() * i);
        for (const index of [tables, scan]) index.remove(id);
      }
      if (i > 150 && random() < 0.1) {
        const id = 1 + Math.floor(random() * i);
        for (const index of [tables, scan]) index.add({ id, phash: list[(id * 7) % list.length]! });
      }
    });
    assert.equal(tables.count, scan.count);
    let found = 0;
    for (const query of all.slice(1300)) {
      for (const maxDistance of [0, 3, 4, 7, 10, 15, 20]) {
        const expected = scan.search(query, { maxDistance, limit: 1000 });
        assert.deepEqual(tables.search(query, { maxDistance, limit: 1000 }), expected);
        found += expected.length;
      }
    }
    assert.ok(found > 1000, `only ${found} hits: the comparison says little`);
  });

  it('keeps working after clear, from an empty index', () => {
    const index = new HashIndex({ multiIndexFrom: 2 });
    for (let id = 1; id <= 3; id++) index.add({ id, phash: '000000000000000' + id });
    index.clear();
    index.add({ id: 9, phash: '0000000000000001' });
    index.add({ id: 8, phash: '0000000000000003' });
    assert.deepEqual(index.search('0000000000000000', { maxDistance: 3 }), [
      { id: 9, distance: 1, exact: false },
      { id: 8, distance: 2, exact: false },
    ]);
  });
});
