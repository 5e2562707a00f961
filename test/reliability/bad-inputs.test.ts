/** Every file of the bad-input corpus gets its expected outcome, with the real engines, in one batch. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Sagasu } from '../../src/sagasu.js';
import { writeBadInputCorpus } from '../helpers/bad-inputs.js';
import { scratchDir } from '../helpers/scratch.js';

describe('indexing the bad-input corpus', () => {
  it('refuses each bad file with its specific error, indexes each valid one, and finishes the batch', async () => {
    const work = scratchDir('sagasu-bad-');
    const corpus = await writeBadInputCorpus(join(work, 'corpus'));
    const engine = await Sagasu.open({ dataDir: join(work, 'data') });
    try {
      const summary = await engine.indexPaths(corpus.map((entry) => entry.file));
      assert.equal(summary.total, corpus.length);
      for (const entry of corpus) {
        const failure = summary.failed.find((f) => f.path === entry.file);
        if ('indexed' in entry.expect) {
          assert.equal(failure, undefined, `${entry.why} should be indexed, got ${failure?.message}`);
          assert.equal(engine.store.sourcesByPath(entry.file).length, 1, `${entry.why} is stored`);
        } else {
          assert.ok(failure, `${entry.why} should fail with ${entry.expect.code}`);
          assert.equal(failure.code, entry.expect.code, entry.why);
          assert.match(failure.message, /^sagasu: /);
          assert.match(failure.message, entry.expect.message, entry.why);
        }
      }
      assert.deepEqual(engine.checkConsistency(), { text: { missing: [], extra: 0 }, vector: { missing: [], extra: 0 }, hash: { missing: [], extra: 0 } });
      // The engine is still usable after the batch.
      const result = await engine.search({ image: (await import('node:fs')).readFileSync(corpus.find((e) => e.file.endsWith('cmyk.jpg'))!.file) }, { k: 1 });
      assert.equal(result.hits[0]?.path, corpus.find((e) => e.file.endsWith('cmyk.jpg'))!.file);
    } finally {
      await engine.close();
    }
  });
});
