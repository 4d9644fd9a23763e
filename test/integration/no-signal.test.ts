/**
 * A source that is lost: viewers that cannot be told in words (MJPEG, the tutorial's format) are shown a
 * "no signal" picture of their own size, again every second, until the source is back; framewire/1 viewers
 * get STATUS instead; the log says what happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import sharp from 'sharp';
import { connect } from '../../src/client/client.js';
import { drawNoSignal } from '../../src/pipeline/no-signal.js';
import { encodeSeedHello, SeedFrameDecoder } from '../../src/protocol/seed.js';
import type { StatusMessage } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { FfmpegSource } from '../../src/sources/ffmpeg/ffmpeg-source.js';
import { resolvePlan, type FfmpegSpec } from '../../src/sources/ffmpeg/resolve-plan.js';
import { parseSourceSpec } from '../../src/sources/spec.js';
import { take } from '../helpers/client.js';
import { recordingLogger } from '../helpers/peers.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

/** Mean absolute difference per channel between a JPEG and the no-signal picture drawn at its size. */
async function distanceFromNoSignal(jpeg: Uint8Array): Promise<{ width: number; height: number; distance: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const expected = drawNoSignal(info.width, info.height);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) sum += Math.abs(data[i]! - expected[i]!);
  return { width: info.width, height: info.height, distance: sum / expected.length };
}

/** Every JPEG received, with when it arrived; `onPart` after each. */
interface Received {
  parts: { jpeg: Buffer; atMs: number }[];
  onPart: () => void;
}

/** MJPEG parts by their Content-Length (the framing http-mjpeg.test.ts checks strictly). */
function readMjpeg(res: http.IncomingMessage, into: Received): void {
  let buf = Buffer.alloc(0);
  res.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const len = Number(/Content-Length: (\d+)/.exec(buf.subarray(0, headEnd).toString('latin1'))?.[1]);
      assert.ok(len > 0, 'each part has a Content-Length');
      if (buf.length < headEnd + 4 + len + 2) return;
      into.parts.push({ jpeg: Buffer.from(buf.subarray(headEnd + 4, headEnd + 4 + len)), atMs: performance.now() });
      buf = buf.subarray(headEnd + 4 + len + 2);
      into.onPart();
    }
  });
}

test('a lost source: MJPEG and tutorial viewers see "no signal" at their size once a second, framewire/1 viewers are told, the log has a line', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const request = { width: 320, height: 240, fps: 30 };
  const spec = parseSourceSpec('ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30') as FfmpegSpec;
  // The first restart waits 4 s: the loss lasts long enough to see the picture repeated.
  const source = new FfmpegSource({ plan: (ffmpeg) => resolvePlan(ffmpeg, spec, request), request, backoffInitialMs: 4000 });
  const { lines, log } = recordingLogger();
  const server = await startTestServer({ httpPort: 0, log, defaults: { ...request, quality: 75 } }, { source, extras: [httpTransport()] });
  const sockets: net.Socket[] = [];
  let req: http.ClientRequest | undefined;
  try {
    const mjpeg: Received = { parts: [], onPart: () => {} };
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req = http.get(`http://127.0.0.1:${server.extras[0]!.port}/stream.mjpg?width=160&fps=10`, resolve);
      req.on('error', reject);
    });
    assert.equal(res.statusCode, 200);
    readMjpeg(res, mjpeg);

    const tutorial: Received = { parts: [], onPart: () => {} };
    const seed = net.connect({ host: '127.0.0.1', port: server.tcp.port });
    sockets.push(seed);
    const decoder = new SeedFrameDecoder();
    seed.on('data', (c: Buffer) => {
      for (const f of decoder.push(c).frames) {
        tutorial.parts.push({ jpeg: Buffer.from(f.payload), atMs: performance.now() });
        tutorial.onPart();
      }
    });
    seed.write(encodeSeedHello({ width: 240, height: 180, fps: 10 }));

    const statuses: StatusMessage[] = [];
    const fw = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 120, fps: 10, onStatus: (_text, s) => s && statuses.push(s) });
    await within(take(fw, 3), 10_000, 'framewire/1 frames');
    // Everything the framewire/1 viewer gets from here on, for the end.
    const fwFrames: Uint8Array[] = [];
    let reading = true;
    const fwReader = (async () => {
      for await (const f of fw) {
        fwFrames.push(f.jpeg);
        if (!reading) break;
      }
    })();
    await waitUntil(() => mjpeg.parts.length >= 3 && tutorial.parts.length >= 3, 10_000, 'MJPEG and tutorial frames');
    for (const r of [mjpeg, tutorial]) {
      const live = await distanceFromNoSignal(r.parts.at(-1)!.jpeg);
      assert.ok(live.distance > 30, `a live frame is nothing like the no-signal picture (distance ${live.distance.toFixed(1)})`);
    }
    const before = { mjpeg: mjpeg.parts.length, tutorial: tutorial.parts.length };

    process.kill(source.pid!, 'SIGKILL');
    await waitUntil(() => statuses.some((s) => s.status === 1), 10_000, 'STATUS source lost to the framewire/1 viewer');
    /** The no-signal parts received since the kill. */
    const noSignal = async (r: Received, from: number, width: number, height: number): Promise<number[]> => {
      const at: number[] = [];
      for (const p of r.parts.slice(from)) {
        const d = await distanceFromNoSignal(p.jpeg);
        if (d.distance < 6) {
          assert.deepEqual([d.width, d.height], [width, height], "the picture is the viewer's own size");
          at.push(p.atMs);
        }
      }
      return at;
    };
    await waitUntil(async () => (await noSignal(mjpeg, before.mjpeg, 160, 120)).length >= 2, 10_000, 'two no-signal pictures on MJPEG');
    await waitUntil(async () => (await noSignal(tutorial, before.tutorial, 240, 180)).length >= 1, 10_000, 'a no-signal picture for the tutorial client');
    const shown = await noSignal(mjpeg, before.mjpeg, 160, 120);
    const gap = shown[1]! - shown[0]!;
    assert.ok(gap > 700 && gap < 1600, `repeated about once a second (${gap.toFixed(0)} ms apart)`);
    assert.match(lines.join('\n'), /error E_SOURCE: source lost: /, 'the loss is logged');
    assert.equal(lines.filter((l) => /source lost/.test(l)).length, 1, 'once');

    // Back: real frames again, and no more no-signal pictures.
    await waitUntil(() => statuses.some((s) => s.status === 2), 20_000, 'STATUS source resumed');
    const resumedAt = mjpeg.parts.length;
    await waitUntil(() => mjpeg.parts.length >= resumedAt + 5, 10_000, 'MJPEG frames after the source is back');
    const after = await distanceFromNoSignal(mjpeg.parts.at(-1)!.jpeg);
    assert.ok(after.distance > 30, 'live frames again');
    // framewire/1 viewers were told in words and never shown the picture.
    const fwBefore = fwFrames.length;
    await waitUntil(() => fwFrames.length >= fwBefore + 3, 10_000, 'framewire/1 frames after recovery');
    reading = false;
    await within(fwReader, 5000, 'the framewire/1 reader to stop');
    for (const jpeg of fwFrames) assert.ok((await distanceFromNoSignal(jpeg)).distance > 30, 'a framewire/1 viewer gets frames, never the picture');
  } finally {
    req?.destroy();
    for (const s of sockets) s.destroy();
    await server.close();
  }
});
