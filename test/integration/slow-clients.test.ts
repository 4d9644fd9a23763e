import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transform, type TransformCallback } from 'node:stream';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { nowUs } from '../../src/clock.js';
import { take } from '../helpers/client.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';

const hello = (p: { width: number; height: number; fps: number; quality: number }) =>
  encodeMessage({ type: 'hello', version: 1, token: '', ...p });

test('a stalled client (never reads, never acks) neither slows live clients nor grows server memory', async () => {
  const server = await startTestServer();
  try {
    const stalled = await rawConnect(server.tcp.port);
    stalled.write(hello({ width: 640, height: 360, fps: 30, quality: 75 }));
    stalled.pause(); // stop reading: the kernel buffers fill and no ack is ever sent
    const live = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 640, height: 360, fps: 30 });
    const t0 = performance.now();
    const frames = await within(take(live, 60), 10_000, '60 frames for the live client');
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(60 / seconds > 25, `live client got ${(60 / seconds).toFixed(1)} fps next to a stalled one`);
    assert.ok(frames.every((f) => f.width === 640));
    const clients = server.registry.list();
    const s = clients.find((c) => c.sent <= 2 && c.dropped > 0);
    assert.ok(s, `the stalled client was sent at most its window of 2 frames and the rest were dropped: ${JSON.stringify(clients)}`);
    assert.ok(s.dropped >= 50, `stalled client dropped ${s.dropped}`);
    stalled.destroy();
    await live.close();
  } finally {
    await server.close();
  }
});

/** Passes bytes through at a fixed rate: a reader on a link slower than the stream. */
function throttle(bytesPerSecond: number): Transform {
  let budget = 0;
  let last = performance.now();
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const send = (rest: Buffer): void => {
        const now = performance.now();
        budget = Math.min(bytesPerSecond / 10, budget + ((now - last) / 1000) * bytesPerSecond);
        last = now;
        const n = Math.min(rest.length, Math.floor(budget));
        if (n > 0) {
          this.push(rest.subarray(0, n));
          budget -= n;
        }
        if (n === rest.length) return done();
        setTimeout(() => send(rest.subarray(n)), 10);
      };
      send(chunk);
    },
  });
}

test('a lagging reader sees bounded latency: at most the window of frames is queued end to end', async () => {
  const server = await startTestServer({ defaults: { width: 640, height: 360, fps: 30, quality: 90 } });
  try {
    const s = await rawConnect(server.tcp.port);
    s.write(hello({ width: 640, height: 360, fps: 30, quality: 90 }));
    // Read at ~1/4 of what the stream needs, so the reader lags forever.
    const frameBytes = (await server.hub.snapshot({ width: 640, height: 360, quality: 90 })).payload.length;
    const rate = (frameBytes * 30) / 4;
    const decoder = new MessageDecoder();
    const ages: number[] = [];
    const done = new Promise<void>((resolve, reject) => {
      s.pipe(throttle(rate)).on('data', (chunk: Buffer) => {
        const { messages, error } = decoder.push(chunk);
        if (error) reject(error);
        for (const m of messages) {
          if (m.type !== 'frame') continue;
          ages.push((nowUs() - m.captureUs) / 1000);
          s.write(encodeMessage({ type: 'ack', seq: m.seq }));
          if (ages.length >= 25) resolve();
        }
      });
    });
    await within(done, 30_000, '25 frames through the throttled reader');
    s.destroy();
    // Each frame takes ~133 ms to read at this rate; a window of 2 bounds the age to a few frame-reads.
    // Without end-to-end flow control the kernel buffers (MBs) would hold seconds of video here.
    const late = ages.slice(5).sort((a, b) => a - b);
    const p90 = late[Math.floor(late.length * 0.9)]!;
    const frameReadMs = (frameBytes / rate) * 1000;
    assert.ok(p90 < frameReadMs * 4 + 100, `p90 age ${p90.toFixed(0)} ms with ${frameReadMs.toFixed(0)} ms per frame read`);
  } finally {
    await server.close();
  }
});

/** Frame ages (ms) seen by a reader at a quarter of the stream's bandwidth, for `seconds`, with `window`. */
async function laggingReaderAges(window: number, seconds: number): Promise<{ ages: number[]; frameReadMs: number }> {
  const server = await startTestServer({ window, defaults: { width: 640, height: 360, fps: 30, quality: 90 } });
  try {
    const s = await rawConnect(server.tcp.port);
    s.write(hello({ width: 640, height: 360, fps: 30, quality: 90 }));
    const decoder = new MessageDecoder();
    const ages: number[] = [];
    let frameBytes = 0;
    await within(
      new Promise<void>((resolve, reject) => {
        let rate = 0;
        s.once('data', (first: Buffer) => {
          // The ACCEPT (and maybe a frame) is in; size the link from the first frame the reader will see.
          s.pause();
          s.unshift(first);
          void server.hub.snapshot({ width: 640, height: 360, quality: 90 }).then((f) => {
            frameBytes = f.payload.length;
            rate = (frameBytes * 30) / 4;
            setTimeout(resolve, seconds * 1000);
            s.pipe(throttle(rate)).on('data', (chunk: Buffer) => {
              const { messages, error } = decoder.push(chunk);
              if (error) reject(error);
              for (const m of messages) {
                if (m.type !== 'frame') continue;
                ages.push((nowUs() - m.captureUs) / 1000);
                s.write(encodeMessage({ type: 'ack', seq: m.seq }));
              }
            });
          }, reject);
        });
      }),
      seconds * 1000 + 10_000,
      'the lagging reader',
    );
    s.destroy();
    return { ages, frameReadMs: (frameBytes / ((frameBytes * 30) / 4)) * 1000 };
  } finally {
    await server.close();
  }
}

test('the same lagging reader without the window: its delay keeps growing, past 2 s within 5 s (the README figure)', { timeout: 60_000 }, async () => {
  // A window far beyond what the reader can take: only the socket buffers (megabytes) bound what is queued.
  const [windowed, unbounded] = await Promise.all([laggingReaderAges(2, 5), laggingReaderAges(10_000, 5)]);
  const late = windowed.ages.slice(5).sort((a, b) => a - b);
  const p90 = late[Math.floor(late.length * 0.9)]!;
  assert.ok(p90 < windowed.frameReadMs * 4 + 100, `with the window: p90 age ${p90.toFixed(0)} ms`);
  const last = unbounded.ages.at(-1)!;
  const early = unbounded.ages[Math.min(5, unbounded.ages.length - 1)]!;
  assert.ok(last > 2000, `without the window the last frame was ${last.toFixed(0)} ms old (with it: p90 ${p90.toFixed(0)} ms)`);
  assert.ok(last > early + 1500, `and the delay grows: ${early.toFixed(0)} ms early on, ${last.toFixed(0)} ms after 5 s`);
});

test('a slow consumer of the library drops frames locally and always gets a recent one', async () => {
  const server = await startTestServer();
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90, fps: 30 });
    const it = c[Symbol.asyncIterator]();
    await it.next();
    // Do not pull for a while: the library keeps reading and acking, keeping only the newest frame.
    await within(
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (c.stats.frames >= 20) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      }),
      5000,
      '20 frames received',
    );
    const r = await it.next();
    assert.ok(!r.done);
    assert.ok(c.stats.dropped >= 15, `dropped ${c.stats.dropped} while the consumer was away`);
    // The clock offset is known by now (pings go out on connect), so latency was really measured.
    assert.ok(r.value.latencyMs !== null, 'latency was measured');
    assert.ok(r.value.latencyMs < 200, `the frame handed over is a recent one (${r.value.latencyMs.toFixed(1)} ms)`);
    assert.ok((nowUs() - r.value.captureUs) / 1000 < 200, 'and on this machine its capture time says so too');
    await c.close();
  } finally {
    await server.close();
  }
});
