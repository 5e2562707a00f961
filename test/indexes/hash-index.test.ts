import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HashIndex, hammingDistance } from '../../src/indexes/hash-index.js';

const sha = (n: number) => n.toString(16).padStart(64, '0');

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
    index.add({ id: 1, sha256: sha(1), phash: '0000000000000000' });
    index.add({ id: 2, sha256: sha(2), phash: '0000000000000003' }); // distance 2
    index.add({ id: 3, sha256: sha(3), phash: '0000000000000001' }); // distance 1
    index.add({ id: 4, sha256: sha(4), phash: 'ffffffff00000000' }); // distance 32
    assert.deepEqual(index.search(sha(2), '0000000000000000', { maxDistance: 10 }), [
      { id: 2, distance: 0, exact: true },
      { id: 1, distance: 0, exact: false },
      { id: 3, distance: 1, exact: false },
    ]);
  });

  it('honours the filter and the limit', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 5; id++) index.add({ id, sha256: sha(id), phash: '0000000000000000' });
    assert.deepEqual(
      index.search(sha(99), '0000000000000000', { filter: (id) => id % 2 === 1, limit: 2 }).map((hit) => hit.id),
      [1, 3],
    );
  });

  it('forgets removed ids, keeping the others findable after the swap', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 3; id++) index.add({ id, sha256: sha(id), phash: '000000000000000' + id });
    assert.equal(index.remove(1), true);
    assert.equal(index.remove(1), false);
    assert.equal(index.count, 2);
    assert.deepEqual(index.search(sha(1), '0000000000000001', { maxDistance: 0 }), []);
    assert.deepEqual(index.search(sha(3), '0000000000000003', { maxDistance: 0 }), [{ id: 3, distance: 0, exact: true }]);
  });

  it('grows past its initial capacity', () => {
    const index = new HashIndex();
    for (let id = 1; id <= 3000; id++) index.add({ id, sha256: sha(id), phash: id.toString(16).padStart(16, '0') });
    assert.equal(index.count, 3000);
    assert.deepEqual(index.search(sha(2999), (2999).toString(16).padStart(16, '0'), { maxDistance: 0 }), [{ id: 2999, distance: 0, exact: true }]);
  });
});
