import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScopeMap } from '../../src/indexes/scope-map.js';

describe('ScopeMap.get, set and delete', () => {
  it('keeps each image in one scope, counting the images per scope', () => {
    const scopes = new ScopeMap();
    scopes.set(1, 'guild-a');
    scopes.set(2, 'guild-a');
    scopes.set(3, 'guild-b');
    assert.deepEqual([scopes.get(1), scopes.get(3), scopes.get(4)], ['guild-a', 'guild-b', undefined]);
    assert.deepEqual([scopes.count('guild-a'), scopes.count('guild-b'), scopes.count('guild-c')], [2, 1, 0]);
    scopes.set(2, 'guild-b');
    assert.deepEqual([scopes.count('guild-a'), scopes.count('guild-b')], [1, 2]);
    assert.equal(scopes.delete(3), true);
    assert.equal(scopes.delete(3), false);
    assert.deepEqual([scopes.size, scopes.count('guild-b'), scopes.get(3)], [2, 1, undefined]);
  });
});

describe('ScopeMap.filterFor', () => {
  it('gives no filter while the scope holds every image, and a membership test once it does not', () => {
    const scopes = new ScopeMap();
    scopes.set(1, 'cli');
    scopes.set(2, 'cli');
    assert.equal(scopes.filterFor('cli'), undefined);
    scopes.set(3, 'guild-a');
    const filter = scopes.filterFor('cli')!;
    assert.deepEqual([1, 2, 3, 4].map(filter), [true, true, false, false]);
    scopes.delete(3);
    assert.equal(scopes.filterFor('cli'), undefined);
  });

  it('matches nothing for a scope that holds no image', () => {
    const scopes = new ScopeMap();
    scopes.set(1, 'cli');
    assert.deepEqual([1, 2].map(scopes.filterFor('guild-z')!), [false, false]);
  });
});
