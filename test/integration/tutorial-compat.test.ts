/**
 * The tutorial's own Python programs (test/tutorial/server.py, client.py — its code, unmodified) against
 * framewire, both ways, run through test/tutorial/run_tutorial.py (Windows struct sizes, a video file for
 * the camera, imshow/waitKey that count frames). See docs/tutorial-compat.md.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { connect, type FramewireClient, type Frame } from '../../src/client/client.js';
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { TestPatternSource } from '../../src/sources/testpattern.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import type { Logger } from '../../src/log.js';
import { rawConnect, readUntilClose, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const PY = '/usr/bin/python3'; // Debian's python3-opencv; the python3 on PATH may lack cv2
const FFMPEG = '/usr/bin/ffmpeg';
const HARNESS = 'test/tutorial/run_tutorial.py';
const QUALITY = 80;

function needPython(t: TestContext): boolean {
  return requireTool(t, PY, ['-c', 'import cv2, numpy'], 'apt-get install python3-opencv');
}

// ── a logger the tests can wait on ────────────────────────────────────────────────────────────────

class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  private add(l: string): void {
    this.lines.push(l);
    this.waiters = this.waiters.filter((w) => (w.re.test(l) ? (w.resolve(l), false) : true));
  }
  info = (m: string): void => this.add(m);
  warn = (m: string): void => this.add(m);
  error = (m: string): void => this.add(m);
  /** Resolve with the first line (already logged or future) matching re. */
  waitFor(re: RegExp, ms: number): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return within(new Promise<string>((resolve) => this.waiters.push({ re, resolve })), ms, `log line ${re}`);
  }
}

async function startFramewire(log: Logger, overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const config: ServerConfig = Object.freeze({
    ...DEFAULT_SERVER_CONFIG,
    host: '127.0.0.1',
    port: 0,
    httpPort: null,
    defaults: { width: 640, height: 480, fps: 30, quality: QUALITY },
    log,
    allowWeakToken: true,
    ...overrides,
  });
  return startServer(config, new TestPatternSource(config.defaults));
}

// ── child processes (ours, ended by their own handle) ─────────────────────────────────────────────

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess, ms: number, what: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return within(done, ms, what).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\nstdout: ${stdout}\nstderr: ${stderr.slice(-2000)}`);
  });
}

function run(cmd: string, args: string[], ms: number): Promise<Run> {
  return collect(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }), ms, `${cmd} ${args.join(' ')}`);
}

/** The last stdout line as JSON (the tutorial's client prints "IP is …" before the harness's summary). */
function lastJson(r: Run): Record<string, unknown> {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON summary (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-2000)}`);
  }
}

function tutorialClient(port: number, extra: string[], ms = 30_000): Promise<Run> {
  return run(PY, [HARNESS, 'client', '--port', String(port), '--timeout', String(ms / 1000 - 2), ...extra], ms);
}

/** Start the tutorial's server on a free port; resolves once it printed that it listens. */
async function tutorialServer(video: string): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void> }> {
  const child = spawn(PY, [HARNESS, 'server', '--video', video, '--port', '0', '--timeout', '120'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(exited, 5000, 'tutorial server to exit').catch(() => child.kill('SIGKILL'));
  };
  try {
    const port = await within(
      new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /"event": "listening".*"port": (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('close', (code) => reject(new Error(`tutorial server exited (${code}) before listening: ${stderr}`)));
      }),
      15_000,
      'the tutorial server to listen',
    );
    return { child, port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function take(client: FramewireClient, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of client) {
    out.push(f);
    if (out.length >= n) break;
  }
  return out;
}

// ── JPEG quality from the quantisation table ─────────────────────────────────────────────────────

/** Annex K luminance table; libjpeg (sharp's and OpenCV's) scales it by the quality setting. */
const STD_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37,
  56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

function lumaTable(jpeg: Uint8Array): number[] {
  let i = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1]!;
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (marker === 0xdb) {
      for (let p = i + 4; p < i + 2 + len; ) {
        const pq = jpeg[p]! >> 4;
        const tq = jpeg[p]! & 15;
        const vals = Array.from({ length: 64 }, (_, k) => (pq ? (jpeg[p + 1 + 2 * k]! << 8) | jpeg[p + 2 + 2 * k]! : jpeg[p + 1 + k]!));
        if (tq === 0) return vals;
        p += 1 + 64 * (pq ? 2 : 1);
      }
    }
    if (marker === 0xda) break;
    i += 2 + len;
  }
  throw new Error('no luminance quantisation table');
}

/** The libjpeg quality (1..100) whose luminance table this JPEG carries (order-independent match). */
function jpegQuality(jpeg: Uint8Array): number {
  const got = lumaTable(jpeg).sort((a, b) => a - b);
  let best = { q: 0, err: Infinity };
  for (let q = 1; q <= 100; q++) {
    const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
    const want = STD_LUMA.map((b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100)))).sort((a, b) => a - b);
    const err = want.reduce((s, w, k) => s + Math.abs(w - got[k]!), 0);
    if (err < best.err) best = { q, err };
  }
  assert.equal(best.err, 0, `quantisation table matches no libjpeg quality exactly (nearest q${best.q})`);
  return best.q;
}

// ── 1. the tutorial's client watches framewire ────────────────────────────────────────────────────

test("the tutorial's unmodified Python client watches a framewire server", async (t) => {
  if (!needPython(t)) return;
  const log = new CaptureLogger();
  const server = await startFramewire(log);
  const dir = await mkdtemp(join(tmpdir(), 'fw-tutorial-'));
  try {
    const port = server.tcp.port;
    // Two at once: the tutorial's default 640×480@15, and one whose user edited self.resolution.
    const big = tutorialClient(port, ['--frames', '20', '--save-jpeg', join(dir, 'big.jpg'), '--save-png', join(dir, 'big.png')]);
    const small = tutorialClient(port, ['--frames', '20', '--resolution', '320x240', '--save-jpeg', join(dir, 'small.jpg')]);

    // While they are connected, framewire lists them as tutorial clients with what they negotiated.
    await log.waitFor(/tutorial client .* streaming 640x480@15 q80/, 20_000);
    await log.waitFor(/tutorial client .* streaming 320x240@15 q80/, 20_000);
    const listed = server.registry
      .list()
      .filter((c) => c.protocol === 'tutorial')
      .map((c) => ({ width: c.width, height: c.height, fps: c.fps, quality: c.quality }))
      .sort((a, b) => b.width! - a.width!);
    assert.deepEqual(listed, [
      { width: 640, height: 480, fps: 15, quality: QUALITY },
      { width: 320, height: 240, fps: 15, quality: QUALITY },
    ]);

    const [bigRun, smallRun] = await Promise.all([big, small]);
    const b = lastJson(bigRun);
    const s = lastJson(smallRun);
    assert.equal(bigRun.code, 0, bigRun.stderr.slice(-2000));
    assert.equal(smallRun.code, 0, smallRun.stderr.slice(-2000));
    assert.ok((b.frames as number) >= 20, `default client showed ${String(b.frames)} frames`);
    assert.deepEqual([b.height, b.width, b.channels], [480, 640, 3], 'decoded images are 480×640×3');
    assert.ok((s.frames as number) >= 20, `320×240 client showed ${String(s.frames)} frames`);
    assert.deepEqual([s.height, s.width, s.channels], [240, 320, 3], 'the edited resolution is honoured');
    assert.equal(b.thread_error, null);

    // The JPEG bytes the tutorial client received carry the server's quality, not its frame rate (15).
    const bigJpeg = await readFile(join(dir, 'big.jpg'));
    const smallJpeg = await readFile(join(dir, 'small.jpg'));
    assert.equal(jpegQuality(bigJpeg), QUALITY);
    assert.equal(jpegQuality(smallJpeg), QUALITY);
    const meta = await sharp(bigJpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 480]);
    const png = await sharp(join(dir, 'big.png')).metadata();
    assert.deepEqual([png.width, png.height, png.channels], [640, 480, 3], 'the last image shown, as written by the harness');
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// ── 2. framewire views the tutorial's server ──────────────────────────────────────────────────────

test("framewire's client and CLI view the tutorial's unmodified Python server", async (t) => {
  if (!needPython(t)) return;
  if (!requireTool(t, FFMPEG, ['-version'], 'apt-get install ffmpeg')) return;
  const dir = await mkdtemp(join(tmpdir(), 'fw-tutorial-'));
  const video = join(dir, 'clip.avi');
  let tutorial: Awaited<ReturnType<typeof tutorialServer>> | null = null;
  try {
    const made = await run(
      FFMPEG,
      ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=15', '-t', '3', '-c:v', 'mjpeg', '-q:v', '5', video],
      30_000,
    );
    assert.equal(made.code, 0, made.stderr);
    tutorial = await tutorialServer(video);

    const client = await connect(`seed://127.0.0.1:${tutorial.port}`, { width: 320, height: 240, fps: 15, connectTimeoutMs: 5000 });
    const frames = await within(take(client, 10), 20_000, '10 frames from the tutorial server');
    await client.close();
    assert.equal(frames.length, 10);
    for (const f of frames) {
      assert.deepEqual([f.width, f.height], [320, 240], 'the header carries the negotiated size');
      const meta = await sharp(f.jpeg).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 320, 240], 'a valid 320×240 JPEG');
    }
    // The tutorial passes its frame rate as the JPEG quality: these frames are quality 15.
    assert.equal(jpegQuality(frames[0]!.jpeg), 15);

    // The CLI form.
    assert.ok(existsSync('src/cli/main.ts'), 'src/cli/main.ts exists');
    const cli = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'view', `seed://127.0.0.1:${tutorial.port}`, '--frames', '10', '--json', '--display', 'none'],
      60_000,
    );
    assert.equal(cli.code, 0, cli.stderr);
    const summary = lastJson(cli);
    assert.ok((summary.frames as number) >= 10, `framewire view saw ${String(summary.frames)} frames`);
  } finally {
    await tutorial?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

// ── 3. the 64-bit Linux layout is refused clearly ─────────────────────────────────────────────────

test("the tutorial's hello as packed on 64-bit Linux (12 bytes) is refused with E_BAD_PARAMS, and serving goes on", async (t) => {
  const log = new CaptureLogger();
  const server = await startFramewire(log);
  try {
    const port = server.tcp.port;
    // struct.pack('lhh', 888 + 15, 640, 480) on 64-bit Linux: int64 then two int16, 12 bytes.
    const linux = Buffer.alloc(12);
    linux.writeBigInt64LE(903n, 0);
    linux.writeInt16LE(640, 8);
    linux.writeInt16LE(480, 10);
    assert.equal(linux.toString('hex'), '87030000' + '00000000' + '8002' + 'e001');
    const s = await rawConnect(port);
    const closed = readUntilClose(s, 3000);
    s.write(linux);
    // framewire reads the first 8 bytes as Windows' 'lhh': 903 (a valid 888 + 15), then 0 × 0.
    const got = await closed;
    assert.equal(got.length, 0, 'the tutorial format has no error message: just a close');
    const line = await log.waitFor(/E_BAD_PARAMS: tutorial client/, 2000);
    assert.match(line, /0x0/);
    assert.equal(server.registry.size, 0);

    // The tutorial's real client, run natively on 64-bit Linux (no Windows emulation), meets the same.
    if (needPython(t)) {
      const native = await tutorialClient(port, ['--frames', '5', '--native-struct'], 20_000);
      const j = lastJson(native);
      assert.equal(native.code, 1);
      assert.equal(j.frames, 0);
      assert.ok(typeof j.thread_error === 'string', 'the tutorial thread died: it never expects a close');
      assert.equal(log.lines.filter((l) => /E_BAD_PARAMS: tutorial client/.test(l)).length, 2);
    }

    // A well-formed tutorial client (framewire's own seed:// client) is still served.
    const c = await connect(`seed://127.0.0.1:${port}`, { width: 320, height: 240, fps: 15 });
    const frames = await within(take(c, 3), 10_000, 'frames after the refusal');
    assert.ok(frames.every((f) => f.width === 320 && f.height === 240));
    await c.close();
  } finally {
    await server.close();
  }
});

// ── 4. garbage on the port ────────────────────────────────────────────────────────────────────────

test('garbage and HTTP on the TCP port get an answer and a close; tutorial clients keep streaming', async () => {
  const log = new CaptureLogger();
  const server = await startFramewire(log);
  try {
    const port = server.tcp.port;
    const viewer = await connect(`seed://127.0.0.1:${port}`, { width: 320, height: 240, fps: 30 });
    const it = viewer[Symbol.asyncIterator]();
    const next = async (): Promise<Frame> => {
      const r = await within(it.next(), 5000, 'a frame for the streaming tutorial client');
      assert.ok(!r.done, 'stream still open');
      return r.value;
    };
    const before = await next();

    // Random bytes: byte 3 is 0xff so they are neither framewire/1 (01 00 00 00), 888 + fps, nor HTTP.
    for (let i = 0; i < 5; i++) {
      const junk = randomBytes(64);
      junk[3] = 0xff;
      const s = await rawConnect(port);
      const closed = readUntilClose(s, 3000);
      s.write(junk);
      const answer = await closed;
      const { messages } = new MessageDecoder().push(answer);
      assert.equal(messages[0]?.type, 'reject', `junk ${junk.subarray(0, 8).toString('hex')} gets a framewire reject`);
      assert.equal((messages[0] as { code: string }).code, 'E_BAD_MAGIC');
    }

    // A browser or curl on the wrong port.
    const h = await rawConnect(port);
    const httpClosed = readUntilClose(h, 3000);
    h.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const http = (await httpClosed).toString();
    assert.match(http, /^HTTP\/1\.1 400 /);
    assert.match(http, /framewire's TCP port/);

    // The streaming client never noticed.
    const after = [await next(), await next(), await next()];
    assert.ok(after.every((f) => f.seq > before.seq && f.width === 320));
    assert.equal(server.registry.list().filter((c) => c.protocol === 'tutorial').length, 1);
    assert.equal(viewer.stats.reconnects, 0);
    await viewer.close();
  } finally {
    await server.close();
  }
});

// ── 5. tokens: tutorial clients cannot send one ───────────────────────────────────────────────────

test('with --token, tutorial clients are refused unless --allow-seed-clients', async () => {
  const hello = Buffer.from('87030000' + '4001' + 'f000', 'hex'); // '<ihh' 903, 320, 240
  const log = new CaptureLogger();
  const strict = await startFramewire(log, { token: 'secret' });
  try {
    const s = await rawConnect(strict.tcp.port);
    const closed = readUntilClose(s, 3000);
    s.write(hello);
    assert.equal((await closed).length, 0, 'closed without a frame');
    await log.waitFor(/E_AUTH: tutorial client/, 2000);
    assert.equal(strict.registry.size, 0);
  } finally {
    await strict.close();
  }
  const open = await startFramewire(new CaptureLogger(), { token: 'secret', allowSeedClients: true });
  try {
    const c = await connect(`seed://127.0.0.1:${open.tcp.port}`, { width: 320, height: 240, fps: 15 });
    const frames = await within(take(c, 3), 10_000, 'frames with --allow-seed-clients');
    assert.ok(frames.every((f) => f.width === 320 && f.height === 240));
    await c.close();
  } finally {
    await open.close();
  }
});

// Regression: once the first 4 bytes said "tutorial" (888 + fps), a hello cut short at 4..7 bytes used to hold
// the socket open forever (slow-loris); TutorialSession now has its own handshake timeout.
test('a tutorial hello cut short, then silence, is closed by the handshake timeout', async () => {
  const server = await startFramewire(new CaptureLogger(), { handshakeTimeoutMs: 300 });
  try {
    for (const bytes of [[0x87, 0x03, 0x00], [0x87, 0x03, 0x00, 0x00], [0x87, 0x03, 0x00, 0x00, 0x80, 0x02, 0xe0]]) {
      const s = await rawConnect(server.tcp.port);
      const closed = readUntilClose(s, 3000);
      s.write(Buffer.from(bytes));
      assert.equal((await closed).length, 0, `closed after ${bytes.length} bytes of hello`);
    }
  } finally {
    await server.close();
  }
});
