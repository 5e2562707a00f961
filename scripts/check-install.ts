/**
 * Run after every install (the `prepare` script): fails the install loudly when a native addon
 * was not built or a model / traineddata file is missing, instead of failing at first use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import sharp from 'sharp';
import { findLanguageData } from '../src/ocr/traineddata.js';
import { nsfwjsRoot } from '../src/embedding/mobilenet-v2.js';

const problems: string[] = [];
const check = (what: string, run: () => void) => {
  try {
    run();
    console.error(`sagasu install check: ${what}: ok`);
  } catch (error) {
    problems.push(`${what}: ${(error as Error).message}`);
  }
};

check('hnswlib-node native addon', () => {
  const index = new hnswlib.HierarchicalNSW('cosine', 2);
  index.initIndex(1);
  index.addPoint([1, 0], 1);
});
check('better-sqlite3 native addon', () => {
  const db = new Database(':memory:');
  db.prepare('SELECT 1').get();
  db.close();
});
check('sharp (libvips)', () => {
  if (!sharp.versions.vips) throw new Error('libvips not loaded');
});
for (const lang of ['eng', 'jpn', 'jpn_vert']) check(`traineddata ${lang}`, () => void findLanguageData(lang));
check('MobileNetV2 weights (nsfwjs)', () => {
  const model = join(nsfwjsRoot(), 'dist', 'models', 'mobilenet_v2', 'model.min.js');
  if (!existsSync(model)) throw new Error(`missing ${model}`);
});

if (problems.length > 0) {
  console.error('sagasu install check failed:\n  ' + problems.join('\n  '));
  process.exit(1);
}
