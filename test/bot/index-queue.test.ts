import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SagasuError } from '../../src/errors.js';
import { IndexQueue, type IndexJob, type IndexOutcome } from '../../src/bot/index-queue.js';
import type { AddInput, AddResult } from '../../src/sagasu.js';

/** An engine that takes `delayMs` per add and records calls; bytes "bad" fail like a corrupt image. */
function fakeEngine(delayMs = 20) {
  const added: string[] = [];
  const forgotten: string[] = [];
  let flushes = 0;
  return {
    added,
    forgotten,
    get flushes() {
      return flushes;
    },
    async add(input: AddInput): Promise<AddResult> {
      await sleep(delayMs);
      if (input.bytes.toString() === 'bad') throw new SagasuError('CORRUPT_IMAGE', 'the image data is damaged');
      added.push((input.source as { messageId: string }).messageId);
      return { status: 'added', imageId: added.length, timings: {} };
    },
    forget(where: { messageId?: string }) {
      forgotten.push(where.messageId!);
      return 1;
    },
    flush() {
      flushes += 1;
    },
  };
}

const job = (messageId: string, bytes = 'ok'): IndexJob => ({
  guildId: 'g',
  channelId: 'c',
  messageId,
  authorId: 'u',
  postedAt: 0,
  caption: null,
  image: { attachmentId: `a${messageId}`, url: `mem://${bytes}`, fileName: 'x.png', size: null, contentType: 'image/png' },
});

const download = async (url: string) => Buffer.from(url.slice('mem://'.length));

describe('IndexQueue.offer', () => {
  it('refuses jobs beyond the bound instead of growing without limit, and indexes the rest', async () => {
    const engine = fakeEngine();
    const outcomes: IndexOutcome[] = [];
    const queue = new IndexQueue({ engine, maxPending: 3, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download, onOutcome: (o) => outcomes.push(o) });
    const accepted = ['1', '2', '3', '4', '5', '6'].map((id) => queue.offer(job(id)));
    // One job starts at once, three wait, two are refused.
    assert.deepEqual(accepted, [true, true, true, true, false, false]);
    await queue.onIdle();
    assert.deepEqual(engine.added, ['1', '2', '3', '4']);
    assert.deepEqual(outcomes.map((o) => o.status), ['added', 'added', 'added', 'added']);
  });

  it('turns a failing image into a failed outcome and goes on', async () => {
    const engine = fakeEngine();
    const outcomes: IndexOutcome[] = [];
    const queue = new IndexQueue({ engine, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download, onOutcome: (o) => outcomes.push(o) });
    queue.offer(job('1', 'bad'));
    queue.offer(job('2'));
    await queue.onIdle();
    assert.deepEqual(outcomes.map((o) => [o.status, o.status === 'failed' ? o.error.message : '']), [
      ['failed', 'sagasu: the image data is damaged'],
      ['added', ''],
    ]);
  });
});

describe('IndexQueue.push', () => {
  it('waits for room (backpressure) and resolves with each outcome', async () => {
    const engine = fakeEngine(10);
    const queue = new IndexQueue({ engine, maxPending: 2, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download });
    let maxWaiting = 0;
    const watch = setInterval(() => (maxWaiting = Math.max(maxWaiting, queue.size)), 1);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => queue.push(job(String(i)))));
    clearInterval(watch);
    assert.deepEqual(outcomes.map((o) => o.status), Array(10).fill('added'));
    assert.ok(maxWaiting <= 2, `at most 2 waiting, saw ${maxWaiting}`);
  });
});

describe('IndexQueue.markDeleted', () => {
  it('skips a deleted message still waiting, and undoes one deleted while it was being read', async () => {
    const engine = fakeEngine(50);
    const outcomes: IndexOutcome[] = [];
    const queue = new IndexQueue({ engine, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download, onOutcome: (o) => outcomes.push(o) });
    queue.offer(job('running'));
    queue.offer(job('waiting'));
    await sleep(10);
    queue.markDeleted('running');
    queue.markDeleted('waiting');
    await queue.onIdle();
    assert.deepEqual(outcomes.map((o) => [o.job.messageId, o.status]), [
      ['running', 'skipped'],
      ['waiting', 'skipped'],
    ]);
    assert.deepEqual(engine.forgotten, ['running']);
  });
});

describe('IndexQueue.close', () => {
  it('skips what waits, lets what runs finish, and refuses new jobs', async () => {
    const engine = fakeEngine(30);
    const queue = new IndexQueue({ engine, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download });
    const first = queue.push(job('1'));
    const second = queue.push(job('2'));
    await sleep(5);
    await queue.close();
    assert.equal((await first).status, 'added');
    assert.deepEqual(await second, { job: job('2'), status: 'skipped', reason: 'the bot is stopping' });
    assert.equal(queue.offer(job('3')), false);
  });
});

describe('IndexQueue refresh', () => {
  it('asks for a fresh URL once when the job URL expired', async () => {
    const engine = fakeEngine(1);
    const queue = new IndexQueue({
      engine,
      maxBytes: 1000,
      fetchTimeoutMs: 1000,
      download: async (url) => {
        if (url.includes('expired')) throw new SagasuError('NOT_FOUND', 'the link expired');
        return Buffer.from('ok');
      },
      refreshUrl: async () => 'mem://fresh',
    });
    const outcome = await queue.push({ ...job('1'), image: { ...job('1').image, url: 'mem://expired' } });
    assert.equal(outcome.status, 'added');
  });
});

describe('IndexQueue stillWanted', () => {
  it('skips a job whose channel stopped being indexed, and undoes one dropped while it was read', async () => {
    const engine = fakeEngine(40);
    let wanted = true;
    const outcomes: IndexOutcome[] = [];
    const queue = new IndexQueue({ engine, concurrency: 1, maxBytes: 1000, fetchTimeoutMs: 1000, download, stillWanted: () => wanted, onOutcome: (o) => outcomes.push(o) });
    queue.offer(job('1'));
    queue.offer(job('2'));
    await sleep(10);
    wanted = false;
    await queue.onIdle();
    assert.deepEqual(outcomes.map((o) => [o.job.messageId, o.status, o.status === 'skipped' ? o.reason : '']), [
      ['1', 'skipped', 'the channel is no longer indexed'],
      ['2', 'skipped', 'the channel is no longer indexed'],
    ]);
    assert.deepEqual(engine.forgotten, ['1']);
  });
});
