export { TesseractOcrEngine, createOcrEngine, defaultOcrOptions, type OcrOptions, type OcrRunTrace } from './tesseract-ocr-engine.js';
export { findBubbles, defaultBubbleOptions, type Bubble, type BubbleOptions } from './text-regions.js';
export {
  findTextBlocks,
  findGlyphParts,
  guessOrientation,
  cropBlock,
  defaultTextBlockOptions,
  defaultBlockCropOptions,
  type TextBlock,
  type TextBlockOptions,
  type BlockCrop,
  type BlockCropOptions,
  type GlyphPart,
} from './text-blocks.js';
export { cleanText, hasCjk } from './lines.js';
export { TRAINEDDATA_FLAVOUR, findLanguageData, prepareLangPath, type LanguageData } from './traineddata.js';
