import { IntMap } from './int-map.js';

/**
 * Which scope (a Discord guild, or the CLI's scope) each indexed image belongs to, and how many
 * images each scope holds.
 *
 * The counts let a search skip its scope filter when the scope holds every image (one community,
 * or the CLI): hnswlib calls a JavaScript filter for every node it visits, which at 1M images
 * was 2.5 ms of a 10 ms search (bench/scale.ts, profiled). Ids map to scope numbers in an IntMap
 * rather than a Map of strings, which at 1M entries is slower to build at start-up and to look up.
 */
export class ScopeMap {
  private readonly scopeOfId: IntMap;
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly counts: number[] = [];

  constructor(expected = 16) {
    this.scopeOfId = new IntMap(expected);
  }

  get size(): number {
    return this.scopeOfId.size;
  }

  get(id: number): string | undefined {
    const number = this.scopeOfId.get(id);
    return number === undefined ? undefined : this.names[number];
  }

  set(id: number, scope: string): void {
    let number = this.numbers.get(scope);
    if (number === undefined) {
      number = this.names.length;
      this.numbers.set(scope, number);
      this.names.push(scope);
      this.counts.push(0);
    }
    const previous = this.scopeOfId.get(id);
    if (previous !== undefined) this.counts[previous]! -= 1;
    this.scopeOfId.set(id, number);
    this.counts[number]! += 1;
  }

  delete(id: number): boolean {
    const previous = this.scopeOfId.get(id);
    if (previous === undefined) return false;
    this.counts[previous]! -= 1;
    this.scopeOfId.delete(id);
    return true;
  }

  /** Images in `scope`. */
  count(scope: string): number {
    const number = this.numbers.get(scope);
    return number === undefined ? 0 : this.counts[number]!;
  }

  /** A test of membership in `scope`, or undefined when every image is in it (no filter needed). */
  filterFor(scope: string): ((id: number) => boolean) | undefined {
    const number = this.numbers.get(scope);
    if (number !== undefined && this.counts[number] === this.scopeOfId.size) return undefined;
    if (number === undefined) return () => false;
    return (id: number) => this.scopeOfId.get(id) === number;
  }
}
