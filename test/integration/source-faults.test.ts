import { alive } from '../helpers/process.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { FfmpegSource } from '../../src/sources/ffmpeg/ffmpeg-source.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { createSource, parseSourceSpec } from '../../src/sources/spec.js';
import type { StatusMessage } from '../../src/protocol/messages.js';
import { take } from '../helpers/client.js';
import { runCli, waitForOutput } from '../helpers/cli.js';
import { startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';


test('killing ffmpeg mid-stream: clients are told (STATUS lost, then resumed) and frames come back', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const request = { width: 320, height: 240, fps: 30 };
  const source = createSource(parseSourceSpec('ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30'), request, { stallSeconds: 3 }) as FfmpegSource;
  const server = await startTestServer({ defaults: { ...request, quality: 75 } }, { source });
  try {
    const statuses: StatusMessage[] = [];
    let onStatus: () => void = () => {};
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, {
      onStatus: (_text, s) => {
        if (s) statuses.push(s);
        onStatus();
      },
    });
    await within(take(c, 5), 10_000, 'first frames');
    const pid = source.pid!;
    const sawBoth = new Promise<void>((resolve) => {
      onStatus = () => {
        if (statuses.some((s) => s.status === 2)) resolve();
      };
    });
    process.kill(pid, 'SIGKILL');
    await within(sawBoth, 20_000, 'lost and resumed STATUS messages');
    assert.equal(statuses[0]!.status, 1, 'first: source lost');
    assert.match(statuses[0]!.text, /SIGKILL|exit/i);
    const after = await within(take(c, 10), 10_000, 'frames after recovery');
    assert.equal(after.length, 10);
    assert.notEqual(source.pid, pid, 'a new ffmpeg');
    await c.close();
  } finally {
    await server.close();
  }
});

test('passthrough through the server: a client at the source size gets the file JPEG bytes untouched', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const dir = await mkdtemp(join(tmpdir(), 'fw-pass-'));
  try {
    const clip = join(dir, 'clip.avi');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2', '-c:v', 'mjpeg', '-q:v', '5', clip]);
    assert.equal(made.status, 0, String(made.stderr));
    const extracted = spawnSync('ffmpeg', ['-v', 'error', '-i', clip, '-c:v', 'copy', '-f', 'mjpeg', '-'], { maxBuffer: 64 << 20 });
    const fileBytes = extracted.stdout as Buffer;
    const source = createSource(parseSourceSpec(`file:${clip}`), { width: 320, height: 240, fps: 30 }, { loop: true });
    const server = await startTestServer({ defaults: { width: 320, height: 240, fps: 30, quality: 75 } }, { source });
    try {
      const exact = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 240 });
      const scaled = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 120 });
      const [a, b] = await within(Promise.all([take(exact, 10), take(scaled, 5)]), 15_000, 'frames');
      for (const f of a) assert.ok(fileBytes.includes(Buffer.from(f.jpeg)), `frame ${f.seq} is byte-identical to a JPEG in the file`);
      for (const f of b) assert.ok(!fileBytes.includes(Buffer.from(f.jpeg)) && f.width === 160, 'other sizes are re-encoded');
      const stats = server.hub.profileStats();
      assert.ok(stats.find((s) => s.width === 320)!.passedThrough >= 10);
      assert.equal(stats.find((s) => s.width === 320)!.encoded, 0, 'no encode for the passthrough profile');
      await Promise.all([exact.close(), scaled.close()]);
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGINT to serve releases the source: no orphan ffmpeg process', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const p = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--source', 'ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30', '--width', '320', '--height', '240']);
  try {
    await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const children = spawnSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    assert.ok(children.length >= 1, `serve runs ffmpeg as its child; stderr: ${p.stderr()}`);
    p.child.kill('SIGINT');
    assert.equal(await within(p.exited, 15_000, 'serve exit'), 0, `exit status; stderr: ${p.stderr()}`);
    for (const pid of children) assert.equal(alive(pid), false, `ffmpeg ${pid} is gone`);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('with passthrough off, a client at the source size gets a re-encode at its asked quality', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const source = createSource(parseSourceSpec('ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30 -c:v mjpeg'), { width: 320, height: 240, fps: 30 }, {});
  const server = await startTestServer({ passthrough: false, defaults: { width: 320, height: 240, fps: 30, quality: 75 } }, { source });
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 240, quality: 30 });
    await within(take(c, 5), 10_000, 'frames');
    const p = server.hub.profileStats().find((s) => s.width === 320)!;
    assert.equal(p.passedThrough, 0);
    assert.ok(p.encoded >= 5);
    await c.close();
  } finally {
    await server.close();
  }
});

test('url: source: an MJPEG HTTP stream (here another framewire, like an IP camera) is relayed byte for byte', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const camera = await startTestServer({ httpPort: 0, defaults: { width: 320, height: 240, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
  try {
    const url = `http://127.0.0.1:${camera.extras[0]!.port}/stream.mjpg`;
    const source = createSource(parseSourceSpec(`url:${url}`), { width: 320, height: 240, fps: 30 }, {});
    const relay = await startTestServer({ defaults: { width: 320, height: 240, fps: 30, quality: 70 } }, { source });
    try {
      const direct = await connect(`tcp://127.0.0.1:${camera.tcp.port}`, { width: 320, height: 240, quality: 70 });
      const viaRelay = await connect(`tcp://127.0.0.1:${relay.tcp.port}`, { width: 320, height: 240 });
      const [a, b] = await within(Promise.all([take(direct, 60), take(viaRelay, 10)]), 20_000, 'frames from both');
      // The relay forwards the upstream JPEGs untouched: each of its frames is one the camera sent.
      const upstream = new Set(a.map((f) => Buffer.from(f.jpeg).toString('base64')));
      const matched = b.filter((f) => upstream.has(Buffer.from(f.jpeg).toString('base64'))).length;
      assert.ok(matched >= 5, `${matched} of 10 relayed frames are byte-identical to upstream frames`);
      assert.ok(relay.hub.profileStats()[0]!.passedThrough >= 10);
      await Promise.all([direct.close(), viaRelay.close()]);
    } finally {
      await relay.close();
    }
  } finally {
    await camera.close();
  }
});

test('url: an MJPEG stream at 15 fps (ffmpeg guesses 25) is measured: reported and granted as 15, and delivered at 15', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const camera = await startTestServer({ httpPort: 0, defaults: { width: 320, height: 240, fps: 15, quality: 70 } }, { extras: [httpTransport()] });
  try {
    const url = `http://127.0.0.1:${camera.extras[0]!.port}/stream.mjpg`;
    const source = createSource(parseSourceSpec(`url:${url}`), { width: 320, height: 240, fps: 30 }, {});
    const relay = await startTestServer({ defaults: { width: 320, height: 240, fps: 30, quality: 70 } }, { source });
    try {
      assert.equal(relay.hub.source.info.fps, 15, 'the source reports the rate it really delivers');
      const asking30 = await connect(`tcp://127.0.0.1:${relay.tcp.port}`, { fps: 30 });
      const asDefault = await connect(`tcp://127.0.0.1:${relay.tcp.port}`);
      assert.equal(asking30.accepted.fps, 15, 'ACCEPT never grants more than the source delivers');
      assert.equal(asDefault.accepted.fps, 15);
      await take(asking30, 1);
      const t0 = performance.now();
      await within(take(asking30, 30), 15_000, '30 frames');
      const got = 30 / ((performance.now() - t0) / 1000);
      assert.ok(got > 12 && got < 18, `delivered ${got.toFixed(1)} fps, as granted`);
      await Promise.all([asking30.close(), asDefault.close()]);
    } finally {
      await relay.close();
    }
  } finally {
    await camera.close();
  }
});
