import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { fixturesDir } from '../helpers/paths.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTTY: false } };
}

describe('sagasu eval-ocr', () => {
  it('fails with a clear message for a folder without annotation.json', async () => {
    const { err, output } = capture();
    const code = await main(['node', 'sagasu', 'eval-ocr', '/nonexistent-sagasu-dir'], output);
    assert.equal(code, 1);
    assert.match(err.join(''), /^sagasu: cannot read the annotation file \/nonexistent-sagasu-dir\/annotation\.json/);
  });

  it('prints the per-title and overall table for the fixtures (smoke mode, real OCR)', async () => {
    const { out, output } = capture();
    const code = await main(['node', 'sagasu', 'eval-ocr', join(fixturesDir, 'ocr-eval'), '--titles', 'fixtures-text', '--no-identify', '--no-pages'], output);
    assert.equal(code, 0);
    const text = out.join('');
    assert.match(text, /^fixtures-text\s+3\s+81\s+100\.0/m);
    assert.match(text, /^overall\s+3\s+81\s+100\.0/m);
    assert.doesNotMatch(text, /identification/);
  });
});
