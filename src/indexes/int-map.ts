/**
 * A map from non-negative 32-bit integers to 32-bit integers in two Int32Arrays (open addressing,
 * linear probing, deletion by backward shift).
 *
 * Written here rather than using a Map: at 1M entries a Map built at start-up, beside the text
 * index's large heap, set off major garbage collections that cost seconds (opening a 1M-image data
 * directory: bench/scale.ts); typed arrays are not traced by the collector.
 */
export class IntMap {
  private keys: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Int32Array(capacity).fill(-1);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  get(key: number): number | undefined {
    const at = this.find(key);
    return at >= 0 ? this.values[at] : undefined;
  }

  set(key: number, value: number): void {
    if (!Number.isInteger(key) || key < 0 || key > 0x7fffffff) throw new RangeError(`sagasu: IntMap keys are integers from 0 to 2^31-1 (got ${key})`);
    let at = this.slotFor(key);
    while (this.keys[at] !== -1) {
      if (this.keys[at] === key) {
        this.values[at] = value;
        return;
      }
      at = (at + 1) & this.mask;
    }
    this.keys[at] = key;
    this.values[at] = value;
    this.count += 1;
    if (this.count * 2 > this.keys.length) this.resize(this.keys.length * 2);
  }

  delete(key: number): boolean {
    let hole = this.find(key);
    if (hole < 0) return false;
    this.count -= 1;
    // Backward shift: move later entries of the same probe run into the hole, so no lookup stops early.
    let at = (hole + 1) & this.mask;
    while (this.keys[at] !== -1) {
      const home = this.slotFor(this.keys[at]!);
      const distanceFromHome = (at - home) & this.mask;
      const distanceToHole = (at - hole) & this.mask;
      if (distanceFromHome >= distanceToHole) {
        this.keys[hole] = this.keys[at]!;
        this.values[hole] = this.values[at]!;
        hole = at;
      }
      at = (at + 1) & this.mask;
    }
    this.keys[hole] = -1;
    return true;
  }

  clear(): void {
    this.keys.fill(-1);
    this.count = 0;
  }

  private slotFor(key: number): number {
    // Multiplicative hashing: consecutive ids (the usual case) spread over the table.
    return Math.imul(key, 0x9e3779b1) >>> 0 & this.mask;
  }

  private find(key: number): number {
    if (key < 0) return -1;
    let at = this.slotFor(key);
    while (this.keys[at] !== -1) {
      if (this.keys[at] === key) return at;
      at = (at + 1) & this.mask;
    }
    return -1;
  }

  private resize(capacity: number): void {
    const { keys, values } = this;
    this.keys = new Int32Array(capacity).fill(-1);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== -1) this.set(keys[i]!, values[i]!);
  }
}
