import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { defaultBotConfig, describeConfig, loadBotConfig, redact } from '../../src/bot/config.js';

describe('loadBotConfig', () => {
  it('takes the token from DISCORD_TOKEN and everything else from documented defaults', () => {
    const config = loadBotConfig({ DISCORD_TOKEN: ' abc.def.ghi ' });
    assert.deepEqual(config, { ...defaultBotConfig, token: 'abc.def.ghi', dataDir: resolve('./data') });
  });

  it('refuses to start without a token, with a message saying what to do', () => {
    assert.throws(() => loadBotConfig({}), { code: 'INVALID_OPTION', message: 'sagasu: DISCORD_TOKEN is not set: put the bot token of your application in the environment' });
    assert.equal(loadBotConfig({}, {}, { requireToken: false }).token, '');
  });

  it('reads every setting from the environment', () => {
    const config = loadBotConfig({
      DISCORD_TOKEN: 't',
      DISCORD_API_BASE: 'http://127.0.0.1:9999/api/',
      SAGASU_DATA: '/tmp/sagasu-bot-data',
      SAGASU_MIN_CONFIDENCE: '0.7',
      SAGASU_MAX_RESULTS: '20',
      SAGASU_PAGE_SIZE: '3',
      SAGASU_MAX_ATTACHMENT_BYTES: '2048',
      SAGASU_RATE_LIMIT: '3/30',
      SAGASU_QUEUE_SIZE: '10',
      SAGASU_INDEX_CONCURRENCY: '1',
      SAGASU_INDEX_FEEDBACK: 'reaction',
      SAGASU_INDEX_EMOJI: '✅',
      SAGASU_EPHEMERAL: 'false',
      SAGASU_FETCH_TIMEOUT_MS: '5000',
    });
    assert.deepEqual(config, {
      token: 't',
      apiBase: 'http://127.0.0.1:9999/api',
      dataDir: '/tmp/sagasu-bot-data',
      minConfidence: 0.7,
      maxResults: 20,
      pageSize: 3,
      maxAttachmentBytes: 2048,
      rateLimit: { searches: 3, windowMs: 30_000 },
      queueSize: 10,
      indexConcurrency: 1,
      indexFeedback: 'reaction',
      indexEmoji: '✅',
      ephemeralResults: false,
      fetchTimeoutMs: 5000,
    });
  });

  it('names the variable and the value it could not use', () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ SAGASU_MIN_CONFIDENCE: '1.5' }, 'sagasu: SAGASU_MIN_CONFIDENCE must be a number from 0 to 1, got "1.5"'],
      [{ SAGASU_PAGE_SIZE: '11' }, 'sagasu: SAGASU_PAGE_SIZE must be a whole number from 1 to 10, got "11"'],
      [{ SAGASU_RATE_LIMIT: 'lots' }, 'sagasu: SAGASU_RATE_LIMIT must look like "5/60" (searches per seconds), got "lots"'],
      [{ SAGASU_INDEX_FEEDBACK: 'loud' }, 'sagasu: SAGASU_INDEX_FEEDBACK must be reaction, log or none, got "loud"'],
      [{ SAGASU_EPHEMERAL: 'maybe' }, 'sagasu: SAGASU_EPHEMERAL must be true or false, got "maybe"'],
      [{ DISCORD_API_BASE: 'ftp://example.com' }, 'sagasu: DISCORD_API_BASE must be an http(s) URL, got "ftp://example.com"'],
      [{ DISCORD_TOKEN: 'two words' }, 'sagasu: DISCORD_TOKEN contains white space; copy the token again'],
    ];
    for (const [env, message] of bad) assert.throws(() => loadBotConfig({ DISCORD_TOKEN: 't', ...env }), { message });
  });
});

describe('describeConfig', () => {
  it('never shows the token', () => {
    const shown = JSON.stringify(describeConfig(loadBotConfig({ DISCORD_TOKEN: 'secret-token-value' })));
    assert.ok(!shown.includes('secret-token-value'));
    assert.match(shown, /"token":"\[set\]"/);
  });
});

describe('redact', () => {
  it('blanks every occurrence of the token', () => {
    assert.equal(redact('Authorization: Bot tok.en and tok.en again', 'tok.en'), 'Authorization: Bot [token] and [token] again');
    assert.equal(redact('nothing to hide', ''), 'nothing to hide');
  });
});
