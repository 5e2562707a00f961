import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { discordLimits, embedLength, explainMatch, fitEmbeds, jumpLink, noMatchText, pageButtons, parsePageButton, resultEmbed, type ResultItem } from '../../src/bot/format.js';
import type { SourceRecord } from '../../src/store/sqlite-store.js';

const source: SourceRecord = {
  id: 1,
  imageId: 7,
  scope: '111',
  kind: 'discord',
  key: 'discord:111/222/333/444',
  path: null,
  guildId: '111',
  channelId: '222',
  messageId: '333',
  attachmentId: '444',
  authorId: '555',
  fileName: 'page.png',
  caption: 'look at this',
  postedAt: 1_700_000_000_000,
  createdAt: 0,
};

const item: ResultItem = {
  imageId: 7,
  confidence: 0.876,
  source,
  otherSources: 2,
  reasons: {
    visual: { rank: 1, score: 0.93, contribution: 0.016, detail: { similarity: 0.9312 } },
    text: { rank: 2, score: 4.1, contribution: 0.015, detail: { matched: ['lighthouse', 'where'] } },
  },
};

describe('explainMatch', () => {
  it('says which sources found the image, at what rank, and the words that matched', () => {
    assert.equal(explainMatch(item.reasons), 'looks alike: visual rank 1, similarity 0.93\ntext rank 2, words: `lighthouse`, `where`');
    assert.equal(explainMatch({ hash: { rank: 1, score: 64, contribution: 0.02, detail: { distance: 0, exact: true } } }), 'the very same file');
    assert.equal(
      explainMatch({
        visual: { rank: 1, score: 0.9, contribution: 0.02, detail: { similarity: 0.9, mirrored: true } },
        text: { rank: 1, score: 5, contribution: 0.02, detail: { matched: ['bakery'], lines: [{ text: 'MIDNIGHT  BAKERY OPENS', box: { x: 0, y: 0, w: 1, h: 1 } }] } },
      }),
      'looks alike: visual rank 1, similarity 0.90, mirrored\ntext rank 1, words: `bakery`\nin “MIDNIGHT BAKERY OPENS”',
    );
    assert.equal(explainMatch({ hash: { rank: 1, score: 60, contribution: 0.02, detail: { distance: 4, exact: false } } }), 'near-duplicate (hash distance 4)');
    assert.equal(
      explainMatch({ visual: { rank: 2, score: 0.8, contribution: 0.02, detail: { similarity: 0.8, contentArea: true } } }),
      'looks alike: visual rank 2, similarity 0.80, picture inside the screenshot',
    );
    assert.equal(
      explainMatch({ visual: { rank: 1, score: 0.88, contribution: 0.02, detail: { similarity: 0.91, colour: 0.9 } } }),
      'looks alike: visual rank 1, similarity 0.91, colours 0.90',
    );
    assert.equal(
      explainMatch({ visual: { rank: 1, score: 0.7, contribution: 0.02, detail: { similarity: 0.7, region: 4, regionBox: { x: 0, y: 0, w: 0.333, h: 0.333 } } } }),
      'looks alike: visual rank 1, similarity 0.70, matches the top left part of the image',
    );
    assert.equal(
      explainMatch({ text: { rank: 1, score: 800, contribution: 0.02, detail: { matched: ['温泉', '天文'], dominant: true } } }),
      'text rank 1, words: `温泉`, `天文`, far ahead of any other image',
    );
  });
});

describe('resultEmbed', () => {
  it('links to the message and shows channel, author, date, similarity, reasons and the thumbnail', () => {
    assert.deepEqual(resultEmbed(item, 1, 'https://cdn.example/fresh.png'), {
      title: '#1 page.png',
      url: 'https://discord.com/channels/111/222/333',
      description: 'look at this',
      fields: [
        { name: 'Channel', value: '<#222>', inline: true },
        { name: 'Author', value: '<@555>', inline: true },
        { name: 'Posted', value: '<t:1700000000:f>', inline: true },
        { name: 'Similarity', value: '88%', inline: true },
        { name: 'Why it matched', value: explainMatch(item.reasons), inline: false },
      ],
      footer: { text: 'also posted 2 more times' },
      thumbnail: { url: 'https://cdn.example/fresh.png' },
    });
    assert.equal(jumpLink('1', '2', '3'), 'https://discord.com/channels/1/2/3');
  });
});

describe('fitEmbeds', () => {
  it('keeps any set of results within 10 embeds and 6000 characters', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ caption: fc.string({ maxLength: 400 }), words: fc.array(fc.string({ minLength: 1, maxLength: 60 }), { maxLength: 40 }) }), { minLength: 1, maxLength: 25 }), fc.nat(2000), (specs, contentLength) => {
        const embeds = specs.map((spec, i) =>
          resultEmbed({ ...item, source: { ...source, caption: spec.caption }, reasons: { text: { rank: 1, score: 1, contribution: 1, detail: { matched: spec.words } } } }, i + 1),
        );
        const fitted = fitEmbeds(embeds, contentLength);
        assert.ok(fitted.length >= 1 && fitted.length <= discordLimits.embedsPerMessage);
        const total = contentLength + fitted.reduce((n, e) => n + embedLength(e), 0);
        assert.ok(total <= discordLimits.embedCharacters || fitted.length === 1, `total ${total}`);
        for (const e of fitted) for (const f of e.fields ?? []) assert.ok(f.value.length <= discordLimits.fieldValue);
      }),
      { numRuns: 200 },
    );
  });
});

describe('pageButtons', () => {
  it('gives Previous and More buttons whose ids carry the session and page, and none for one page', () => {
    assert.deepEqual(pageButtons('abc', 0, 1), []);
    const [row] = pageButtons('abc', 0, 3).map((r) => r.toJSON());
    assert.deepEqual(
      row!.components.map((c: any) => [c.custom_id, c.label, c.disabled]),
      [
        ['sagasu:page:abc:-1', 'Previous', true],
        ['sagasu:page:abc:1', 'More results (1/3)', false],
      ],
    );
    assert.deepEqual(parsePageButton('sagasu:page:abc:1'), { sessionId: 'abc', page: 1 });
    assert.equal(parsePageButton('other:thing'), undefined);
  });
});

describe('noMatchText', () => {
  it('says plainly that nothing was confident, and how many weak candidates were hidden', () => {
    assert.equal(noMatchText(0), 'No match in the indexed channels of this server that you can see.');
    assert.equal(noMatchText(3), 'No confident match: 3 weak candidates fell below the confidence threshold, so none is shown.');
  });
});
