import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserRateLimiter } from '../../src/bot/rate-limit.js';

describe('UserRateLimiter.take', () => {
  it('allows `limit` searches per window per user and says when the next one is allowed', () => {
    const limiter = new UserRateLimiter(2, 10_000);
    assert.deepEqual(limiter.take('a', 0), { ok: true });
    assert.deepEqual(limiter.take('a', 1000), { ok: true });
    assert.deepEqual(limiter.take('a', 2000), { ok: false, retryAfterMs: 8000 });
    assert.deepEqual(limiter.take('b', 2000), { ok: true });
    assert.deepEqual(limiter.take('a', 10_000), { ok: true });
    assert.deepEqual(limiter.take('a', 10_500), { ok: false, retryAfterMs: 500 });
  });
});
