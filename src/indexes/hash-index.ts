/**
 * Near-duplicate look-up by 64-bit perceptual hash; exact byte matches (same SHA-256) are found by
 * the caller (the store has them indexed) and passed to search, which ranks them first. Not kept
 * here: 1M SHA-256 strings in Maps cost seconds at start-up (bench/scale.ts).
 *
 * Written here rather than taken from a library: the npm BK-tree / multi-index-hash packages are
 * unmaintained. Small collections are scanned (two Int32Arrays, int32 so the JIT keeps them out of
 * doubles). From {@link HashIndexOptions.multiIndexFrom} hashes on, multi-index hashing (Norouzi
 * et al.): the hash is cut into four 16-bit chunks, each with its own table; two hashes at most
 * `maxDistance` apart differ in at most floor(maxDistance / 4) bits in one of the chunks, so only
 * the table entries that close to the query's chunks are checked. The scan of 1M hashes took
 * 3-5 ms of a 10 ms search budget (bench/scale.ts).
 */

export interface HashHit {
  id: number;
  /** Hamming distance between perceptual hashes (0-64); 0 for an exact byte match. */
  distance: number;
  /** The bytes were identical (same SHA-256). */
  exact: boolean;
}

export interface HashEntry {
  id: number;
  phash: string;
}

export interface HashSearchOptions {
  /** Largest Hamming distance that counts as a near duplicate. */
  maxDistance: number;
  /** Keep only ids for which this returns true (scope filtering). */
  filter?: (id: number) => boolean;
  limit?: number;
  /** Images with the query's exact bytes (same SHA-256): first, at distance 0. */
  exact?: readonly number[];
}

/**
 * maxDistance 8, not 10: in full `sagasu eval` runs on ../shared/eval, hits beyond distance 5 were
 * the wrong image 22 times out of 29 (seeds 1 and 2), and a mirrored nectarine went to a peach at
 * distance 10. At 8, product flips R@1 0.973 -> 0.986 (seeds 1 and 3) and 0.986 -> 1.000 (seed 2);
 * no other query changed but one store photo on seeds 1 and 2, moved by run-to-run variation (no
 * hash hit on either). Tiny images are less stable: a 64x48 picture re-encoded as JPEG with halved
 * chroma moves 10 bits.
 */
export const defaultHashSearchOptions: Required<Omit<HashSearchOptions, 'filter' | 'exact'>> = {
  maxDistance: 8,
  limit: 10,
};

export interface HashIndexOptions {
  /**
   * Hashes from which the chunk tables are used instead of a scan (when maxDistance < 16). Default
   * 20000: below it the scan takes well under a tenth of a millisecond.
   */
  multiIndexFrom?: number;
}

export const defaultHashIndexOptions: Required<HashIndexOptions> = { multiIndexFrom: 20_000 };

/** 16-bit masks by number of set bits (0-3): the chunk values within that distance of a chunk are value ^ mask. */
const masksWithin = (() => {
  const byBits: number[][] = [[], [], [], []];
  for (let mask = 0; mask < 1 << 16; mask++) {
    const bits = popcount32(mask);
    if (bits <= 3) byBits[bits]!.push(mask);
  }
  return [0, 1, 2, 3].map((radius) => Int32Array.from(byBits.slice(0, radius + 1).flat()));
})();

/** Number of differing bits between two 16-hex-digit hashes. */
export function hammingDistance(a: string, b: string): number {
  return popcount32(parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16)) + popcount32(parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16));
}

/** Set bits of every 16-bit value: two look-ups per 32-bit half in the scan. */
const bitsIn16 = Uint8Array.from({ length: 1 << 16 }, (_, v) => popcount32(v));

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class HashIndex {
  private ids = new Int32Array(1024);
  private high = new Int32Array(1024);
  private low = new Int32Array(1024);
  private size = 0;
  private readonly slotOf = new Map<number, number>();
  private readonly options: Required<HashIndexOptions>;
  /**
   * Per 16-bit chunk of the hash, the slots with each chunk value as linked lists in typed arrays
   * (first slot of a value, next slot after a slot; -1 ends a list): no per-bucket JS objects for
   * the garbage collector to trace at 1M hashes. Built when the collection reaches multiIndexFrom.
   */
  private chunkTables: Array<{ first: Int32Array; next: Int32Array }> | undefined;

  constructor(options: HashIndexOptions = {}) {
    this.options = { ...defaultHashIndexOptions, ...options };
  }

  get count(): number {
    return this.size;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  add(entry: HashEntry): void {
    if (this.slotOf.has(entry.id)) this.remove(entry.id);
    if (this.size === this.ids.length) this.grow();
    const slot = this.size++;
    this.ids[slot] = entry.id;
    this.high[slot] = parseInt(entry.phash.slice(0, 8), 16) | 0;
    this.low[slot] = parseInt(entry.phash.slice(8), 16) | 0;
    this.slotOf.set(entry.id, slot);
    if (this.chunkTables) this.addToTables(slot);
    else if (this.size >= this.options.multiIndexFrom) this.buildTables();
  }

  remove(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    // Swap the last entry into the hole so the scan stays dense.
    const last = --this.size;
    this.removeFromTables(slot);
    if (slot !== last) {
      this.removeFromTables(last);
      const movedId = this.ids[last]!;
      this.ids[slot] = movedId;
      this.high[slot] = this.high[last]!;
      this.low[slot] = this.low[last]!;
      this.slotOf.set(movedId, slot);
      if (this.chunkTables) this.addToTables(slot);
    }
    this.slotOf.delete(id);
    return true;
  }

  clear(): void {
    this.size = 0;
    this.chunkTables = undefined;
    this.slotOf.clear();
  }

  /** Exact byte matches (options.exact) first, then near duplicates by increasing distance. */
  search(phash: string, options: Partial<HashSearchOptions> = {}): HashHit[] {
    const { maxDistance, limit } = { ...defaultHashSearchOptions, ...options };
    const filter = options.filter;
    const qHigh = parseInt(phash.slice(0, 8), 16) | 0;
    const qLow = parseInt(phash.slice(8), 16) | 0;
    const exactIds = new Set((options.exact ?? []).filter((id) => !filter || filter(id)));
    const hits: HashHit[] = [...exactIds].map((id) => ({ id, distance: 0, exact: true }));
    const { high, low } = this;
    const seen = new Set<number>();
    const consider = (slot: number) => {
      // Most hashes differ in more bits than maxDistance within their first half already: the
      // second half is skipped for them (the scan of 1M hashes went from 7.8 to ~2 ms at 1M).
      const h = high[slot]! ^ qHigh;
      let distance = bitsIn16[h & 0xffff]! + bitsIn16[h >>> 16]!;
      if (distance > maxDistance) return;
      const l = low[slot]! ^ qLow;
      distance += bitsIn16[l & 0xffff]! + bitsIn16[l >>> 16]!;
      if (distance > maxDistance) return;
      const id = this.ids[slot]!;
      if (exactIds.has(id) || (filter && !filter(id)) || seen.has(id)) return;
      seen.add(id);
      hits.push({ id, distance, exact: false });
    };
    if (this.chunkTables && maxDistance < 16) {
      const masks = masksWithin[Math.floor(maxDistance / 4)]!;
      const chunks = [qHigh >>> 16, qHigh & 0xffff, qLow >>> 16, qLow & 0xffff];
      chunks.forEach((chunk, table) => {
        const { first, next } = this.chunkTables![table]!;
        for (const mask of masks) for (let slot = first[chunk ^ mask]!; slot !== -1; slot = next[slot]!) consider(slot);
      });
    } else {
      for (let slot = 0; slot < this.size; slot++) consider(slot);
    }
    hits.sort((a, b) => Number(b.exact) - Number(a.exact) || a.distance - b.distance || a.id - b.id);
    return hits.slice(0, limit);
  }

  private chunksOf(slot: number): number[] {
    const high = this.high[slot]!;
    const low = this.low[slot]!;
    return [high >>> 16, high & 0xffff, low >>> 16, low & 0xffff];
  }

  private buildTables(): void {
    this.chunkTables = Array.from({ length: 4 }, () => ({ first: new Int32Array(1 << 16).fill(-1), next: new Int32Array(this.ids.length).fill(-1) }));
    for (let slot = 0; slot < this.size; slot++) this.addToTables(slot);
  }

  private addToTables(slot: number): void {
    this.chunksOf(slot).forEach((chunk, table) => {
      const { first, next } = this.chunkTables![table]!;
      next[slot] = first[chunk]!;
      first[chunk] = slot;
    });
  }

  private removeFromTables(slot: number): void {
    if (!this.chunkTables) return;
    this.chunksOf(slot).forEach((chunk, table) => {
      const { first, next } = this.chunkTables![table]!;
      if (first[chunk] === slot) {
        first[chunk] = next[slot]!;
      } else {
        let before = first[chunk]!;
        while (before !== -1 && next[before] !== slot) before = next[before]!;
        if (before !== -1) next[before] = next[slot]!;
      }
      next[slot] = -1;
    });
  }

  private grow(): void {
    const capacity = this.ids.length * 2;
    const ids = new Int32Array(capacity);
    ids.set(this.ids);
    const high = new Int32Array(capacity);
    high.set(this.high);
    const low = new Int32Array(capacity);
    low.set(this.low);
    this.ids = ids;
    this.high = high;
    this.low = low;
    for (const table of this.chunkTables ?? []) {
      const next = new Int32Array(capacity).fill(-1);
      next.set(table.next);
      table.next = next;
    }
  }
}
