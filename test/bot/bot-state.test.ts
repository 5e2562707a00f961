import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BotState } from '../../src/bot/bot-state.js';
import { tempDir } from './helpers.js';

describe('BotState', () => {
  it('keeps indexed channels and backfill cursors across a reopen', () => {
    const dir = tempDir();
    const state = BotState.open(dir);
    assert.equal(state.addChannel({ guildId: 'g', channelId: 'c1', addedBy: 'u' }), true);
    assert.equal(state.addChannel({ guildId: 'g', channelId: 'c1', addedBy: 'u' }), false);
    state.addChannel({ guildId: 'g', channelId: 'c2', addedBy: 'u' });
    state.saveBackfill({ guildId: 'g', channelId: 'c1', before: '123', scanned: 100, images: 7, failed: 1, done: false, progressChannelId: 'p', progressMessageId: 'm', startedBy: 'u', startedAt: 5, updatedAt: 0 });
    state.close();
    const again = BotState.open(dir);
    assert.deepEqual(again.channels('g').map((c) => c.channelId), ['c1', 'c2']);
    const { updatedAt, ...record } = again.unfinishedBackfills()[0]!;
    assert.ok(updatedAt > 0);
    assert.deepEqual(record, { guildId: 'g', channelId: 'c1', before: '123', scanned: 100, images: 7, failed: 1, done: false, progressChannelId: 'p', progressMessageId: 'm', startedBy: 'u', startedAt: 5 });
    assert.equal(again.removeChannel('c1'), true);
    assert.equal(again.backfill('c1'), undefined);
    again.forgetGuild('g');
    assert.deepEqual(again.channels('g'), []);
    again.close();
  });

  it('refuses a bot.db written by another version', () => {
    const dir = tempDir();
    BotState.open(dir).close();
    const db = new Database(join(dir, 'bot.db'));
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'version'").run();
    db.close();
    assert.throws(() => BotState.open(dir), { code: 'STORE_VERSION', message: `sagasu: bot.db in ${dir} has version 99; this sagasu reads version 1` });
  });
});
