import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSourceVisible } from '../../src/bot/permissions.js';

describe('isSourceVisible', () => {
  const source = { guildId: 'g1', channelId: 'c1' };
  const query = { guildId: 'g1', channelNsfw: false };
  const facts = { guildId: 'g1', memberCanView: true, nsfw: false };

  it('shows a source from a channel the member can view in the same guild', () => {
    assert.equal(isSourceVisible(source, facts, query), true);
  });

  it('hides sources from another guild, unknown channels and channels the member cannot view', () => {
    assert.equal(isSourceVisible({ guildId: 'g2', channelId: 'c1' }, facts, query), false);
    assert.equal(isSourceVisible(source, { ...facts, guildId: 'g2' }, query), false);
    assert.equal(isSourceVisible(source, undefined, query), false);
    assert.equal(isSourceVisible(source, { ...facts, memberCanView: false }, query), false);
  });

  it('shows NSFW sources only when the query is asked in an NSFW channel', () => {
    assert.equal(isSourceVisible(source, { ...facts, nsfw: true }, query), false);
    assert.equal(isSourceVisible(source, { ...facts, nsfw: true }, { ...query, channelNsfw: true }), true);
    assert.equal(isSourceVisible(source, facts, { ...query, channelNsfw: true }), true);
  });
});
