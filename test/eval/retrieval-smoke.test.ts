/**
 * Smoke test of the retrieval evaluation on the project's own fixtures, with the real engine
 * (tesseract.js OCR, MobileNetV2 on TensorFlow.js, SQLite, HNSW). It checks that the metrics are
 * computed and sane, not how good retrieval is: that is what `sagasu eval` on real galleries is for.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { evalSources, formatReport, reportToJson, runRetrievalEval } from '../../src/eval/retrieval-eval.js';
import { defaultCalibrationModel } from '../../src/fusion/default-calibration.js';
import { fixturesDir } from '../helpers/paths.js';
import { scratchDir } from '../helpers/scratch.js';

const inUnitRange = (v: number) => typeof v === 'number' && v >= 0 && v <= 1;

describe('runRetrievalEval', () => {
  it('indexes the fixtures, queries them and reports sane metrics per type and source', { timeout: 180_000 }, async () => {
    const workDir = join(scratchDir('sagasu-eval-smoke-'), 'work');
    const report = await runRetrievalEval({ galleries: [fixturesDir], types: ['recompressed', 'flip', 'panel', 'bubble'], seed: 1, workDir, sweep: { k: [10, 60], text: [1], hash: [2] } });
    assert.equal(existsSync(workDir), false, 'the work folder is removed');
    assert.equal(report.indexed.images + report.indexed.heldOut, 13);
    assert.equal(report.indexed.heldOut, 1);
    assert.equal(report.queries.failed, 0);
    assert.equal(report.indexed.warnings, undefined, 'no evidence dropped');
    // No annotations in a plain folder: panel and bubble queries are not made.
    assert.deepEqual(report.rows.map((r) => `${r.collection}:${r.type}:${r.n}`), ['fixtures:recompressed:12', 'fixtures:flip:12']);
    assert.equal(report.queries.negative, 2);
    for (const row of report.rows) {
      for (const source of evalSources) {
        const m = row.metrics[source];
        assert.ok(inUnitRange(m.recallAt1) && inUnitRange(m.recallAt5) && inUnitRange(m.mrr), `${row.type} ${source} ${JSON.stringify(m)}`);
        assert.ok(m.recallAt1 <= m.recallAt5 && m.recallAt1 <= m.mrr && m.mrr <= m.recallAt5 + 1e-12);
      }
      assert.ok(row.medianMs > 0);
    }
    const recompressed = report.rows.find((r) => r.type === 'recompressed')!;
    assert.equal(recompressed.metrics.fused.recallAt1, 1);
    assert.equal(recompressed.metrics.visual.recallAt1, 1);
    for (const point of report.heuristic.thresholds) {
      for (const v of [point.falsePositiveRate, point.acceptedRecall, point.wrongAnswerRate]) assert.ok(inUnitRange(v));
    }
    // The engine answers with its shipped calibration; its false-positive rate is judged at its own threshold.
    assert.equal(report.engine?.threshold, defaultCalibrationModel.threshold);
    const engine = report.engine!;
    for (const v of [engine.point.falsePositiveRate, engine.point.acceptedRecall, engine.point.wrongAnswerRate]) assert.ok(inUnitRange(v));
    assert.equal(report.records!.every((r) => r.threshold === defaultCalibrationModel.threshold), true);
    assert.equal(report.sweep?.length, 2);
    // The sweep fuses the kept lists again: at the engine's own setting it must agree with the engine.
    const same = report.sweep!.find((s) => s.fusion.k === 60)!;
    assert.equal(same.recallAt1['fixtures:recompressed'], recompressed.metrics.fused.recallAt1);
    assert.equal(same.recallAt1['fixtures:flip'], report.rows.find((r) => r.type === 'flip')!.metrics.fused.recallAt1);

    const table = formatReport(report);
    assert.match(table, /fixtures +recompressed +12 \| 1\.00 1\.00 1\.00/);
    assert.match(table, /false positives/);
    assert.ok(table.includes(`the engine's answers (its own confidence against its threshold ${defaultCalibrationModel.threshold.toFixed(3)}):`));
    const json = JSON.parse(reportToJson(report));
    assert.equal(json.rows.length, 2);
    assert.equal(json.records, undefined, 'records only on request');
    assert.equal(JSON.parse(reportToJson(report, { records: true })).records.length, report.queries.total);
  });
});

describe('sagasu eval', () => {
  it('prints the report as JSON and writes the full report with --report', { timeout: 120_000 }, async () => {
    const dir = scratchDir('sagasu-eval-cli-');
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['node', 'sagasu', 'eval', fixturesDir, '--types', 'recompressed', '--limit', '3', '--no-ocr', '--json', '--report', join(dir, 'report.json')],
      { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false },
    );
    assert.equal(code, 0, err.join(''));
    const json = JSON.parse(out.join(''));
    assert.equal(json.settings.ocr, false);
    assert.deepEqual(json.rows.map((r: { type: string; n: number }) => [r.type, r.n]), [['recompressed', 3]]);
    assert.equal(json.rows[0].metrics.fused.recallAt1, 1);
    const full = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(full.records.length, 4); // 3 of indexed images + 1 of the held-out one
  });
  it('refuses an unknown query type', async () => {
    const err: string[] = [];
    const code = await main(['node', 'sagasu', 'eval', fixturesDir, '--types', 'sideways'], { out: () => {}, err: (t) => err.push(t), isTTY: false });
    assert.equal(code, 2);
    assert.match(err.join(''), /unknown query type "sideways"/);
  });
});
