import { existsSync, readFileSync } from 'node:fs';
import MiniSearch from 'minisearch';
import { SagasuError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { isCjk, tokenize, tokenizerVersion } from './tokenize.js';

/** What the text index holds for one image: its OCR text, and names/captions from its sources. */
export interface TextDocument {
  id: number;
  text: string;
  names: string;
}

export interface TextHit {
  id: number;
  score: number;
  /** The query terms (words, or character bigrams for Japanese) found in this image. */
  terms: string[];
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
   * Default 20000 (about 50 ms on this project's 2-core machine).
   */
  maxPostings?: number;
  /**
   * In a collection of 1000 documents or more, a term found in more than this share of them is a
   * stop word for this collection and is not searched (it cannot tell pages apart). Default 0.2.
   */
  maxTermShare?: number;
}

export const defaultTextIndexOptions: Required<TextIndexOptions> = { namesBoost: 0.5, fuzzy: 0.2, maxPostings: 20_000, maxTermShare: 0.2 };

const serializationVersion = 1;

const hasDigit = /\p{N}/u;

interface Snapshot {
  version: number;
  tokenizerVersion: number;
  seq: number;
  index: unknown;
}

function miniSearchOptions() {
  return {
    idField: 'id',
    fields: ['text', 'names'],
    storeFields: [] as string[],
    tokenize,
    // tokenize() already normalises and drops stop words.
    processTerm: (term: string) => term,
  };
}

/** MiniSearch over OCR text, with a tokenizer for Japanese and Latin text. */
export class TextIndex {
  private index: MiniSearch<TextDocument>;
  private readonly options: Required<TextIndexOptions>;
  /** The store change sequence this index includes (see SqliteStore.changes). */
  seq = 0;

  constructor(options: TextIndexOptions = {}) {
    this.options = { ...defaultTextIndexOptions, ...options };
    this.index = new MiniSearch<TextDocument>(miniSearchOptions());
  }

  get count(): number {
    return this.index.documentCount;
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  add(document: TextDocument): void {
    if (this.index.has(document.id)) this.index.discard(document.id);
    this.index.add(document);
  }

  remove(id: number): boolean {
    if (!this.index.has(id)) return false;
    this.index.discard(id);
    return true;
  }

  clear(): void {
    this.index = new MiniSearch<TextDocument>(miniSearchOptions());
    this.seq = 0;
  }

  search(query: string, options: { limit?: number; filter?: (id: number) => boolean } = {}): TextHit[] {
    const { limit = 50, filter } = options;
    const terms = this.affordableTerms([...new Set(tokenize(query))]);
    if (terms.length === 0) return [];
    const fuzzy = this.options.fuzzy;
    const results = this.index.search({ combineWith: 'OR', queries: terms }, {
      combineWith: 'OR',
      boost: { text: 1, names: this.options.namesBoost },
      fuzzy: (term: string) => (term.length >= 5 && !isCjk(term) && !hasDigit.test(term) ? fuzzy : false),
      prefix: false,
      ...(filter ? { filter: (result: { id: unknown }) => filter(result.id as number) } : {}),
    });
    return results.slice(0, limit).map((result) => ({ id: result.id as number, score: result.score, terms: result.queryTerms }));
  }

  /** The query's terms, rarest first, within the postings budget (see TextIndexOptions.maxPostings). */
  private affordableTerms(terms: string[]): string[] {
    const total = this.index.documentCount;
    const tooCommon = total >= 1000 ? this.options.maxTermShare * total : Infinity;
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

  /**
   * Documents holding the term in any field. MiniSearch has no public document-frequency call;
   * its term map is read here (stable across MiniSearch 6-7; checked by a test).
   */
  private documentFrequency(term: string): number {
    const fields = (this.index as unknown as { _index: { get(term: string): Map<number, Map<number, number>> | undefined } })._index.get(term);
    let most = 0;
    for (const documents of fields?.values() ?? []) most = Math.max(most, documents.size);
    return most;
  }

  save(file: string): void {
    const snapshot: Snapshot = { version: serializationVersion, tokenizerVersion, seq: this.seq, index: this.index.toJSON() };
    writeFileAtomic(file, JSON.stringify(snapshot));
  }

  /**
   * Loads a snapshot. Returns undefined when there is none or it was made with another tokenizer
   * (the caller rebuilds from the store); throws on a damaged file only if asked to be strict.
   */
  static load(file: string, options: TextIndexOptions = {}): TextIndex | undefined {
    if (!existsSync(file)) return undefined;
    let snapshot: Snapshot;
    try {
      snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    } catch {
      return undefined; // damaged snapshot: rebuilt from the store, which is the source of truth
    }
    if (snapshot.version !== serializationVersion || snapshot.tokenizerVersion !== tokenizerVersion) return undefined;
    const textIndex = new TextIndex(options);
    try {
      textIndex.index = MiniSearch.loadJS<TextDocument>(snapshot.index as never, miniSearchOptions());
    } catch (error) {
      throw new SagasuError('CORRUPT_IMAGE', `the text index snapshot ${file} cannot be loaded`, { cause: error });
    }
    textIndex.seq = snapshot.seq;
    return textIndex;
  }
}
