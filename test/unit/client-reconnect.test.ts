/** Reconnect backoff shared by the Node client and the browser viewer (src/client/reconnect.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, isFatal } from '../../src/client/reconnect.js';

test('waits double from 250 ms up to 5 s, each within ±20 %, and start again after a success', () => {
  const b = new Backoff();
  const nominal = [250, 500, 1000, 2000, 4000, 5000, 5000];
  for (const n of nominal) {
    const d = b.next();
    assert.ok(d >= n * 0.8 && d <= n * 1.2, `${d} ms for a nominal ${n} ms`);
  }
  b.reset();
  assert.ok(b.next() <= 250 * 1.2);
});

test('refusals the same request would get again are fatal; a lost connection or a full server is not', () => {
  for (const code of ['E_AUTH', 'E_VERSION', 'E_BAD_PARAMS', 'E_TLS', 'E_UNSUPPORTED', 'E_BAD_MAGIC'] as const) assert.ok(isFatal(code), code);
  for (const code of ['E_CLOSED', 'E_CONNECT', 'E_TIMEOUT', 'E_TOO_MANY_CLIENTS', 'E_SHUTDOWN'] as const) assert.ok(!isFatal(code), code);
});
