import { existsSync } from 'node:fs';
import SearchableMap from 'minisearch/SearchableMap';
import { SnapshotReader, writeSnapshot } from '../store/snapshot-file.js';
import { IntMap } from './int-map.js';
import { isCjk, tokenize, tokenizerVersion } from './tokenize.js';

/** What the text index holds for one image: its OCR text, and names/captions from its sources. */
export interface TextDocument {
  /** A non-negative 31-bit integer (the store's image id). */
  id: number;
  text: string;
  names: string;
}

export interface TextHit {
  id: number;
  score: number;
  /** The query terms (words, or character bigrams for Japanese) found in this image. */
  terms: string[];
  /** Those of `terms` found only through a fuzzy neighbour (an edit or two away), not as themselves. */
  approximate: string[];
}

export interface TextIndexOptions {
  /** Relative weight of the file-name/caption field against OCR text. Default 0.5. */
  namesBoost?: number;
  /**
   * Edit distance for Latin words of 5+ letters, as a fraction of the word's length. Default 0.2.
   * Never for terms with a digit: a page number or price one digit away is another page, and
   * fuzzy look-ups of numbers were the costliest part of a text search at 100k images (1.4 of
   * 2.3 ms; bench/scale.ts).
   */
  fuzzy?: number;
  /**
   * Work limit per query, in postings (documents per term, summed over the query's terms). The
   * rarest terms are kept until the sum would pass it; the most common ones, which say least
   * about which page it is (low IDF) and cost most, are dropped. The 2 rarest are always kept.
   * Default 20000.
   */
  maxPostings?: number;
  /**
   * In a collection of 1000 documents or more, a term found in more than this share of them is a
   * stop word for this collection and is not searched (it cannot tell pages apart). Default 0.2.
   */
  maxTermShare?: number;
}

export const defaultTextIndexOptions: Required<TextIndexOptions> = { namesBoost: 0.5, fuzzy: 0.2, maxPostings: 20_000, maxTermShare: 0.2 };

const magic = 'SGT1';
const formatVersion = 1;

/** Fields in scoring order; `names` is boosted by TextIndexOptions.namesBoost. */
const fields = ['text', 'names'] as const;
const fieldCount = fields.length;

/** MiniSearch's BM25+ parameters and fuzzy weight (its defaults), so ranking is what it was. */
const bm25 = { k: 1.2, b: 0.7, d: 0.5 };
const fuzzyWeight = 0.45;
const maxFuzzyDistance = 6;

/** Term frequencies and field lengths are kept in 16 bits. */
const maxCount = 0xffff;

/** Merge the added postings into the compact arrays when they pass this, or half the compact part. */
const minPostingsBeforeMerge = 100_000;

const hasDigit = /\p{N}/u;
const digits = /\p{N}/gu;

interface Header {
  version: number;
  tokenizerVersion: number;
  seq: number;
  documents: number;
  termBytes: number;
  terms: number;
  postings: number[];
}

/** One field's postings for every term, compressed-row style: term t's are at offsets[t]..offsets[t+1]. */
interface CompactPostings {
  offsets: Uint32Array;
  slots: Int32Array;
  freqs: Uint16Array;
}

const emptyPostings = (): CompactPostings => ({ offsets: new Uint32Array(1), slots: new Int32Array(0), freqs: new Uint16Array(0) });

/**
 * Full-text index over OCR text (BM25+, fuzzy matching of long Latin words), ranking exactly as
 * MiniSearch's `search` does with this project's options (test/indexes/text-index.test.ts checks
 * it against MiniSearch itself).
 *
 * Why not MiniSearch's own index: it keeps a Map per term and field with an entry per document. At
 * 1M images that was a 1.4 GiB heap, 14-17 s to load, and a text search of 50 ms of which most
 * was garbage collection over those Maps (bench/scale.ts). Here the postings live in typed arrays
 * (4 bytes of document slot + 2 of frequency each), which the collector does not trace, and which
 * load as raw bytes. MiniSearch's radix tree (SearchableMap) still does the fuzzy term look-ups.
 *
 * Documents take slots in the order they are added. Added postings go to small per-term lists
 * and are merged into the compact arrays in batches; removed documents are marked dead and
 * dropped at the next merge. Document frequencies used for scoring count live documents only.
 */
export class TextIndex {
  /** The store change sequence this index includes (see SqliteStore.changes). */
  seq = 0;
  private readonly options: Required<TextIndexOptions>;

  private termNumbers = new Map<string, number>();
  private terms: string[] = [];
  /** The terms a fuzzy query could reach (see fuzzyReachable), for edit-distance look-ups. */
  private fuzzyTerms = new SearchableMap<number>();

  private slotOf = new IntMap();
  private idOfSlot = new Int32Array(16);
  private live = new Uint8Array(16);
  /** Unique terms per field, per slot (MiniSearch's field length). */
  private lengths = new Uint16Array(16 * fieldCount);
  private slotCount = 0;
  private liveCount = 0;
  private totalLength = new Float64Array(fieldCount);

  private compact: CompactPostings[] = fields.map(emptyPostings);
  /** Postings added since the last merge, per field: term -> [slot, frequency, slot, frequency, ...]. */
  private added: Array<Map<number, number[]>> = fields.map(() => new Map());
  private addedPostings = 0;
  private deadSlots = 0;

  // Scratch space for one search, kept between searches: a score per slot is too large to clear.
  private scores = new Float64Array(0);
  private lastQuery = new Int32Array(0);
  private matched = new Uint16Array(0);

  constructor(options: TextIndexOptions = {}) {
    this.options = { ...defaultTextIndexOptions, ...options };
  }

  get count(): number {
    return this.liveCount;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  add(document: TextDocument): void {
    this.remove(document.id);
    const slot = this.slotCount++;
    this.ensureSlots(this.slotCount);
    this.idOfSlot[slot] = document.id;
    this.live[slot] = 1;
    this.slotOf.set(document.id, slot);
    this.liveCount++;
    fields.forEach((field, f) => {
      const frequencies = new Map<string, number>();
      for (const term of tokenize(document[field])) frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
      const length = Math.min(frequencies.size, maxCount);
      this.lengths[slot * fieldCount + f] = length;
      this.totalLength[f]! += length;
      for (const [term, frequency] of frequencies) {
        const t = this.termNumber(term);
        let list = this.added[f]!.get(t);
        if (!list) this.added[f]!.set(t, (list = []));
        list.push(slot, Math.min(frequency, maxCount));
      }
      this.addedPostings += frequencies.size;
    });
    if (this.addedPostings > Math.max(minPostingsBeforeMerge, this.compactPostings() / 2)) this.merge();
  }

  remove(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.live[slot] = 0;
    this.liveCount--;
    this.deadSlots++;
    for (let f = 0; f < fieldCount; f++) this.totalLength[f]! -= this.lengths[slot * fieldCount + f]!;
    if (this.deadSlots > Math.max(1000, this.slotCount / 10)) this.merge();
    return true;
  }

  clear(): void {
    const fresh = new TextIndex(this.options);
    Object.assign(this, fresh);
  }

  search(query: string, options: { limit?: number; filter?: (id: number) => boolean } = {}): TextHit[] {
    const { limit = 50, filter } = options;
    const queryTerms = this.affordableTerms([...new Set(tokenize(query))]);
    if (queryTerms.length === 0) return [];
    this.ensureScratch();
    // Each query term with the index terms it reaches: itself, and fuzzy neighbours at a weight.
    const reaches = queryTerms.map((term) => this.reach(term));
    const touched: number[] = [];
    reaches.forEach((reach, q) => {
      for (const { term, weight } of reach) {
        for (let f = 0; f < fieldCount; f++) this.score(term, f, q, weight * (f === 0 ? 1 : this.options.namesBoost), touched);
      }
    });
    // MiniSearch multiplies a document's score by the number of query terms it matched.
    for (const slot of touched) this.scores[slot]! *= this.matched[slot]!;
    // Stable: equal scores keep the order in which documents were first reached, as in MiniSearch.
    const ranked = touched.slice().sort((a, b) => this.scores[b]! - this.scores[a]!);
    const hits: TextHit[] = [];
    for (const slot of ranked) {
      if (hits.length >= limit) break;
      const id = this.idOfSlot[slot]!;
      if (filter && !filter(id)) continue;
      const terms: string[] = [];
      const approximate: string[] = [];
      queryTerms.forEach((queryTerm, q) => {
        const found = reaches[q]!.filter(({ term }) => this.holds(term, slot));
        if (found.length === 0) return;
        terms.push(queryTerm);
        if (!found.some(({ exact }) => exact)) approximate.push(queryTerm);
      });
      hits.push({ id, score: this.scores[slot]!, terms, approximate });
    }
    for (const slot of touched) {
      this.scores[slot] = 0;
      this.lastQuery[slot] = -1;
      this.matched[slot] = 0;
    }
    return hits;
  }

  /**
   * Writes the index (atomically) as a header and raw arrays: the terms, the slots' ids and field
   * lengths, and each field's postings. Added postings are merged and dead slots dropped first.
   */
  save(file: string): void {
    this.merge();
    const termBytes = Buffer.from(this.terms.join('\n'), 'utf8');
    const header: Header = {
      version: formatVersion,
      tokenizerVersion,
      seq: this.seq,
      documents: this.slotCount,
      termBytes: termBytes.length,
      terms: this.terms.length,
      postings: this.compact.map((postings) => postings.slots.length),
    };
    writeSnapshot(file, magic, header, (put) => {
      put(termBytes);
      put(this.idOfSlot.subarray(0, this.slotCount));
      put(this.lengths.subarray(0, this.slotCount * fieldCount));
      for (const postings of this.compact) {
        put(postings.offsets);
        put(postings.slots);
        put(postings.freqs);
      }
    });
  }

  /**
   * Loads a snapshot. Undefined when there is none, it is damaged, or it was made with another
   * format or tokenizer: the caller rebuilds from the store, which is the source of truth.
   */
  static load(file: string, options: TextIndexOptions = {}): TextIndex | undefined {
    if (!existsSync(file)) return undefined;
    let reader: SnapshotReader | undefined;
    try {
      reader = new SnapshotReader(file);
      const read = reader.read.bind(reader);
      const header = reader.header<Header>(magic);
      if (!header || header.version !== formatVersion || header.tokenizerVersion !== tokenizerVersion) return undefined;
      const index = new TextIndex(options);
      const n = header.documents;
      const text = Buffer.from(read(new Uint8Array(header.termBytes))).toString('utf8');
      index.terms = header.terms === 0 ? [] : text.split('\n');
      if (index.terms.length !== header.terms) return undefined;
      index.ensureSlots(n);
      read(index.idOfSlot.subarray(0, n));
      read(index.lengths.subarray(0, n * fieldCount));
      index.compact = header.postings.map((count) => {
        const postings = { offsets: read(new Uint32Array(header.terms + 1)), slots: read(new Int32Array(count)), freqs: read(new Uint16Array(count)) };
        for (let t = 0; t < header.terms; t++) if (postings.offsets[t]! > postings.offsets[t + 1]!) throw new Error('offsets out of order');
        if (postings.offsets[header.terms] !== count || postings.slots.some((slot) => slot < 0 || slot >= n)) throw new Error('postings out of range');
        return postings;
      });
      if (index.compact.length !== fieldCount || !reader.atEnd()) throw new Error('unexpected length');
      index.terms.forEach((term, t) => index.registerTerm(term, t));
      for (let slot = 0; slot < n; slot++) {
        index.slotOf.set(index.idOfSlot[slot]!, slot);
        index.live[slot] = 1;
        for (let f = 0; f < fieldCount; f++) index.totalLength[f]! += index.lengths[slot * fieldCount + f]!;
      }
      if (index.slotOf.size !== n) throw new Error('an id appears twice');
      index.slotCount = n;
      index.liveCount = n;
      index.seq = header.seq;
      return index;
    } catch {
      return undefined;
    } finally {
      reader?.close();
    }
  }

  /** Adds `weight` × BM25+ of term `t` in field `f` to each live document holding it. */
  private score(t: number, f: number, q: number, weight: number, touched: number[]): void {
    const { offsets, slots, freqs } = this.compact[f]!;
    const inCompact = t + 1 < offsets.length;
    const from = inCompact ? offsets[t]! : 0;
    const to = inCompact ? offsets[t + 1]! : 0;
    const added = this.added[f]!.get(t);
    let documents = 0;
    for (let p = from; p < to; p++) documents += this.live[slots[p]!]!;
    if (added) for (let i = 0; i < added.length; i += 2) documents += this.live[added[i]!]!;
    if (documents === 0) return;
    const idf = Math.log(1 + (this.liveCount - documents + 0.5) / (documents + 0.5));
    const averageLength = this.totalLength[f]! / this.liveCount;
    const scoreOne = (slot: number, frequency: number) => {
      if (!this.live[slot]) return;
      const length = this.lengths[slot * fieldCount + f]!;
      const s = weight * idf * (bm25.d + (frequency * (bm25.k + 1)) / (frequency + bm25.k * (1 - bm25.b + (bm25.b * length) / averageLength)));
      if (this.lastQuery[slot] === -1) {
        touched.push(slot);
        this.scores[slot] = s;
        this.lastQuery[slot] = q;
        this.matched[slot] = 1;
        return;
      }
      this.scores[slot]! += s;
      if (this.lastQuery[slot] !== q) {
        this.lastQuery[slot] = q;
        this.matched[slot]!++;
      }
    };
    for (let p = from; p < to; p++) scoreOne(slots[p]!, freqs[p]!);
    if (added) for (let i = 0; i < added.length; i += 2) scoreOne(added[i]!, added[i + 1]!);
  }

  /** Whether the live document in `slot` holds term `t` in any field (postings are in slot order). */
  private holds(t: number, slot: number): boolean {
    for (let f = 0; f < fieldCount; f++) {
      const { offsets, slots } = this.compact[f]!;
      if (t + 1 < offsets.length) {
        let low = offsets[t]!;
        let high = offsets[t + 1]!;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (slots[middle]! < slot) low = middle + 1;
          else high = middle;
        }
        if (low < offsets[t + 1]! && slots[low] === slot) return true;
      }
      const added = this.added[f]!.get(t);
      if (added) {
        let low = 0;
        let high = added.length / 2;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (added[middle * 2]! < slot) low = middle + 1;
          else high = middle;
        }
        if (added[low * 2] === slot) return true;
      }
    }
    return false;
  }

  /** The index terms a query term reaches, with their weights (MiniSearch's fuzzy weighting). */
  private reach(term: string): Array<{ term: number; weight: number; exact: boolean }> {
    const reach: Array<{ term: number; weight: number; exact: boolean }> = [];
    const itself = this.termNumbers.get(term);
    if (itself !== undefined) reach.push({ term: itself, weight: 1, exact: true });
    if (term.length >= 5 && !isCjk(term) && !hasDigit.test(term) && this.options.fuzzy > 0) {
      const maxDistance = Math.min(maxFuzzyDistance, Math.round(term.length * this.options.fuzzy));
      if (maxDistance > 0) {
        for (const [found, [t, distance]] of this.fuzzyTerms.fuzzyGet(term, maxDistance)) {
          if (distance > 0) reach.push({ term: t, weight: (fuzzyWeight * found.length) / (found.length + distance), exact: false });
        }
      }
    }
    return reach;
  }

  /**
   * Whether some fuzzy query could reach this term, so only those go into the radix tree (at 1M
   * images most terms are page numbers and prices). A query is fuzzy only when it is all letters,
   * 5+ long, at distance d <= min(6, round(fuzzy·L)) for its length L. A term of length n with k
   * digits is at least k edits away, and L <= n + d, so it is reachable only if
   * k <= d <= (fuzzy·n + 0.5) / (1 − fuzzy) and n >= 5 − d. CJK terms are never within reach.
   */
  private fuzzyReachable(term: string): boolean {
    const fuzzy = this.options.fuzzy;
    if (!(fuzzy > 0 && fuzzy < 1) || isCjk(term)) return false;
    const n = term.length;
    const reach = Math.min(maxFuzzyDistance, (fuzzy * n + 0.5) / (1 - fuzzy));
    return n + reach >= 5 && (term.match(digits)?.length ?? 0) <= reach;
  }

  private termNumber(term: string): number {
    let t = this.termNumbers.get(term);
    if (t === undefined) {
      t = this.terms.length;
      this.terms.push(term);
      this.registerTerm(term, t);
    }
    return t;
  }

  private registerTerm(term: string, t: number): void {
    this.termNumbers.set(term, t);
    if (this.fuzzyReachable(term)) this.fuzzyTerms.set(term, t);
  }

  /** The query's terms, rarest first, within the postings budget (see TextIndexOptions.maxPostings). */
  private affordableTerms(terms: string[]): string[] {
    const tooCommon = this.liveCount >= 1000 ? this.options.maxTermShare * this.liveCount : Infinity;
    const withFrequency = terms
      .map((term) => ({ term, documents: this.documentFrequency(term) }))
      .filter(({ documents }) => documents <= tooCommon)
      .sort((a, b) => a.documents - b.documents);
    const kept: string[] = [];
    let postings = 0;
    for (const { term, documents } of withFrequency) {
      if (kept.length >= 2 && postings + documents > this.options.maxPostings) break;
      kept.push(term);
      postings += documents;
    }
    return kept;
  }

  /** Postings of the term in its most common field, dead documents included until the next merge (it is the work a search does). */
  private documentFrequency(term: string): number {
    const t = this.termNumbers.get(term);
    if (t === undefined) return 0;
    let most = 0;
    for (let f = 0; f < fieldCount; f++) {
      const { offsets } = this.compact[f]!;
      const inCompact = t + 1 < offsets.length ? offsets[t + 1]! - offsets[t]! : 0;
      most = Math.max(most, inCompact + (this.added[f]!.get(t)?.length ?? 0) / 2);
    }
    return most;
  }

  private compactPostings(): number {
    return this.compact.reduce((sum, postings) => sum + postings.slots.length, 0);
  }

  /**
   * Merges the added postings into the compact arrays and drops dead slots (renumbering the
   * rest in order) and terms no live document holds any more.
   */
  private merge(): void {
    if (this.addedPostings === 0 && this.deadSlots === 0) return;
    const newSlot = new Int32Array(this.slotCount);
    let slots = 0;
    for (let slot = 0; slot < this.slotCount; slot++) newSlot[slot] = this.live[slot] ? slots++ : -1;
    const termCount = this.terms.length;
    const counts = this.compact.map((postings, f) => {
      const count = new Uint32Array(termCount);
      for (let t = 0; t + 1 < postings.offsets.length; t++) {
        for (let p = postings.offsets[t]!; p < postings.offsets[t + 1]!; p++) if (newSlot[postings.slots[p]!]! >= 0) count[t]!++;
      }
      for (const [t, list] of this.added[f]!) for (let i = 0; i < list.length; i += 2) if (newSlot[list[i]!]! >= 0) count[t]!++;
      return count;
    });
    const newTerm = new Int32Array(termCount);
    let terms = 0;
    for (let t = 0; t < termCount; t++) newTerm[t] = counts.some((count) => count[t]! > 0) ? terms++ : -1;
    this.compact = this.compact.map((postings, f) => {
      const count = counts[f]!;
      const offsets = new Uint32Array(terms + 1);
      for (let t = 0; t < termCount; t++) if (newTerm[t]! >= 0) offsets[newTerm[t]! + 1] = count[t]!;
      for (let t = 0; t < terms; t++) offsets[t + 1]! += offsets[t]!;
      const merged = { offsets, slots: new Int32Array(offsets[terms]!), freqs: new Uint16Array(offsets[terms]!) };
      const next = offsets.slice(0, terms);
      const put = (t: number, slot: number, frequency: number) => {
        const at = next[newTerm[t]!]!++;
        merged.slots[at] = newSlot[slot]!;
        merged.freqs[at] = frequency;
      };
      for (let t = 0; t + 1 < postings.offsets.length; t++) {
        for (let p = postings.offsets[t]!; p < postings.offsets[t + 1]!; p++) if (newSlot[postings.slots[p]!]! >= 0) put(t, postings.slots[p]!, postings.freqs[p]!);
      }
      // Added postings come after the compact ones: their slots are higher, so order is kept.
      for (const [t, list] of this.added[f]!) for (let i = 0; i < list.length; i += 2) if (newSlot[list[i]!]! >= 0) put(t, list[i]!, list[i + 1]!);
      return merged;
    });
    this.added = fields.map(() => new Map());
    this.addedPostings = 0;
    if (terms < termCount) {
      const kept = this.terms.filter((_, t) => newTerm[t]! >= 0);
      this.terms = kept;
      this.termNumbers = new Map();
      this.fuzzyTerms = new SearchableMap();
      kept.forEach((term, t) => this.registerTerm(term, t));
    }
    if (slots < this.slotCount) {
      const idOfSlot = new Int32Array(Math.max(16, slots));
      const lengths = new Uint16Array(Math.max(16, slots) * fieldCount);
      this.slotOf = new IntMap(slots);
      for (let slot = 0; slot < this.slotCount; slot++) {
        const to = newSlot[slot]!;
        if (to < 0) continue;
        idOfSlot[to] = this.idOfSlot[slot]!;
        lengths.set(this.lengths.subarray(slot * fieldCount, (slot + 1) * fieldCount), to * fieldCount);
        this.slotOf.set(idOfSlot[to]!, to);
      }
      this.idOfSlot = idOfSlot;
      this.lengths = lengths;
      this.live = new Uint8Array(idOfSlot.length).fill(1, 0, slots);
      this.slotCount = slots;
      this.deadSlots = 0;
    }
  }

  private ensureSlots(needed: number): void {
    if (needed <= this.idOfSlot.length) return;
    let capacity = this.idOfSlot.length;
    while (capacity < needed) capacity *= 2;
    const grow = <T extends Int32Array | Uint8Array | Uint16Array>(old: T, make: (n: number) => T, width = 1): T => {
      const fresh = make(capacity * width);
      fresh.set(old as never);
      return fresh;
    };
    this.idOfSlot = grow(this.idOfSlot, (n) => new Int32Array(n));
    this.live = grow(this.live, (n) => new Uint8Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint16Array(n), fieldCount);
  }

  private ensureScratch(): void {
    if (this.scores.length >= this.slotCount) return;
    const capacity = this.idOfSlot.length;
    this.scores = new Float64Array(capacity);
    this.lastQuery = new Int32Array(capacity).fill(-1);
    this.matched = new Uint16Array(capacity);
  }
}
