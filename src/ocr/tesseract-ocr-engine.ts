/**
 * OCR with tesseract.js, fully offline, for English and Japanese (horizontal and vertical).
 *
 * How an image is read (measured on real manga pages with `sagasu eval-ocr`, see src/eval):
 * 1. Text regions are found first: blocks of dark lettering on light ground (text-blocks.ts), each
 *    with the direction its layout shows, then closed speech bubbles no block lies in
 *    (text-regions.ts). At most `maxRegions` regions and `maxRegionPixels` enlarged pixels.
 * 2. Each region is cut out (surroundings blanked, enlarged so characters are ~40 px, padded) and
 *    read on its own: vertical ones with `jpn_vert` as one vertical block (PSM 5), horizontal ones
 *    with `eng+jpn` as one block (PSM 6), undecided ones both ways, the better reading kept.
 *    A whole manga page read at once gives little but garbage; one block at a time reads well.
 * 3. The whole image with `eng+jpn` and automatic layout, for text the regions miss (light on
 *    dark, coloured packaging); skipped on pages whose regions are mostly vertical lettering
 *    (`wholeImageHorizontal`). The whole image as vertical text only when no region was found
 *    (`wholeImageVertical`).
 * The slot's two workers (horizontal, vertical) run their reads at the same time. Lines of all
 * reads are merged: a region's reading wins over a whole-image reading of the same spot. Each line
 * records the region it came from (`OcrLine.region`, an index into `OcrResult.regions`).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import sharp from 'sharp';
import Tesseract from 'tesseract.js';
import { SagasuError, isSagasuError } from '../errors.js';
import type { Box, DecodedImage, OcrEngine, OcrLine, OcrRegion, OcrResult, OcrWord, RecognizeOptions, TextOrientation } from '../types.js';
import { cleanText, cleanWords, confidentWords, hasCjk, isMeaningful, letterCount, mapBox, mergeLines, readingScore } from './lines.js';
import { type BlockCropOptions, type TextBlockOptions, cropBlock, findTextBlocks } from './text-blocks.js';
import { type BubbleOptions, findBubbles } from './text-regions.js';
import { TRAINEDDATA_FLAVOUR, findLanguageData, prepareLangPath, tesseractVersion, validateTraineddata } from './traineddata.js';

export interface OcrOptions {
  /** Worker slots (each holds a horizontal and a vertical tesseract worker). Default: one per core, at most 2. */
  readonly workers: number;
  /** Languages of the horizontal pass. Default `"eng+jpn"`. */
  readonly horizontalLanguages: string;
  /** Languages of the vertical pass, or `null` to skip vertical text. Default `"jpn_vert"`. */
  readonly verticalLanguages: string | null;
  /**
   * A folder holding `<lang>.traineddata[.gz]` for every language, e.g. Debian's
   * `/usr/share/tesseract-ocr/5/tessdata` with `gzip: false`. Default: a folder of links to the
   * `@tesseract.js-data/*` npm packages (`4.0.0_best_int`), built under the OS temp dir.
   */
  readonly langPath: string | null;
  /** Whether the files in `langPath` are gzipped. Default `true` (the npm packages are). */
  readonly gzip: boolean;
  /** Lines read with lower confidence (0-100) are dropped. Default 60. */
  readonly minConfidence: number;
  /** Whole images with a longer side above this are downscaled for OCR. Default 2400. */
  readonly maxSide: number;
  /** Whole images with a longer side below this are upscaled (at most 3x): tesseract misses small glyphs. Default 500. */
  readonly minSide: number;
  /**
   * Text-block detection (lettering on light ground, see text-blocks.ts), or `false` to skip it.
   * Each block is read on its own in the direction its layout shows. Default: `defaultTextBlockOptions`.
   */
  readonly textBlocks: Partial<TextBlockOptions> | false;
  /** How blocks are cut out and enlarged for OCR. Default: `defaultBlockCropOptions`. */
  readonly blockCrop: Partial<BlockCropOptions>;
  /** At most this many regions (blocks and bubbles) are read per image: bounds OCR time. Default 16. */
  readonly maxRegions: number;
  /** At most this many pixels (after enlarging) are read in regions per image. Default 2,000,000. */
  readonly maxRegionPixels: number;
  /**
   * When the whole image is also read as vertical text: 'always', 'fallback' (only when no region
   * was found; the pass is slow and regions read vertical lettering better), or 'never'. Default 'fallback'.
   */
  readonly wholeImageVertical: 'always' | 'fallback' | 'never';
  /**
   * When the whole image is read as horizontal text (automatic layout), which finds text the block
   * finder misses (light on dark, on coloured ground): 'always'; 'fallback', only when no region was
   * found; 'auto', unless most regions found are vertical lettering (a manga page, where this
   * pass adds little and costs ~0.5 s); or 'never' (with wholeImageVertical 'never', an image
   * without text regions costs only the region search). Default 'auto'.
   */
  readonly wholeImageHorizontal: 'always' | 'auto' | 'fallback' | 'never';
  /** Speech-bubble detection options, or `false` to skip bubbles. Default: `defaultBubbleOptions`. */
  readonly bubbles: Partial<BubbleOptions> | false;
  /** Bubble crops with a shorter side below this are upscaled 2x. Default 100. */
  readonly bubbleMinSide: number;
  /**
   * The vertical pass is skipped where the horizontal pass read only non-CJK lines with at least
   * this mean confidence (vertical Japanese would not read as confident Latin). Default 85.
   */
  readonly skipVerticalConfidence: number;
  /** Receives non-fatal problems (a worker error, a failed restart). Default: `console.warn`. */
  readonly logger: (message: string, error?: unknown) => void;
  /**
   * Called after each tesseract run with what was read and how long the worker took, for
   * measuring where OCR time goes (`bench/ocr-passes.ts`). Default `null`.
   */
  readonly trace: ((run: OcrRunTrace) => void) | null;
}

/** One tesseract run, as reported to {@link OcrOptions.trace}. */
export interface OcrRunTrace {
  /** The whole image (automatic layout), or one region read as a single block. */
  readonly target: 'whole' | OcrRegion['kind'];
  readonly orientation: TextOrientation;
  /** Width x height of the picture tesseract was given (after enlarging and padding). */
  readonly pixels: number;
  /** Lines kept from this run. */
  readonly lines: number;
  /** Milliseconds from sending the picture to the worker to its answer. */
  readonly ms: number;
}

export const defaultOcrOptions: OcrOptions = {
  workers: Math.max(1, Math.min(2, availableParallelism())),
  horizontalLanguages: 'eng+jpn',
  verticalLanguages: 'jpn_vert',
  langPath: null,
  gzip: true,
  minConfidence: 60,
  maxSide: 2400,
  minSide: 500,
  textBlocks: {},
  blockCrop: {},
  maxRegions: 16,
  maxRegionPixels: 2_000_000,
  wholeImageVertical: 'fallback',
  wholeImageHorizontal: 'auto',
  bubbles: {},
  bubbleMinSide: 100,
  skipVerticalConfidence: 85,
  logger: (message, error) => console.warn(`sagasu: ${message}`, error ?? ''),
  trace: null,
};

const PSM_AUTO = '3';
const PSM_SINGLE_VERTICAL_BLOCK = '5';
const PSM_SINGLE_BLOCK = '6';

/** One pool slot: a worker per direction, so no call pays for reloading languages. */
interface Slot {
  readonly horizontal: Tesseract.Worker;
  readonly vertical: Tesseract.Worker | null;
  /** Ends the call under way with this error (worker thread died, engine closed). */
  interrupt: ((error: SagasuError) => void) | null;
  /** Set once terminating: a read still under way must not send it more jobs. */
  dead: boolean;
}

interface Job {
  readonly image: DecodedImage;
  readonly resolve: (result: OcrResult) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly detach: () => void;
}

type CandidateLine = OcrLine & { region: number };

/** A region about to be read: its PNG (enlarged by `scale`, then padded by `pad` white pixels) and direction. */
interface RegionPlan {
  readonly box: Box;
  readonly kind: OcrRegion['kind'];
  readonly orientation: TextOrientation | 'unknown';
  readonly png: Buffer;
  readonly scale: number;
  readonly pad: number;
}

/** White border around region crops: tesseract misreads glyphs touching the image edge. */
const PAD = 12;

/**
 * A pool of tesseract.js workers behind a queue, started lazily on first use (or by `start()`),
 * reused across calls, and freed by `close()`.
 *
 * @example
 * const ocr = new TesseractOcrEngine();
 * const { text, lines } = await ocr.recognize(decoded, { signal: AbortSignal.timeout(30_000) });
 * await ocr.close();
 */
export class TesseractOcrEngine implements OcrEngine {
  readonly id: string;
  readonly options: OcrOptions;
  private readonly langPath: string;
  private readonly idle: Slot[] = [];
  private readonly busy = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly starting = new Set<Promise<Slot>>();
  private closed = false;
  private readonly languages: readonly string[];
  private validated: Promise<void> | null = null;

  constructor(options: Partial<OcrOptions> = {}) {
    const o: OcrOptions = { ...defaultOcrOptions, ...options };
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new SagasuError('INVALID_OPTION', `option "workers" must be a positive integer, got ${o.workers}`);
    if (!(o.minConfidence >= 0 && o.minConfidence <= 100)) throw new SagasuError('INVALID_OPTION', `option "minConfidence" must be in 0-100, got ${o.minConfidence}`);
    if (!Number.isInteger(o.maxRegions) || o.maxRegions < 0) throw new SagasuError('INVALID_OPTION', `option "maxRegions" must be a whole number >= 0, got ${o.maxRegions}`);
    if (!(o.maxRegionPixels >= 0)) throw new SagasuError('INVALID_OPTION', `option "maxRegionPixels" must be >= 0, got ${o.maxRegionPixels}`);
    if (!(o.maxSide >= o.minSide && o.minSide > 0)) throw new SagasuError('INVALID_OPTION', 'options "minSide" and "maxSide" must satisfy 0 < minSide <= maxSide');
    this.options = o;
    const languages = [...o.horizontalLanguages.split('+'), ...(o.verticalLanguages ? o.verticalLanguages.split('+') : [])];
    const unique = [...new Set(languages)];
    this.languages = unique;
    if (o.langPath === null) {
      const data = unique.map(findLanguageData);
      this.langPath = prepareLangPath(data);
      const versions = new Set(data.map((d) => d.packageVersion));
      const dataVersion = versions.size === 1 ? TRAINEDDATA_FLAVOUR : data.map((d) => `${d.lang}:${d.packageVersion}`).join(',');
      this.id = `tesseract.js@${tesseractVersion()}/${unique.join('+')}@${dataVersion}`;
    } else {
      // Checked here because tesseract.js, not finding a file, falls back to the network and hangs offline.
      for (const lang of unique) {
        const file = `${o.langPath}/${lang}.traineddata${o.gzip ? '.gz' : ''}`;
        if (!existsSyncSafe(file)) throw new SagasuError('NOT_FOUND', `traineddata file missing: ${file}`);
      }
      this.langPath = o.langPath;
      this.id = `tesseract.js@${tesseractVersion()}/${unique.join('+')}@${o.langPath}`;
    }
  }

  /** Starts all workers now instead of on the first call (worker start ~0.3-1 s each). */
  async start(): Promise<void> {
    this.assertOpen();
    while (this.size() < this.options.workers) this.spawn();
    await Promise.all([...this.starting]);
  }

  /** Reads the text in an image. Rejects with TIMEOUT when `signal` aborts, OCR_FAILED when tesseract fails. */
  recognize(image: DecodedImage, options: RecognizeOptions = {}): Promise<OcrResult> {
    return new Promise<OcrResult>((resolve, reject) => {
      if (this.closed) return reject(closedError());
      const { signal } = options;
      if (signal?.aborted) return reject(timeoutError(signal));
      if (!(image.width >= 0 && image.height >= 0 && image.data.length >= image.width * image.height * 3)) {
        return reject(new SagasuError('CORRUPT_IMAGE', `image data holds ${image.data.length} bytes, too few for ${image.width}x${image.height} RGB`));
      }
      const onAbort = (): void => {
        const index = this.queue.indexOf(job);
        if (index >= 0) this.queue.splice(index, 1);
        reject(timeoutError(signal));
      };
      const job: Job = {
        image,
        signal,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** Terminates every worker; calls under way or waiting, and later calls, reject with OCR_FAILED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      job.detach();
      job.reject(closedError());
    }
    const busy = [...this.busy];
    for (const slot of busy) slot.interrupt?.(closedError());
    const started = await Promise.allSettled([...this.starting]);
    const slots = [...this.idle.splice(0), ...busy, ...started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))];
    this.busy.clear();
    await Promise.all(slots.map((s) => this.terminate(s)));
  }

  private size(): number {
    return this.idle.length + this.busy.size + this.starting.size;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.idle.pop();
      if (!slot) break;
      this.run(slot, this.queue.shift() as Job);
    }
    // Each starting slot takes one queued job when it is ready.
    while (!this.closed && this.queue.length > this.starting.size && this.size() < this.options.workers) this.spawn();
  }

  private spawn(): void {
    const promise = this.createSlot();
    this.starting.add(promise);
    promise.then(
      (slot) => {
        this.starting.delete(promise);
        if (this.closed) return; // close() awaits `starting` and terminates it
        this.idle.push(slot);
        this.pump();
      },
      (error: unknown) => {
        this.starting.delete(promise);
        if (this.closed) return;
        // Nothing else can serve the queue if no slot starts: fail the waiting calls instead of hanging.
        if (this.idle.length + this.busy.size + this.starting.size === 0) {
          for (const job of this.queue.splice(0)) {
            job.detach();
            job.reject(error);
          }
        }
      },
    );
  }

  private async createSlot(): Promise<Slot> {
    // Once per engine, before any worker sees the files (see validateTraineddata for why).
    this.validated ??= Promise.all(
      this.languages.map((lang) => validateTraineddata(`${this.langPath}/${lang}.traineddata${this.options.gzip ? '.gz' : ''}`, this.options.gzip)),
    ).then(() => undefined);
    await this.validated;
    const slot: Slot = { horizontal: undefined as unknown as Tesseract.Worker, vertical: null, interrupt: null, dead: false };
    const make = async (langs: string): Promise<Tesseract.Worker> => {
      try {
        const worker = await Tesseract.createWorker(langs, Tesseract.OEM.LSTM_ONLY, {
          langPath: this.langPath,
          cacheMethod: 'none',
          gzip: this.options.gzip,
          // Without a handler tesseract.js rethrows a job's error from an event listener, killing the process.
          errorHandler: () => {},
        });
        const thread = (worker as unknown as { worker?: ThreadWorker }).worker;
        const died = (cause: unknown): void => slot.interrupt?.(new SagasuError('OCR_FAILED', `tesseract worker died: ${String(cause)}`, { cause }));
        thread?.on('error', died);
        thread?.on('exit', (code) => died(new Error(`worker thread exited with code ${code}`)));
        return worker;
      } catch (cause) {
        throw new SagasuError('OCR_FAILED', `tesseract worker for "${langs}" failed to start: ${String(cause)}`, { cause });
      }
    };
    const [horizontal, vertical] = await Promise.allSettled([
      make(this.options.horizontalLanguages),
      this.options.verticalLanguages ? make(this.options.verticalLanguages) : Promise.resolve(null),
    ]);
    if (horizontal.status === 'rejected' || vertical.status === 'rejected') {
      if (horizontal.status === 'fulfilled') await horizontal.value.terminate();
      if (vertical.status === 'fulfilled') await vertical.value?.terminate();
      throw horizontal.status === 'rejected' ? horizontal.reason : (vertical as PromiseRejectedResult).reason;
    }
    return Object.assign(slot, { horizontal: horizontal.value, vertical: vertical.value });
  }

  private run(slot: Slot, job: Job): void {
    job.detach(); // from here an abort is handled below, by replacing the worker
    this.busy.add(slot);
    let settled = false;
    const finish = (replace: boolean): void => {
      settled = true;
      job.detach();
      slot.interrupt = null;
      job.signal?.removeEventListener('abort', onAbort);
      this.busy.delete(slot);
      if (replace) {
        // A timed-out or failed worker may be stuck or in a bad state: replace it, keep the pool size.
        void this.terminate(slot);
        if (!this.closed) this.spawn();
      } else if (!this.closed) {
        this.idle.push(slot);
      }
      this.pump();
    };
    const onAbort = (): void => {
      if (settled) return;
      finish(true);
      job.reject(timeoutError(job.signal));
    };
    slot.interrupt = (error) => {
      if (settled) return;
      finish(true);
      job.reject(error);
    };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    this.read(slot, job.image).then(
      (result) => {
        if (settled) return;
        finish(false);
        job.resolve(result);
      },
      (error: unknown) => {
        if (settled) return;
        finish(true);
        this.options.logger('OCR failed; the worker is replaced', error);
        job.reject(isSagasuError(error) ? error : new SagasuError('OCR_FAILED', `tesseract failed: ${String(error)}`, { cause: error }));
      },
    );
  }

  private async terminate(slot: Slot): Promise<void> {
    slot.interrupt = null;
    slot.dead = true;
    await Promise.allSettled([slot.horizontal, slot.vertical].map((worker) => (worker ? stopThread(worker) : undefined)));
  }

  /** All passes over one image on one slot. */
  private async read(slot: Slot, image: DecodedImage): Promise<OcrResult> {
    const o = this.options;
    const { width, height } = image;
    if (width < 1 || height < 1) return { text: '', lines: [], regions: [] };
    const grey = await sharp(image.data, { raw: { width, height, channels: 3 } }).greyscale().raw().toBuffer();

    const longest = Math.max(width, height);
    const scale = longest > o.maxSide ? o.maxSide / longest : longest < o.minSide ? Math.min(3, o.minSide / longest) : 1;
    const whole = await greyPng(grey, width, height, scale);
    const frame = { scale, x: 0, y: 0, width, height };
    const vertical = slot.vertical && o.verticalLanguages ? o.verticalLanguages : null;

    // Regions: text blocks (lettering on light ground), read one by one in their own direction.
    const plans: RegionPlan[] = [];
    if (o.textBlocks !== false) {
      let pixels = 0;
      for (const block of findTextBlocks(grey, width, height, o.textBlocks)) {
        if (plans.length >= o.maxRegions) break;
        const crop = cropBlock(grey, width, height, block, o.blockCrop);
        const cost = crop.box.w * crop.box.h * crop.scale * crop.scale;
        if (pixels + cost > o.maxRegionPixels) continue;
        pixels += cost;
        const orientation = vertical ? block.orientation : 'horizontal';
        plans.push({ box: crop.box, kind: 'block', orientation, png: await greyPng(crop.pixels, crop.box.w, crop.box.h, crop.scale, PAD), scale: crop.scale, pad: PAD });
      }
    }
    // Speech bubbles (closed bright outlines) not already covered by a block.
    if (o.bubbles !== false) {
      for (const bubble of findBubbles(grey, width, height, o.bubbles)) {
        if (plans.length >= o.maxRegions) break;
        if (plans.some((p) => contains(bubble.box, centre(p.box)))) continue;
        const s = Math.min(bubble.box.w, bubble.box.h) < o.bubbleMinSide ? 2 : 1;
        plans.push({ box: bubble.box, kind: 'bubble', orientation: vertical ? 'unknown' : 'horizontal', png: await greyPng(bubble.pixels, bubble.box.w, bubble.box.h, s), scale: s, pad: 0 });
      }
    }

    // The two workers of a slot run at once: horizontal reads on one, vertical reads on the other.
    const horizontalReads = new Map<RegionPlan, OcrLine[]>();
    const verticalReads = new Map<RegionPlan, OcrLine[]>();
    const regionFrame = (p: RegionPlan) => ({ scale: p.scale, x: p.box.x, y: p.box.y, width, height, pad: p.pad, region: p.kind });
    const horizontalChain = (async () => {
      const verticalShare = plans.filter((p) => p.orientation === 'vertical').length / Math.max(1, plans.length);
      const readWhole =
        o.wholeImageHorizontal !== 'never' && (o.wholeImageHorizontal === 'always' || plans.length === 0 || (o.wholeImageHorizontal === 'auto' && verticalShare < 0.5));
      const lines = readWhole ? await this.pass(slot, whole, PSM_AUTO, frame, 'horizontal', o.horizontalLanguages) : [];
      for (const p of plans) {
        if (p.orientation === 'vertical') continue;
        horizontalReads.set(p, await this.pass(slot, p.png, PSM_SINGLE_BLOCK, regionFrame(p), 'horizontal', o.horizontalLanguages));
      }
      return lines;
    })();
    const verticalChain = (async () => {
      if (!vertical) return [];
      for (const p of plans) {
        if (p.orientation === 'horizontal') continue;
        verticalReads.set(p, await this.pass(slot, p.png, PSM_SINGLE_VERTICAL_BLOCK, regionFrame(p), 'vertical', vertical));
      }
      // Vertical text outside every region (e.g. on dark ground) is looked for on the whole image
      // only when regions did not already explain the image, as this pass is the slowest.
      if (o.wholeImageVertical === 'always' || (o.wholeImageVertical === 'fallback' && plans.length === 0)) {
        return this.pass(slot, whole, PSM_AUTO, frame, 'vertical', vertical);
      }
      return [];
    })();
    const [wholeHorizontal, wholeVertical] = await Promise.all([horizontalChain, verticalChain]);

    const regions: OcrRegion[] = [];
    const candidates: CandidateLine[] = [];
    for (const p of plans) {
      const h = horizontalReads.get(p) ?? [];
      const v = verticalReads.get(p) ?? [];
      let best = p.orientation === 'vertical' ? v : p.orientation === 'horizontal' ? h : readingScore(v) > readingScore(h) ? v : h;
      if (p.orientation === 'unknown' && readsAsLatin(h, o.skipVerticalConfidence)) best = h;
      if (best.length === 0) continue;
      regions.push({ box: p.box, kind: p.kind, orientation: best[0]?.orientation ?? 'horizontal' });
      candidates.push(...best.map((l) => ({ ...l, region: regions.length })));
    }
    // A region read on its own, in its own direction, beats what a whole-image pass made of the same spot.
    for (const line of [...wholeHorizontal, ...wholeVertical]) {
      if (!regions.some((r) => contains(r.box, centre(line.box)))) candidates.push({ ...line, region: 0 });
    }
    const lines = mergeLines(candidates);
    return { text: lines.map((l) => l.text).join('\n'), lines, regions };
  }

  /** One tesseract run; returns the meaningful lines in image coordinates. */
  private async pass(
    slot: Slot,
    png: Buffer,
    psm: string,
    frame: { scale: number; x: number; y: number; width: number; height: number; pad?: number; region?: OcrRegion['kind'] },
    orientation: TextOrientation,
    language: string,
  ): Promise<OcrLine[]> {
    assertAlive(slot);
    const worker = (orientation === 'vertical' ? slot.vertical : slot.horizontal) as Tesseract.Worker;
    // A fixed DPI stops tesseract guessing from the PNG header and printing a warning per call.
    await worker.setParameters({ tessedit_pageseg_mode: psm as Tesseract.PSM, user_defined_dpi: '300' });
    assertAlive(slot);
    const started = performance.now();
    const { data } = await worker.recognize(png, {}, { blocks: true, text: false });
    const ms = performance.now() - started;
    const pad = frame.pad ?? 0;
    const toBox = (b: Tesseract.Bbox): Box =>
      mapBox({ x: b.x0 - pad, y: b.y0 - pad, w: b.x1 - b.x0, h: b.y1 - b.y0 }, frame.scale, frame.x, frame.y, frame.width, frame.height);
    const lines: OcrLine[] = [];
    for (const block of data.blocks ?? []) {
      for (const paragraph of block.paragraphs) {
        for (const line of paragraph.lines) {
          const words = cleanWords(line.words.map((w) => ({ text: w.text, confidence: Math.round(w.confidence * 10) / 10, box: toBox(w.bbox) })));
          let read: { text: string; confidence: number; words: OcrWord[] } | null = {
            text: cleanText(line.text),
            confidence: Math.round(line.confidence * 10) / 10,
            words,
          };
          // In a region crop, the confident words of a weak line are still text (see confidentWords).
          if (!isMeaningful(read.text, read.confidence, this.options)) read = frame.region ? confidentWords(words, this.options.minConfidence) : null;
          if (!read || !isMeaningful(read.text, read.confidence, this.options)) continue;
          // jpn_vert reading Latin letters is horizontal Latin misread a glyph per line, not vertical text.
          if (orientation === 'vertical' && !hasCjk(read.text)) continue;
          lines.push({ text: read.text, confidence: read.confidence, box: toBox(line.bbox), orientation, language, words: read.words });
        }
      }
    }
    if (this.options.trace) {
      // A PNG's width and height are the first fields of its IHDR chunk, at bytes 16 and 20.
      const run: OcrRunTrace = { target: frame.region ?? 'whole', orientation, pixels: png.readUInt32BE(16) * png.readUInt32BE(20), lines: lines.length, ms };
      try {
        this.options.trace(run);
      } catch (error) {
        // A failing observer must not cost the image its text (nor the worker its place).
        this.options.logger('OCR trace callback threw', error);
      }
    }
    return lines;
  }
}

/** Creates an engine; workers start on the first `recognize` (or call `start()`). */
export function createOcrEngine(options: Partial<OcrOptions> = {}): TesseractOcrEngine {
  return new TesseractOcrEngine(options);
}

/** Confident non-CJK text: vertical Japanese never reads like this horizontally, so the vertical pass can be skipped. */
function readsAsLatin(lines: readonly OcrLine[], minConfidence: number): boolean {
  if (lines.length === 0) return false;
  if (lines.some((l) => hasCjk(l.text))) return false;
  const letters = lines.reduce((n, l) => n + letterCount(l.text), 0);
  const confidence = lines.reduce((n, l) => n + l.confidence * letterCount(l.text), 0) / Math.max(1, letters);
  return confidence >= minConfidence && letters / lines.length >= 3;
}

const centre = (b: Box): { x: number; y: number } => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });
const contains = (b: Box, p: { x: number; y: number }): boolean => p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h;

async function greyPng(grey: Buffer, width: number, height: number, scale: number, pad = 0): Promise<Buffer> {
  let img = sharp(grey, { raw: { width, height, channels: 1 } });
  if (scale !== 1) img = img.resize({ width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)), kernel: 'cubic' });
  // sharp applies extend after resize, so the border is `pad` pixels at the enlarged scale.
  if (pad > 0) img = img.extend({ top: pad, bottom: pad, left: pad, right: pad, background: '#ffffff' });
  // Fast compression: the PNG is only a transport to the wasm worker.
  return img.png({ compressionLevel: 1 }).toBuffer();
}

/**
 * Kills a worker's thread directly. tesseract.js's own `terminate()` nulls its handle, after which
 * a job still being sent (a read that was under way when it timed out) fails inside an un-awaited
 * promise: an unhandled rejection. Killed this way, such a job just never settles.
 */
async function stopThread(worker: Tesseract.Worker): Promise<void> {
  const thread = (worker as unknown as { worker?: ThreadWorker | null }).worker;
  if (thread) await thread.terminate();
  else await worker.terminate();
}

function assertAlive(slot: Slot): void {
  if (slot.dead) throw new SagasuError('OCR_FAILED', 'the tesseract worker was terminated');
}

function timeoutError(signal: AbortSignal | undefined): SagasuError {
  const reason: unknown = signal?.reason;
  const detail = reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError' ? `: ${reason.message}` : '';
  return new SagasuError('TIMEOUT', `OCR aborted (timed out)${detail}`, { cause: reason });
}

function closedError(): SagasuError {
  return new SagasuError('OCR_FAILED', 'the OCR engine is closed; create a new one');
}

function existsSyncSafe(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
