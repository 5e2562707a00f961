import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectedComponents } from '../../src/ocr/components.js';

/** '#' marks the pixels inside. */
function grid(rows: string[]) {
  const width = rows[0]!.length;
  const grey = Uint8Array.from(rows.join(''), (cell) => (cell === '#' ? 0 : 255));
  return { width, height: rows.length, grey };
}

describe('connectedComponents', () => {
  const diagonal = grid(['#..', '.#.', '..#', '...', '##.']);

  it('joins diagonal neighbours with 8-connectivity', () => {
    const { components } = connectedComponents(diagonal.grey, diagonal.width, diagonal.height, { below: 128 }, 8);
    assert.deepEqual(components, [
      { label: 1, area: 3, x0: 0, y0: 0, x1: 2, y1: 2 },
      { label: 2, area: 2, x0: 0, y0: 4, x1: 1, y1: 4 },
    ]);
  });

  it('keeps diagonal neighbours apart with 4-connectivity, and labels every member pixel', () => {
    const { labels, components } = connectedComponents(diagonal.grey, diagonal.width, diagonal.height, { below: 128 }, 4);
    assert.deepEqual(components.map((c) => [c.label, c.area]), [[1, 1], [2, 1], [3, 1], [4, 2]]);
    assert.deepEqual([...labels], [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 4, 0]);
  });

  it('takes the bright pixels instead with atLeast, which a 4-connected diagonal line separates', () => {
    const { components } = connectedComponents(diagonal.grey, diagonal.width, diagonal.height, { atLeast: 128 }, 4);
    assert.deepEqual(components.map((c) => [c.area, c.x0, c.y0, c.x1, c.y1]), [[3, 1, 0, 2, 1], [7, 0, 1, 2, 4]]); // the diagonal line cuts the paper in two
  });
});
