import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../helpers/paths.js';

describe('package entry', () => {
  it('is the file package.json names, and exports the engine and its defaults', async () => {
    const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { main: string };
    const entry = (await import(join(packageRoot, manifest.main))) as Record<string, unknown>;
    assert.equal(typeof entry.Sagasu, 'function');
    assert.equal(typeof (entry.Sagasu as { open?: unknown }).open, 'function');
    assert.deepEqual(entry.defaultFusionOptions, { k: 5, weights: { visual: 1, text: 4, hash: 4 } });
    for (const name of ['defaultSagasuOptions', 'defaultVerificationOptions', 'defaultCalibrationModel', 'defaultDecodeOptions', 'defaultOcrOptions', 'defaultEmbedderOptions', 'defaultRegionOptions', 'defaultDominantTextOptions', 'SagasuError']) {
      assert.ok(entry[name] !== undefined, `${name} is exported`);
    }
  });
});
