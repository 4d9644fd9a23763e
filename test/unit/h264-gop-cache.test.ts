/**
 * The GOP cache (src/codecs/h264/gop-cache.ts): the run since the last keyframe for a joiner's catch-up, and
 * what happens past its bounds (the run is dropped; nothing is cached until the next keyframe).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GopCache } from '../../src/codecs/h264/gop-cache.js';
import { codeOf } from '../helpers/errors.js';

interface Au {
  n: number;
  keyframe: boolean;
  data: Uint8Array;
}

const au = (n: number, keyframe: boolean, bytes = 100): Au => ({ n, keyframe, data: new Uint8Array(bytes) });
const ns = (run: Au[]): number[] => run.map((a) => a.n);

describe('GOP cache', () => {
  test('nothing to catch up before the first keyframe', { timeout: 5000 }, () => {
    const c = new GopCache<Au>();
    c.push(au(0, false));
    c.push(au(1, false));
    assert.deepEqual(c.catchUp(), []);
    assert.equal(c.state, 'empty');
  });

  test('the run is the last keyframe and every access unit after it; a keyframe starts a new run', { timeout: 5000 }, () => {
    const c = new GopCache<Au>();
    [au(0, true), au(1, false), au(2, false)].forEach((a) => c.push(a));
    assert.deepEqual(ns(c.catchUp()), [0, 1, 2]);
    [au(3, true), au(4, false)].forEach((a) => c.push(a));
    assert.deepEqual(ns(c.catchUp()), [3, 4]);
    assert.equal(c.frames, 2);
    assert.equal(c.bytes, 200);
  });

  test('catchUp() is a snapshot: later pushes do not change a burst already taken', { timeout: 5000 }, () => {
    const c = new GopCache<Au>();
    c.push(au(0, true));
    const burst = c.catchUp();
    c.push(au(1, false));
    assert.deepEqual(ns(burst), [0]);
  });

  test('past maxFrames the run is dropped and nothing is cached until the next keyframe', { timeout: 5000 }, () => {
    const c = new GopCache<Au>({ maxFrames: 3 });
    [au(0, true), au(1, false), au(2, false)].forEach((a) => c.push(a));
    assert.deepEqual(ns(c.catchUp()), [0, 1, 2]);
    c.push(au(3, false));
    assert.deepEqual(c.catchUp(), [], 'a partial run would not decode to the newest picture');
    assert.equal(c.state, 'overflow');
    assert.equal(c.bytes, 0);
    c.push(au(4, false));
    assert.deepEqual(c.catchUp(), []);
    c.push(au(5, true));
    assert.deepEqual(ns(c.catchUp()), [5]);
    assert.equal(c.state, 'caching');
    assert.equal(c.stats.overflows, 1);
  });

  test('past maxBytes likewise; a keyframe larger than maxBytes alone is not cached', { timeout: 5000 }, () => {
    const c = new GopCache<Au>({ maxBytes: 1000 });
    c.push(au(0, true, 600));
    c.push(au(1, false, 400));
    assert.deepEqual(ns(c.catchUp()), [0, 1]);
    c.push(au(2, false, 1));
    assert.deepEqual(c.catchUp(), []);
    c.push(au(3, true, 1001));
    assert.deepEqual(c.catchUp(), []);
    assert.equal(c.state, 'overflow');
  });

  test('clear() forgets the run', { timeout: 5000 }, () => {
    const c = new GopCache<Au>();
    c.push(au(0, true));
    c.clear();
    c.push(au(1, false));
    assert.deepEqual(c.catchUp(), []);
  });

  test('bounds must be positive integers', { timeout: 5000 }, () => {
    assert.equal(codeOf(() => new GopCache<Au>({ maxBytes: 0 })), 'E_BAD_PARAMS');
    assert.equal(codeOf(() => new GopCache<Au>({ maxFrames: 1.5 })), 'E_BAD_PARAMS');
  });

  test('property: the burst is always a whole run from a keyframe to the newest access unit, within both bounds, or empty', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ keyframe: fc.boolean(), bytes: fc.integer({ min: 1, max: 500 }) }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 20 }),
        (stream, maxBytes, maxFrames) => {
          const c = new GopCache<Au>({ maxBytes, maxFrames });
          stream.forEach((s, n) => {
            c.push(au(n, s.keyframe, s.bytes));
            const burst = c.catchUp();
            if (burst.length === 0) return;
            // Starts at the most recent keyframe, ends at the access unit just pushed, nothing skipped.
            const lastKey = stream.slice(0, n + 1).map((x) => x.keyframe).lastIndexOf(true);
            assert.deepEqual(ns(burst), Array.from({ length: n - lastKey + 1 }, (_, i) => lastKey + i));
            assert.ok(burst.length <= maxFrames);
            assert.ok(burst.reduce((s2, a) => s2 + a.data.length, 0) <= maxBytes);
          });
          // And the run is empty only when it could not fit (or there was no keyframe).
          const lastKey = stream.map((x) => x.keyframe).lastIndexOf(true);
          if (lastKey >= 0) {
            const run = stream.slice(lastKey);
            const fits = run.length <= maxFrames && run.reduce((s2, x) => s2 + x.bytes, 0) <= maxBytes;
            assert.equal(c.catchUp().length > 0, fits);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
