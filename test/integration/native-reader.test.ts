/**
 * The bench's native reader (bench/native-reader/reader.c) against a real server: it must speak each format
 * well enough that the server keeps streaming to it (framewire/1: an ACK for every frame, or the window of 2
 * stops the server), and count frames by parsing them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { nativeReader } from '../../bench/lib/native-reader.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { TestPatternSource } from '../../src/sources/testpattern.js';
import type { ServerConfig } from '../../src/server/config.js';
import { testConfig, waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

interface ReaderResult {
  event: string;
  clients: number;
  connected: number;
  failedAtEnd: number;
  firstFailure: string | null;
  frames: number;
  bytes: number;
  fps: { min: number; median: number };
  latencyMs: { n: number; p50: number; p99: number } | null;
  h264: { keyframes: number; catchup: number; skipped: number } | null;
}

function runReader(args: string[]): Promise<ReaderResult> {
  return within(
    new Promise<ReaderResult>((resolve, reject) => {
      const c = spawn(nativeReader(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.once('exit', (code) => {
        const line = out.split('\n').find((l) => l.includes('"event":"result"'));
        if (code !== 0 || !line) return reject(new Error(`reader exited ${code}: ${err}${out}`));
        resolve(JSON.parse(line) as ReaderResult);
      });
    }),
    20_000,
    'the reader',
  );
}

async function withServer(fn: (s: RunningServer) => Promise<void>, overrides: Partial<ServerConfig> = {}): Promise<void> {
  const config = testConfig({ httpPort: 0, ...overrides });
  const server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

const common = ['--clients', '3', '--warmup', '0.5', '--duration', '2'];

test('framewire/1: the reader acknowledges every frame, so the server streams past its window, and reads capture-time latency', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc')) return;
  await withServer(async (server) => {
    const r = await runReader(['--mode', 'fw', '--port', String(server.tcp.port), '--latency', 'first', ...common]);
    assert.equal(r.connected, 3, r.firstFailure ?? '');
    assert.equal(r.failedAtEnd, 0, r.firstFailure ?? '');
    // Without ACKs the server would stop after 2 frames per client; 2 s at 30 fps is ~60.
    assert.ok(r.frames >= 3 * 30, `${r.frames} frames for 3 clients in 2 s`);
    assert.ok(r.latencyMs && r.latencyMs.n >= 30 && r.latencyMs.p50 > 0 && r.latencyMs.p50 < 1000, JSON.stringify(r.latencyMs));
    const sent = server.registry.list().map((c) => c.sent);
    assert.ok(sent.every((n) => n > 2), `every client was sent more than its window: ${sent.join(', ')}`);
  });
});

test('framewire/1 with --codec h264: the reader offers H.264, is granted it and acknowledges every access unit', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc')) return;
  if (!requireTool(t, 'ffmpeg', ['-version'])) return;
  await withServer(
    async (server) => {
      const run = runReader(['--mode', 'fw', '--port', String(server.tcp.port), '--codec', 'h264', ...common]);
      // Without the offer the server would grant JPEG: the H.264 profile exists only for clients that offered it.
      const onlyH264 = (): boolean => {
        const ps = server.hub.profileStats();
        return ps.length === 1 && ps[0]!.key.includes('h264') && ps[0]!.subscribers === 3;
      };
      await waitUntil(onlyH264, 15_000, 'one H.264 profile, three subscribers, no JPEG one');
      const r = await run;
      assert.equal(r.connected, 3, r.firstFailure ?? '');
      assert.equal(r.failedAtEnd, 0, r.firstFailure ?? '');
      assert.ok(r.frames >= 3 * 30, `${r.frames} access units for 3 clients in 2 s`);
    },
    { codec: 'h264' },
  );
});

test("the tutorial format: the reader's hello is accepted and whole frames are counted", { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc')) return;
  await withServer(async (server) => {
    const r = await runReader(['--mode', 'seed', '--port', String(server.tcp.port), '--width', '640', '--height', '360', '--fps', '30', ...common]);
    assert.equal(r.connected, 3, r.firstFailure ?? '');
    assert.equal(r.failedAtEnd, 0, r.firstFailure ?? '');
    assert.ok(r.frames >= 3 * 30, `${r.frames} frames`);
    // Frames are counted by their headers: the bytes are frames × (8-byte header + JPEG), JPEGs of some KB.
    const perFrame = r.bytes / r.frames;
    assert.ok(perFrame > 1000 && perFrame < 1_000_000, `${perFrame.toFixed(0)} bytes per frame`);
  });
});

test('MJPEG over HTTP: the reader parses the multipart parts and their X-Timestamp-Us', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc')) return;
  await withServer(async (server) => {
    const r = await runReader(['--mode', 'mjpeg', '--port', String(server.extras[0]!.port), '--latency', 'first', ...common]);
    assert.equal(r.connected, 3, r.firstFailure ?? '');
    assert.equal(r.failedAtEnd, 0, r.firstFailure ?? '');
    assert.ok(r.frames >= 3 * 30, `${r.frames} frames`);
    assert.ok(r.latencyMs && r.latencyMs.n >= 30 && r.latencyMs.p50 < 1000, JSON.stringify(r.latencyMs));
  });
});

test('framewire/1 with --codec h264: keyframes are counted from the FRAME flags', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc') || !requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  await withServer(
    async (server) => {
      const r = await runReader(['--mode', 'fw', '--codec', 'h264', '--port', String(server.tcp.port), '--clients', '3', '--warmup', '0.5', '--duration', '2.5']);
      assert.equal(r.connected, 3, r.firstFailure ?? '');
      assert.equal(r.failedAtEnd, 0, r.firstFailure ?? '');
      assert.ok(r.frames >= 3 * 30, `${r.frames} frames`);
      // GOP of 1 s at 30 fps: every client sees at least two keyframes in 2.5 s.
      assert.ok(r.h264 && r.h264.keyframes >= 3 * 2 && r.h264.keyframes < r.frames, JSON.stringify(r.h264));
      // H.264 access units of a 640x360 test pattern at 2 Mbit/s: far smaller than its JPEGs.
      assert.ok(r.bytes / r.frames < 30_000, `${(r.bytes / r.frames).toFixed(0)} bytes per frame`);
    },
    { codec: 'h264', gop: 1, h264Encoder: 'libx264' },
  );
});

test('framewire/1 with --codec h264: a server that grants JPEG fails every client', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'cc', ['--version'], 'apt-get install gcc')) return;
  await withServer(async (server) => {
    const r = await runReader(['--mode', 'fw', '--codec', 'h264', '--port', String(server.tcp.port), '--clients', '2', '--warmup', '0', '--duration', '0.5', '--connect-timeout', '3']);
    assert.equal(r.connected, 0);
    assert.equal(r.failedAtEnd, 2);
    assert.match(r.firstFailure ?? '', /granted codec 1, not H\.264/);
    assert.equal(r.frames, 0);
  });
});
