import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultFusionOptions } from '../../src/fusion/fuse.js';
import { analyseRecords, calibratedAnswer, fitCalibration, formatReport, fuseRecord, readSavedRun, type QueryRecord, type RetrievalReport } from '../../src/eval/retrieval-eval.js';

const images: Record<number, string[]> = { 1: ['a'], 2: ['b'], 3: ['c'] };

function record(id: string, fields: Partial<QueryRecord>): QueryRecord {
  return {
    id,
    collection: 'c',
    type: 'recompressed',
    expected: 'a',
    positive: true,
    tags: [],
    ms: 10,
    timings: {},
    queryText: '',
    queryTerms: 0,
    lists: { visual: [{ id: 1, score: 0.95, detail: { similarity: 0.95 } }, { id: 2, score: 0.8, detail: { similarity: 0.8 } }] },
    fused: [{ id: 1, score: 1, confidence: 0.9 }],
    ranks: { visual: 1, text: 0, hash: 0, rrf: 1, fused: 1 },
    ...fields,
  };
}

const analyse = (records: QueryRecord[]) =>
  analyseRecords(records, images, { seed: 1, maxFalsePositiveRate: 0.05, fusion: defaultFusionOptions, sweep: false });

describe('analyseRecords', () => {
  it("judges the engine's own answers against the threshold it kept", () => {
    const records = [
      record('right', { threshold: 0.5 }),
      record('right but unsure', { threshold: 0.5, fused: [{ id: 1, score: 1, confidence: 0.4 }] }),
      record('wrong', { threshold: 0.5, fused: [{ id: 2, score: 1, confidence: 0.7 }], ranks: { visual: 2, text: 0, hash: 0, rrf: 2, fused: 2 } }),
      record('held out, answered', { threshold: 0.5, positive: false, expected: 'z', fused: [{ id: 3, score: 1, confidence: 0.6 }] }),
      record('held out, refused', { threshold: 0.5, positive: false, expected: 'y', fused: [{ id: 3, score: 1, confidence: 0.2 }] }),
    ];
    const { engine } = analyse(records);
    assert.deepEqual(engine, {
      threshold: 0.5,
      point: { threshold: 0.5, falsePositiveRate: 0.5, acceptedRecall: 1 / 3, wrongAnswerRate: 1 / 3, precision: 1 / 3 },
      acceptedRecallByRow: { 'c:recompressed': 1 / 3 },
      heldOutImagesAnswered: 1,
      heldOutImages: 2,
    });
    const printed = formatReport({ ...analyse(records), settings: { seed: 1, ocr: true, fusion: defaultFusionOptions, maxFalsePositiveRate: 0.05, limit: null }, indexed: { images: 3, seconds: 1, failed: 0, heldOut: 2 }, queries: { total: 5, positive: 3, negative: 2, failed: 0, skipped: 0 } } as unknown as RetrievalReport);
    assert.match(printed, /the engine's answers \(its own confidence against its threshold 0\.500\):\n.*\n +0\.500 +0\.50 +0\.33 +0\.33 +0\.33  \(1 of 2 held-out images answered at least once\)\n/);
  });
  it('replays the heuristic confidence from the lists when the records hold the calibrated one', () => {
    // The record's own 0.01 is the engine's calibrated confidence; the heuristic of a 0.95 cosine is 5/6.
    const { heuristic } = analyse([record('one', { threshold: 0.5, fused: [{ id: 1, score: 1, confidence: 0.01 }] })]);
    assert.ok(Math.abs(heuristic.thresholds.find((p) => p.threshold === 0.8)!.acceptedRecall - 1) < 1e-12);
    assert.equal(heuristic.thresholds.find((p) => p.threshold === 0.85)!.acceptedRecall, 0);
  });
  it('reads records written before the threshold was kept as heuristic confidences, with no engine figures', () => {
    const { heuristic, engine } = analyse([record('old', { fused: [{ id: 1, score: 1, confidence: 0.42 }] })]);
    assert.equal(engine, undefined);
    assert.equal(heuristic.thresholds.find((p) => p.threshold === 0.4)!.acceptedRecall, 1);
    assert.equal(heuristic.thresholds.find((p) => p.threshold === 0.45)!.acceptedRecall, 0);
  });
});

describe('fuseRecord', () => {
  const textLed = record('bubble', {
    queryTerms: 5,
    lists: {
      visual: [{ id: 2, score: 0.9, detail: { similarity: 0.9 } }, { id: 3, score: 0.85, detail: { similarity: 0.85 } }],
      text: [{ id: 1, score: 30, detail: { matched: ['a', 'b', 'c', 'd'] } }, { id: 3, score: 5, detail: { matched: ['a'] } }],
    },
  });
  it("applies the engine's dominant-text rule after verification, as the engine does", () => {
    const fused = fuseRecord(textLed, defaultFusionOptions);
    assert.equal(fused[0]!.id, 1);
    assert.equal(fused[0]!.reasons.text?.detail?.dominant, true);
  });
  it('leaves the sources fused and nothing more when verified is false', () => {
    const fused = fuseRecord(textLed, defaultFusionOptions, { verified: false });
    assert.deepEqual(fused.map((h) => h.id), [3, 1, 2]);
  });
});

describe('formatReport', () => {
  it("says when the engine dropped evidence during the run, so its figures are not compared with a clean run's", () => {
    const records = [record('right', { threshold: 0.5 })];
    const report = {
      ...analyse(records),
      settings: { seed: 1, ocr: true, fusion: defaultFusionOptions, maxFalsePositiveRate: 0.05, limit: null },
      indexed: { images: 3, seconds: 1, failed: 0, heldOut: 0, warnings: ['region vectors skipped: embedding timed out', 'region vectors skipped: embedding timed out'] },
      queries: { total: 1, positive: 1, negative: 0, failed: 0, skipped: 0 },
    } as unknown as RetrievalReport;
    assert.match(formatReport(report), /\n2 engine warnings \(evidence dropped; not comparable with a run without\): region vectors skipped: embedding timed out\n/);
    delete report.indexed.warnings;
    assert.doesNotMatch(formatReport(report), /engine warnings/);
  });
});

describe('fitCalibration', () => {
  // Right answers look alike (0.95-0.99); held-out images' first hits do not (0.80-0.84).
  const runs = [
    {
      images,
      records: [
        ...[0.95, 0.96, 0.97, 0.98, 0.99].map((similarity, i) =>
          record(`right ${i}`, { lists: { visual: [{ id: 1, score: similarity, detail: { similarity } }, { id: 2, score: 0.7, detail: { similarity: 0.7 } }] } }),
        ),
        ...[0.8, 0.81, 0.82, 0.83, 0.84].map((similarity, i) =>
          record(`held out ${i}`, { positive: false, expected: 'z', lists: { visual: [{ id: 3, score: similarity, detail: { similarity } }, { id: 2, score: 0.7, detail: { similarity: 0.7 } }] } }),
        ),
      ],
    },
  ];
  it('learns from the first hits of recorded queries and refuses every held-out query at its threshold', () => {
    const fit = fitCalibration(runs, { maxFalsePositiveRate: 0, fusion: defaultFusionOptions })!;
    assert.equal(fit.queries, 10);
    assert.equal(fit.hits, 20);
    const answers = runs[0]!.records.map((r) => calibratedAnswer(r, images, fit.model, defaultFusionOptions));
    assert.deepEqual(answers.map((a) => a.confidence >= fit.model.threshold), [true, true, true, true, true, false, false, false, false, false]);
    assert.ok(answers[0]!.correct && !answers[5]!.correct);
  });
  it('has nothing to learn from records without a wrong hit', () => {
    const allRight = [1, 2, 3, 4, 5].map((i) => record(`right ${i}`, { lists: { visual: [{ id: 1, score: 0.9, detail: { similarity: 0.9 } }] } }));
    assert.equal(fitCalibration([{ images, records: allRight }], { maxFalsePositiveRate: 0.05, fusion: defaultFusionOptions }), undefined);
  });
});

describe('readSavedRun', () => {
  it('reads a report with its records, or the records log of a run, and gives back NaN timings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sagasu-saved-run-'));
    try {
      const saved = { ...record('one', { threshold: 0.5 }), ms: null };
      writeFileSync(join(dir, 'run.json'), JSON.stringify({ version: 1, images, records: [saved] }));
      writeFileSync(join(dir, 'run.json.records.jsonl'), `${JSON.stringify({ images })}\n${JSON.stringify(saved)}\n`);
      for (const file of ['run.json', 'run.json.records.jsonl']) {
        const run = readSavedRun(join(dir, file));
        assert.deepEqual(run.images, images);
        assert.deepEqual(run.records.map((r) => [r.id, r.ms]), [['one', NaN]]);
        assert.equal(run.report?.version, file === 'run.json' ? 1 : undefined);
      }
      writeFileSync(join(dir, 'bare.json'), JSON.stringify({ version: 1, images }));
      assert.throws(() => readSavedRun(join(dir, 'bare.json')), /bare\.json has no records \(write it with sagasu eval --report\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
