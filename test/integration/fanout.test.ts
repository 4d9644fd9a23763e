import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { connect } from '../../src/client/client.js';
import { take } from '../helpers/client.js';
import { startTestServer, within } from '../helpers/server.js';


test('many clients on different profiles each get their own size, and each profile is encoded once', async () => {
  const server = await startTestServer();
  try {
    const profiles = [
      { width: 320, height: 180, quality: 60 },
      { width: 640, height: 360, quality: 75 },
      { width: 160, height: 90, quality: 50 },
    ];
    const clients = await Promise.all(
      Array.from({ length: 12 }, (_, i) => connect(`tcp://127.0.0.1:${server.tcp.port}`, { ...profiles[i % 3]!, fps: 30 })),
    );
    assert.equal(server.registry.size, 12);
    const results = await within(Promise.all(clients.map((c) => take(c, 20))), 20_000, '20 frames on each of 12 clients');
    for (const [i, frames] of results.entries()) {
      const p = profiles[i % 3]!;
      for (const f of frames) {
        assert.equal(f.width, p.width);
        assert.equal(f.height, p.height);
      }
      const meta = await sharp(frames.at(-1)!.jpeg).metadata();
      assert.deepEqual([meta.width, meta.height], [p.width, p.height], 'the JPEG itself has the granted size');
    }
    // One encode per profile per frame, not per client: 4 clients share each profile's encodes.
    const stats = server.hub.profileStats();
    const captured = server.hub.captured;
    for (const s of stats) assert.ok(s.encoded <= captured, `profile ${s.key} encoded ${s.encoded} times for ${captured} captured frames`);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await server.close();
  }
});

test('each client is paced at its own negotiated rate', async () => {
  const server = await startTestServer();
  try {
    const fast = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90, fps: 30 });
    const slow = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90, fps: 10 });
    assert.equal(slow.accepted.fps, 10);
    const [fastFrames, slowFrames] = await within(Promise.all([take(fast, 30), take(slow, 10)]), 10_000, 'frames');
    // Over the same source frames, the 10 fps client sees every third one on average.
    const span = (fs: { seq: number }[]) => fs.at(-1)!.seq - fs[0]!.seq;
    const fastStep = span(fastFrames) / (fastFrames.length - 1);
    const slowStep = span(slowFrames) / (slowFrames.length - 1);
    assert.ok(fastStep < 1.5, `30 fps client gets nearly every source frame (mean step ${fastStep})`);
    assert.ok(slowStep > 2.5 && slowStep < 3.6, `10 fps client gets every third source frame (mean step ${slowStep})`);
    await Promise.all([fast.close(), slow.close()]);
  } finally {
    await server.close();
  }
});

test('renegotiation changes resolution, rate and quality without reconnecting', async () => {
  const server = await startTestServer();
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 180, fps: 30 });
    const before = await within(take(c, 3), 5000, 'frames before');
    assert.ok(before.every((f) => f.width === 320 && f.height === 180));
    const granted = await c.renegotiate({ width: 200, height: 100, fps: 15, quality: 40 });
    assert.deepEqual(granted, { width: 200, height: 100, fps: 15, quality: 40 });
    const after = await within(take(c, 5), 5000, 'frames after');
    assert.ok(after.every((f) => f.width === 200 && f.height === 100), 'every frame after the answer has the new size');
    assert.equal(server.registry.size, 1, 'still the same single connection');
    assert.equal(c.stats.reconnects, 0);
    await c.close();
  } finally {
    await server.close();
  }
});

test('requests outside the documented bounds are clamped, and 0 means the server default', async () => {
  const server = await startTestServer();
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 9999, height: 1, fps: 500, quality: 0 });
    assert.equal(c.accepted.width, 3840);
    assert.equal(c.accepted.height, 16);
    assert.equal(c.accepted.fps, 30, 'never above the source rate');
    assert.equal(c.accepted.quality, 75, 'the server default');
    await c.close();
  } finally {
    await server.close();
  }
});

test("the server's own caps (--max-width/--max-height/--max-fps) clamp what clients are granted", async () => {
  const server = await startTestServer({ bounds: { maxWidth: 320, maxHeight: 240, maxFps: 10 } });
  try {
    // 1920x1080 of a 640x360 source: the whole frame scales down to fit the caps, keeping its 16:9 shape.
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 1920, height: 1080, fps: 30 });
    assert.deepEqual([c.accepted.width, c.accepted.height, c.accepted.fps], [320, 180, 10]);
    const granted = await c.renegotiate({ width: 640, height: 480, fps: 60 });
    assert.deepEqual([granted.width, granted.height, granted.fps], [320, 240, 10], 'renegotiation is capped too (a 4:3 frame, the picture letterboxed)');
    await c.close();
  } finally {
    await server.close();
  }
});

test('distinct profiles are capped (--max-profiles): a further request is granted the largest live profile at or below it', async () => {
  const server = await startTestServer({ maxProfiles: 2 });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const a = await connect(url, { width: 160, height: 90, quality: 50 });
    const b = await connect(url, { width: 640, height: 360, quality: 75 });
    const c = await connect(url, { width: 600, height: 340, quality: 70 });
    assert.deepEqual([c.accepted.width, c.accepted.height, c.accepted.quality], [160, 90, 50], 'never the larger 640x360 q75');
    const frames = await within(take(c, 3), 5000, 'frames');
    assert.ok(frames.every((f) => f.width === 160 && f.height === 90), 'and frames of that profile');
    const r = await c.renegotiate({ width: 170, height: 100, quality: 50 });
    assert.deepEqual([r.width, r.height], [160, 90], 'renegotiation is capped too');
    assert.equal(server.hub.profileStats().length, 2, 'still two encodes per frame');
    await Promise.all([a.close(), b.close(), c.close()]);
  } finally {
    await server.close();
  }
});

test('the client measures latency corrected by its clock offset', async () => {
  const server = await startTestServer();
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 180 });
    await within(take(c, 30), 5000, 'frames');
    const s = c.stats;
    assert.ok(s.latencyMs, 'latency is known after pongs');
    assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p50 < 200, `p50 ${s.latencyMs.p50} ms on loopback`);
    assert.ok(s.clockOffsetMs !== null && Math.abs(s.clockOffsetMs) < 5, `same machine, offset ${s.clockOffsetMs} ms`);
    assert.ok(s.fps > 0);
    await c.close();
  } finally {
    await server.close();
  }
});
