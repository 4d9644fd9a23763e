import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/client.js';
import { take } from '../helpers/client.js';
import { startTestServer, within } from '../helpers/server.js';

test('snapshots: same-size requests share one encode, one-off encodes of other sizes are capped', async () => {
  const server = await startTestServer();
  try {
    // Wait for a first captured frame.
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90 });
    await within(take(c, 1), 5000, 'first frame');
    await c.close();
    const same = await Promise.all(Array.from({ length: 5 }, () => server.hub.snapshot({ width: 333, height: 187, quality: 60 })));
    assert.ok(same.every((f) => f === same[0]), 'five concurrent requests, one encode');
    const burst = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => server.hub.snapshot({ width: 200 + 10 * i, height: 120, quality: 60 })));
    const ok = burst.filter((r) => r.status === 'fulfilled').length;
    const limited = burst.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'E_RATE_LIMITED').length;
    assert.equal(ok, 2, 'two one-off encodes at a time');
    assert.equal(limited, 6, 'the rest are refused with a reason, not queued');
    const later = await server.hub.snapshot({ width: 290, height: 120, quality: 60 });
    assert.equal(later.width, 290, 'once they finish, new snapshots are served again');
  } finally {
    await server.close();
  }
});
