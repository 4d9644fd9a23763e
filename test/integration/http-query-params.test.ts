/** The stream query parser of the HTTP routes: total (never throws), strict, and round-trips valid values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isFramewireError } from '../../src/errors.js';
import { parseStreamQuery, QUERY_BOUNDS } from '../../src/server/http/query-params.js';

const NAMES = ['width', 'height', 'fps', 'quality'] as const;

test('absent parameters mean server default (0); unknown parameters are ignored', () => {
  assert.deepEqual(parseStreamQuery(''), { ok: true, params: { width: 0, height: 0, fps: 0, quality: 0 } });
  assert.deepEqual(parseStreamQuery('token=abc&_=123'), { ok: true, params: { width: 0, height: 0, fps: 0, quality: 0 } });
  assert.deepEqual(parseStreamQuery('width=640&height=360&fps=15&quality=70'), {
    ok: true,
    params: { width: 640, height: 360, fps: 15, quality: 70 },
  });
});

test('bad values are refused with E_BAD_PARAMS naming the parameter', () => {
  const cases: [string, string][] = [
    ['width=abc', 'width'],
    ['height=-5', 'height'],
    ['fps=1.5', 'fps'],
    ['quality=101', 'quality'],
    ['width=0', 'width'],
    ['width=1e3', 'width'],
    ['width=', 'width'],
    ['width=%20640', 'width'],
    ['fps=999999999999', 'fps'],
    ['height=100&height=200', 'height'],
  ];
  for (const [q, name] of cases) {
    const r = parseStreamQuery(q);
    assert.equal(r.ok, false, q);
    if (r.ok) continue;
    assert.equal(r.error.code, 'E_BAD_PARAMS', q);
    assert.match(r.error.message, new RegExp(`^${name}\\b`), q);
  }
});

test('property: any query string gives a result or an E_BAD_PARAMS error, never a throw', () => {
  const value = fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String), fc.constantFrom('', '0', '-1', '00640', '１２'));
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...NAMES), fc.string()), value);
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.array(pair).map((ps) => new URLSearchParams(ps).toString())), (q) => {
      const r = parseStreamQuery(q);
      if (r.ok) {
        for (const n of NAMES) {
          const v = r.params[n];
          const [lo, hi] = QUERY_BOUNDS[n];
          assert.ok(v === 0 || (Number.isInteger(v) && v >= lo && v <= hi), `${n}=${v} from ${q}`);
        }
      } else {
        assert.ok(isFramewireError(r.error));
        assert.equal(r.error.code, 'E_BAD_PARAMS');
        assert.ok(NAMES.some((n) => r.error.message.startsWith(n)), r.error.message);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: valid values round-trip', () => {
  const params = fc.record({
    width: fc.integer({ min: QUERY_BOUNDS.width[0], max: QUERY_BOUNDS.width[1] }),
    height: fc.integer({ min: QUERY_BOUNDS.height[0], max: QUERY_BOUNDS.height[1] }),
    fps: fc.integer({ min: QUERY_BOUNDS.fps[0], max: QUERY_BOUNDS.fps[1] }),
    quality: fc.integer({ min: QUERY_BOUNDS.quality[0], max: QUERY_BOUNDS.quality[1] }),
  });
  fc.assert(
    fc.property(params, fc.subarray([...NAMES]), (p, given) => {
      const q = new URLSearchParams(given.map((n) => [n, String(p[n])]));
      const r = parseStreamQuery(q);
      assert.ok(r.ok);
      for (const n of NAMES) assert.equal(r.params[n], given.includes(n) ? p[n] : 0);
    }),
    { numRuns: 1000 },
  );
});

test('property: out-of-range integers are refused', () => {
  fc.assert(
    fc.property(fc.constantFrom(...NAMES), fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 3841, max: 99999 })), (name, v) => {
      const [lo, hi] = QUERY_BOUNDS[name];
      fc.pre(v < lo || v > hi);
      const r = parseStreamQuery(`${name}=${v}`);
      assert.equal(r.ok, false);
    }),
  );
});
