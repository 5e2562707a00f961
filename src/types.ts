/**
 * The shapes that cross the pipeline's seams: decoding -> OCR / embedding -> indexes -> fusion.
 * Side effects (OCR engine, embedder, store) sit behind the small interfaces here so the core
 * can be tested with fakes and a real implementation can be swapped in.
 */

/** An image after decoding and normalisation (EXIF orientation applied, sRGB, no alpha). */
export interface DecodedImage {
  /** Raw interleaved RGB pixels, row-major, 3 bytes per pixel. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  /** Size and format of the bytes as given, before any downscaling. */
  readonly original: { readonly width: number; readonly height: number; readonly format: string; readonly bytes: number };
}

/** An axis-aligned box in the pixel coordinates of the DecodedImage it came from. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type TextOrientation = 'horizontal' | 'vertical';

export interface OcrWord {
  readonly text: string;
  /** 0-100, as tesseract reports it. */
  readonly confidence: number;
  readonly box: Box;
}

export interface OcrLine {
  readonly text: string;
  readonly confidence: number;
  readonly box: Box;
  readonly orientation: TextOrientation;
  /** The tesseract language string the line was read with, e.g. "eng+jpn" or "jpn_vert". */
  readonly language: string;
  readonly words: readonly OcrWord[];
  /** Index into `OcrResult.regions` of the region this line was read from; absent for whole-image reads. */
  readonly region?: number;
}

/** A part of the image OCR read on its own (a text block or a speech bubble). */
export interface OcrRegion {
  readonly box: Box;
  /** 'block': lettering grouped from glyph shapes; 'bubble': a closed bright speech bubble. */
  readonly kind: 'block' | 'bubble';
  readonly orientation: TextOrientation;
}

export interface OcrResult {
  /** All kept lines joined by newlines: what the text index sees. */
  readonly text: string;
  readonly lines: readonly OcrLine[];
  /** Regions that yielded text, in the order their lines' `region` refers to. Absent from older results. */
  readonly regions?: readonly OcrRegion[];
}

export interface RecognizeOptions {
  /** Aborts the recognition (the worker is replaced); the promise rejects with a TIMEOUT SagasuError. */
  readonly signal?: AbortSignal;
}

/** Reads the text in an image. Implementations own their workers; `close` frees them. */
export interface OcrEngine {
  /** Identifies engine + languages + data version, stored with each record. */
  readonly id: string;
  recognize(image: DecodedImage, options?: RecognizeOptions): Promise<OcrResult>;
  close(): Promise<void>;
}

/** Turns an image into an L2-normalised vector. */
export interface Embedder {
  /** Identifies model + pooling + preprocessing; an index built with another id is refused. */
  readonly modelId: string;
  readonly dimension: number;
  embed(image: DecodedImage): Promise<Float32Array>;
  /**
   * Optional: several images at once, vectors in the same order, equal to `embed` on each. An
   * embedder that can batch its predictions is faster this way (the region windows of an
   * indexed image go through it); without it, the engine calls `embed` on each.
   */
  embedMany?(images: readonly DecodedImage[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
