import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findLanguageData, prepareLangPath } from '../../src/ocr/traineddata.js';

describe('findLanguageData', () => {
  it('finds the 4.0.0_best_int file of an installed language package', () => {
    const eng = findLanguageData('eng');
    assert.equal(eng.lang, 'eng');
    assert.match(eng.file, /@tesseract\.js-data[/\\]eng[/\\]4\.0\.0_best_int[/\\]eng\.traineddata\.gz$/);
    assert.match(eng.packageVersion, /^\d+\.\d+\.\d+/);
  });

  it('refuses a language name that could escape the package folder', () => {
    assert.throws(() => findLanguageData('../eng'), { code: 'INVALID_OPTION' });
  });
});

describe('prepareLangPath', () => {
  const root = mkdtempSync(join(tmpdir(), 'sagasu-langpath-test-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const languages = ['eng', 'jpn', 'jpn_vert'].map(findLanguageData);

  it('builds one folder linking every language file', () => {
    const dir = prepareLangPath(languages, root);
    assert.deepEqual(readdirSync(dir).sort(), ['eng.traineddata.gz', 'jpn.traineddata.gz', 'jpn_vert.traineddata.gz']);
    for (const l of languages) assert.equal(realpathSync(join(dir, `${l.lang}.traineddata.gz`)), realpathSync(l.file));
    assert.ok(lstatSync(join(dir, 'eng.traineddata.gz')).isSymbolicLink());
  });

  it('returns the same folder again without leaving staging folders behind', () => {
    const first = prepareLangPath(languages, root);
    const second = prepareLangPath(languages, root);
    assert.equal(second, first);
    assert.deepEqual(readdirSync(root), [first.slice(root.length + 1)]);
  });

  it('gives another folder for another set of languages', () => {
    assert.notEqual(prepareLangPath(languages.slice(0, 1), root), prepareLangPath(languages, root));
  });
});
