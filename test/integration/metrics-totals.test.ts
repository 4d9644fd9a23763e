/** /metrics counters are totals since start: clients that came and went between two scrapes still count. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/client.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { take } from '../helpers/client.js';
import { startTestServer, waitUntil } from '../helpers/server.js';

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

test('frames and bytes sent to short-lived clients between scrapes are all counted, and totals never go down', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ httpPort: 0, defaults: { width: 160, height: 90, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
  const scrape = async (): Promise<{ sent: number; bytes: number; dropped: number }> => {
    const text = await (await fetch(`http://127.0.0.1:${server.extras[0]!.port}/metrics`)).text();
    return { sent: metric(text, 'framewire_frames_sent_total'), bytes: metric(text, 'framewire_bytes_sent_total'), dropped: metric(text, 'framewire_frames_dropped_total') };
  };
  try {
    const before = await scrape();
    assert.deepEqual(before, { sent: 0, bytes: 0, dropped: 0 });
    let frames = 0;
    let bytes = 0;
    const readings = [before];
    // Three clients one after another, each leaving before the next scrape; the third overlaps a scrape.
    for (let i = 0; i < 3; i++) {
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`);
      const got = await take(c, 40);
      frames += got.length;
      bytes += got.reduce((n, f) => n + f.jpeg.length, 0);
      if (i === 2) readings.push(await scrape());
      await c.close();
      await waitUntil(() => server.registry.size === 0, 5000, 'the client to leave');
    }
    const after = await scrape();
    readings.push(after);
    // Sent counts frames handed to the socket; a client may leave with up to its window still in flight.
    assert.ok(after.sent >= frames, `frames_sent_total ${after.sent} counts the ${frames} frames the clients received`);
    assert.ok(after.sent <= frames + 3 * server.config.window + 3, `frames_sent_total ${after.sent} is not inflated (${frames} received)`);
    assert.ok(after.bytes >= bytes, `bytes_sent_total ${after.bytes} counts the ${bytes} bytes the clients received`);
    for (let i = 1; i < readings.length; i++) {
      for (const k of ['sent', 'bytes', 'dropped'] as const) assert.ok(readings[i]![k] >= readings[i - 1]![k], `${k} never decreases: ${JSON.stringify(readings)}`);
    }
  } finally {
    await server.close();
  }
});
