/**
 * The H.264 encoder's counters in /api/status and /metrics (docs/http.md), with real viewers: a framewire/1
 * client offering H.264 and a /stream.ts reader share one encode; status shows its encoder and counters, the
 * reader counts as an 'mpegts' client (not 'mjpeg'), promtool accepts the metrics, and the counters of an
 * encoder stopped when its last viewer left are still there (Prometheus counters never go down).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test, type TestContext } from 'node:test';
import { connect } from '../../src/client/client.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { StatusReport } from '../../src/server/http/status-report.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { assertPromtoolClean, requireTool } from '../helpers/tools.js';

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg');
}

/** The value of one series in a Prometheus text exposition, or null when it is absent. */
function series(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return null;
}


test('H.264 encoder counters in /api/status and /metrics; /stream.ts readers count as mpegts', { timeout: 60_000 }, async (t) => {
  if (!needFfmpeg(t)) return;
  const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264', httpPort: 0 }, { extras: [httpTransport()] });
  const base = `http://127.0.0.1:${server.extras[0]!.port}`;
  let reader: http.IncomingMessage | null = null;
  const client = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 180, codecs: ['h264'] });
  try {
    assert.equal(client.accepted.codec, 'h264');
    let received = 0;
    const consuming = (async () => {
      for await (const f of client) {
        assert.equal(f.codec, 'h264');
        received++;
      }
    })();
    reader = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${base}/stream.ts?width=320&height=180`, resolve).on('error', reject);
    });
    assert.equal(reader.statusCode, 200);
    let tsBytes = 0;
    reader.on('data', (c: Buffer) => (tsBytes += c.length));
    await waitUntil(() => received >= 30 && tsBytes > 10_000, 30_000, 'both viewers to receive H.264');

    const status = (await (await fetch(`${base}/api/status`)).json()) as StatusReport;
    const h264 = status.profiles.filter((p) => p.codec === 'h264');
    assert.equal(h264.length, 1, 'one encode shared by both viewers');
    const p = h264[0]!;
    assert.equal(p.subscribers, 2);
    assert.ok(p.h264, 'the profile carries its encoder counters');
    assert.equal(p.h264.encoder, 'libx264');
    assert.ok(p.h264.accessUnits >= 30, `access units ${p.h264.accessUnits}`);
    assert.ok(p.h264.keyframes >= 1 && p.h264.keyframes <= p.h264.accessUnits);
    assert.ok(p.h264.framesIn >= p.h264.framesWritten && p.h264.framesWritten >= p.h264.accessUnits);
    assert.equal(p.h264.restarts, 0);
    assert.ok(p.h264.inFlight >= 0 && p.h264.inFlight <= 3);
    assert.deepEqual(status.clients.map((c) => c.protocol).sort(), ['framewire', 'mpegts']);
    assert.equal(status.profiles.find((q) => q.codec !== 'h264')?.h264, undefined, 'JPEG profiles have no encoder counters');

    const text = await (await fetch(`${base}/metrics`)).text();
    const key = p.key;
    assert.equal(series(text, 'framewire_clients{protocol="mpegts"}'), 1);
    assert.equal(series(text, 'framewire_clients{protocol="mjpeg"}'), 0, 'a /stream.ts reader is not an MJPEG client');
    assert.equal(series(text, `framewire_h264_encoder_info{profile="${key}",encoder="libx264"}`), 1);
    const aus = series(text, `framewire_h264_access_units_total{profile="${key}"}`);
    assert.ok(aus !== null && aus >= p.h264.accessUnits, `access units in /metrics: ${aus}`);
    assert.ok((series(text, `framewire_h264_frames_in_total{profile="${key}"}`) ?? 0) >= aus);
    assert.ok((series(text, `framewire_h264_keyframes_total{profile="${key}"}`) ?? 0) >= 1);
    assert.equal(series(text, `framewire_h264_encoder_restarts_total{profile="${key}"}`), 0);
    assert.notEqual(series(text, `framewire_h264_frames_dropped_total{profile="${key}",reason="busy"}`), null);
    assert.match(text, /^framewire_encode_seconds_count\{codec="h264"\} [1-9]/m);
    await assertPromtoolClean(t, text);

    // The last viewer leaves, the encoder stops: its counters stay (a counter that went down would read as a reset).
    await client.close();
    await within(consuming, 10_000, 'the client to end');
    reader.destroy();
    await waitUntil(() => !server.hub.profileStats().some((q) => q.codec === 'h264'), 10_000, 'the H.264 profile to be dropped');
    const after = await (await fetch(`${base}/metrics`)).text();
    const kept = series(after, `framewire_h264_access_units_total{profile="${key}"}`);
    assert.ok(kept !== null && kept >= aus, `access units after the encoder stopped: ${kept} (was ${aus})`);
    assert.equal(series(after, `framewire_h264_encoder_info{profile="${key}",encoder="libx264"}`), null, 'no encoder runs for it now');
    await assertPromtoolClean(t, after);
    t.diagnostic(`320x180 H.264: ${p.h264.accessUnits} access units (${p.h264.keyframes} keyframes) from ${p.h264.framesIn} frames in, ${p.h264.droppedBusy} refused busy, last encode ${p.lastEncodeMs.toFixed(1)} ms`);
  } finally {
    reader?.destroy();
    await client.close();
    await server.close();
  }
});
