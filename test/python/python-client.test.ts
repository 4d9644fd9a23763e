/**
 * The Python package (python/, `import framewire`) installed the way a user installs it, then driven against
 * real servers on loopback: test/python/probe.py does what a vision program does and reports measurements as
 * JSON; the assertions are here. Debian's /usr/bin/python3 with python3-numpy and python3-opencv; the package
 * goes into a fresh venv with `pip install --no-build-isolation --no-index ./python`, so nothing is downloaded.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '../../src/client/client.js';
import { summarise } from '../../src/cli/view.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeFrameHeader, encodeMessage } from '../../src/protocol/encode.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import { take } from '../helpers/client.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const PY = '/usr/bin/python3'; // Debian's python3-opencv; a python3 earlier on PATH may lack cv2
const ROOT = resolve(import.meta.dirname, '..', '..');
const PACKAGE = join(ROOT, 'python');
const PROBE = join(ROOT, 'test', 'python', 'probe.py');
const UNITTEST_JSON = join(ROOT, 'test', 'python', 'unittest_json.py');
const DEBIAN = 'apt-get install python3-opencv python3-numpy python3-venv python3-pip python3-setuptools python3-wheel';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function spawnPy(cmd: string, args: string[], cwd = tmpdir()): ChildProcess {
  // cwd outside the clone, and no PYTHONPATH: `import framewire` can only find the installed package.
  const env = { ...process.env, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}

function collect(child: ChildProcess, ms: number, what: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Run>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
  });
  return within(done, ms, what).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`);
  });
}

function run(cmd: string, args: string[], ms: number, cwd?: string): Promise<Run> {
  return collect(spawnPy(cmd, args, cwd), ms, `${cmd} ${args.join(' ')}`);
}

function lastJson<T = Record<string, unknown>>(r: Run): T {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`no JSON result (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-3000)}`);
  }
}

// ── the install, once for the whole file ──────────────────────────────────────────────────────────

interface Venv {
  python: string;
  install: Run;
}

let venvDir: string | null = null;
let venvPromise: Promise<Venv> | null = null;
after(async () => {
  if (venvDir) await rm(venvDir, { recursive: true, force: true });
});

function venv(): Promise<Venv> {
  venvPromise ??= (async () => {
    venvDir = await mkdtemp(join(tmpdir(), 'fw-pyvenv-'));
    // --system-site-packages: numpy and cv2 come from Debian, as the package's README says.
    const made = await run(PY, ['-m', 'venv', '--system-site-packages', venvDir], 60_000);
    assert.equal(made.code, 0, `venv: ${made.stderr}`);
    const install = await run(join(venvDir, 'bin', 'pip'), ['install', '--no-build-isolation', '--no-index', '--no-cache-dir', PACKAGE], 120_000);
    return { python: join(venvDir, 'bin', 'python'), install };
  })();
  return venvPromise;
}

function needPython(t: TestContext): boolean {
  return requireTool(t, PY, ['-c', 'import cv2, numpy, ensurepip, setuptools, wheel'], DEBIAN);
}

async function probe<T = Record<string, unknown>>(args: string[], ms = 30_000): Promise<T> {
  const { python } = await venv();
  return lastJson<T>(await run(python, [PROBE, ...args], ms));
}

interface Stats {
  frames: number;
  fps: number;
  dropped: number;
  decode_errors: number;
  reconnects: number;
  width: number;
  height: number;
  latency_ms: { p50: number; p95: number; p99: number } | null;
}
interface Failure {
  error?: { code: string; message: string };
}

// ── install and unit tests ────────────────────────────────────────────────────────────────────────

test('pip installs the package from the clone without downloading anything; it imports from the venv, typed', { timeout: 180_000 }, async (t) => {
  if (!needPython(t)) return;
  const { python, install } = await venv();
  assert.equal(install.code, 0, `pip install failed:\n${install.stdout}\n${install.stderr}`);
  assert.match(install.stdout, /Successfully installed framewire-1\.\d+\.\d+/);
  const r = await run(python, ['-c', 'import framewire, json, os; print(json.dumps([framewire.__file__, framewire.__version__, framewire.PROTOCOL_VERSION, os.path.exists(os.path.join(os.path.dirname(framewire.__file__), "py.typed"))]))'], 30_000);
  const [file, version, protocol, typed] = lastJson<[string, string, number, boolean]>(r);
  assert.ok(file.startsWith(venvDir!), `framewire imported from ${file}, not from the venv`);
  assert.ok(typed, 'py.typed is installed');
  assert.equal(protocol, PROTOCOL_VERSION, 'the Python package speaks the same protocol version as the server');
  assert.equal(Number(version.split('.')[0]), PROTOCOL_VERSION, `version ${version}: the major version is the protocol version`);
});

test("the Python codec passes the spec's test vectors (test/vectors) and the package's unit tests", { timeout: 120_000 }, async (t) => {
  if (!needPython(t)) return;
  const { python } = await venv();
  const r = await run(python, [UNITTEST_JSON, join(PACKAGE, 'tests')], 90_000);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { test?: string; outcome?: string; detail?: string; summary?: { run: number; ok: boolean }; framewire?: string });
  const results = lines.filter((l) => l.test);
  const end = lines.at(-1)!;
  assert.ok(end.framewire?.startsWith(venvDir!), `tests imported framewire from ${end.framewire}`);
  for (const res of results) {
    await t.test(res.test!, () => {
      assert.equal(res.outcome, 'ok', res.detail);
    });
  }
  assert.ok(results.filter((x) => x.test!.startsWith('test_protocol.')).length >= 10, 'the vector tests ran');
  assert.equal(end.summary?.run, results.length);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
});

test('the package type-checks with mypy --strict for Python 3.9', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, PY, ['-m', 'mypy', '--version'], 'apt-get install python3-mypy')) return;
  const r = await run(PY, ['-m', 'mypy', '--config-file', join(PACKAGE, 'pyproject.toml'), join(PACKAGE, 'framewire')], 170_000, ROOT);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

// ── against the real server ───────────────────────────────────────────────────────────────────────

interface StreamResult extends Failure {
  frames: number;
  elapsed: number;
  read_shape: number[];
  shapes: number[][];
  sizes: number[][];
  seqs_increasing: boolean;
  with_latency: number;
  accepted: { width: number; height: number; fps: number; window: number; codec: number };
  stats: Stats;
}

test('300 frames at two profiles at once: numpy BGR images of the asked size, at the asked rate', { timeout: 90_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  const server = await startTestServer({ defaults: { width: 640, height: 360, fps: 30, quality: 75 } });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const profiles = [
      { width: 640, height: 360, fps: 30 },
      { width: 320, height: 180, fps: 15 },
    ];
    const results = await Promise.all(
      profiles.map((p) =>
        probe<StreamResult>(['stream', url, '--width', String(p.width), '--height', String(p.height), '--fps', String(p.fps), '--frames', '300', '--timeout', '60'], 80_000),
      ),
    );
    results.forEach((r, i) => {
      const p = profiles[i]!;
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.frames, 300);
      assert.deepEqual(r.shapes, [[p.height, p.width, 3]], 'every frame decodes to (height, width, 3)');
      assert.deepEqual(r.sizes, [[p.width, p.height]]);
      assert.deepEqual(r.read_shape, [p.height, p.width, 3], 'read() gives the image like cv2.VideoCapture.read()');
      assert.deepEqual([r.accepted.width, r.accepted.height, r.accepted.fps, r.accepted.codec], [p.width, p.height, p.fps, 1]);
      assert.ok(r.seqs_increasing, 'newest first, never an older frame after a newer one');
      assert.ok(r.with_latency >= 295, `${r.with_latency} frames with a latency figure`);
      assert.equal(r.stats.decode_errors, 0);
      // Paced by the server at the asked rate: never faster, and not much slower on a busy machine.
      const fps = r.frames / r.elapsed;
      assert.ok(fps <= p.fps * 1.1, `${fps.toFixed(1)} fps for ${p.fps} asked`);
      assert.ok(fps >= p.fps * 0.7, `${fps.toFixed(1)} fps for ${p.fps} asked`);
      assert.ok(r.stats.latency_ms !== null && r.stats.latency_ms.p50 < 50, JSON.stringify(r.stats.latency_ms));
    });
  } finally {
    await server.close();
  }
});

interface SlowResult extends Failure {
  ages_ms: number[];
  age_p50_ms: number;
  age_max_ms: number;
  accepted: { fps: number; window: number };
  stats: Stats;
}

test('a loop that sleeps 200 ms per frame gets frames no older than the window allows (measured age)', { timeout: 60_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  const server = await startTestServer({ defaults: { width: 640, height: 360, fps: 30, quality: 75 } });
  try {
    const iterations = 15;
    const sleepMs = 200;
    const r = await probe<SlowResult>(['slow', `tcp://127.0.0.1:${server.tcp.port}`, '--fps', '30', '--iterations', String(iterations), '--sleep', String(sleepMs / 1000)], 40_000);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.ages_ms.length, iterations);
    const interval = 1000 / r.accepted.fps;
    const allowed = r.accepted.window * interval; // 2 frames at 30 fps = 66.7 ms
    const ages = r.ages_ms.map((a) => a.toFixed(1)).join(', ');
    // Age = now − capture time (clock-offset corrected), taken when the loop gets the frame. A client that
    // queued frames, or read only when asked, would hand this loop frames ≥ 150 ms old on every turn.
    assert.ok(r.age_p50_ms <= allowed, `median age ${r.age_p50_ms.toFixed(1)} ms > ${allowed.toFixed(1)} ms: ${ages}`);
    assert.ok(r.age_max_ms < sleepMs, `oldest frame ${r.age_max_ms.toFixed(1)} ms: ${ages}`);
    // The reader kept reading at the stream's rate while the loop slept, replacing what the loop skipped.
    assert.ok(r.stats.dropped >= iterations * 3, `dropped ${r.stats.dropped}`);
  } finally {
    await server.close();
  }
});

test('renegotiate changes the size on the same connection', { timeout: 40_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  const server = await startTestServer();
  try {
    const r = await probe<{ before: number[][]; granted: number[]; after_shape: number[] | null; stats: Stats } & Failure>(['renegotiate', `tcp://127.0.0.1:${server.tcp.port}`]);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.before, [[320, 180], [320, 180], [320, 180]]);
    assert.deepEqual(r.granted, [640, 360]);
    assert.deepEqual(r.after_shape, [360, 640, 3]);
    assert.equal(r.stats.reconnects, 0);
  } finally {
    await server.close();
  }
});

test('a token is refused when wrong or missing (E_AUTH) and accepted when right', { timeout: 40_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  const server = await startTestServer({ token: 's3cret' });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const none = await probe<Failure>(['connect', url]);
    const wrong = await probe<Failure>(['connect', url, '--token', 'wrong']);
    const right = await probe<{ frames: number; shape: number[] } & Failure>(['connect', url, '--token', 's3cret', '--width', '160', '--height', '90']);
    assert.equal(none.error?.code, 'E_AUTH');
    assert.equal(wrong.error?.code, 'E_AUTH');
    assert.equal(right.error, undefined, JSON.stringify(right.error));
    assert.equal(right.frames, 3);
    assert.deepEqual(right.shape, [90, 160, 3]);
  } finally {
    await server.close();
  }
});

test('TLS: the pinned certificate streams; a wrong pin, no pin, or plain TCP are refused', { timeout: 60_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  const tls = await selfSignedTlsMaterial();
  const server = await startTestServer({ token: 'tok' }, { tcp: { tls: { cert: tls.cert, key: tls.key } } });
  try {
    const url = `tls://127.0.0.1:${server.tcp.port}`;
    const wrongPin = tls.fingerprint256.replace(/^../, tls.fingerprint256.startsWith('00') ? '11' : '00');
    const pinned = await probe<{ frames: number; shape: number[] } & Failure>(['connect', url, '--token', 'tok', '--tls-fingerprint', tls.fingerprint256, '--width', '160', '--height', '90']);
    const lowerCase = await probe<{ frames: number } & Failure>(['connect', url, '--token', 'tok', '--tls-fingerprint', tls.fingerprint256.toLowerCase().replace(/:/g, '')]);
    const mismatched = await probe<Failure>(['connect', url, '--token', 'tok', '--tls-fingerprint', wrongPin]);
    const unpinned = await probe<Failure>(['connect', url, '--token', 'tok']);
    const badToken = await probe<Failure>(['connect', url, '--token', 'bad', '--tls-fingerprint', tls.fingerprint256]);
    const plain = await probe<Failure>(['connect', `tcp://127.0.0.1:${server.tcp.port}`, '--token', 'tok']);
    assert.equal(pinned.error, undefined, JSON.stringify(pinned.error));
    assert.equal(pinned.frames, 3);
    assert.deepEqual(pinned.shape, [90, 160, 3]);
    assert.equal(lowerCase.error, undefined, 'a pin is compared without case or separators');
    assert.equal(mismatched.error?.code, 'E_TLS');
    assert.match(mismatched.error!.message, /does not match the pinned/);
    assert.equal(unpinned.error?.code, 'E_TLS', 'an unpinned self-signed certificate is refused');
    assert.equal(badToken.error?.code, 'E_AUTH', 'TLS does not replace the token');
    assert.ok(plain.error, 'plain TCP to a TLS port fails');
  } finally {
    await server.close();
  }
});

test('a reconnecting client rides out a server restart on the same port', { timeout: 60_000 }, async (t) => {
  if (!needPython(t)) return;
  const { python } = await venv();
  const first = await startTestServer();
  const port = first.tcp.port;
  let second: Awaited<ReturnType<typeof startTestServer>> | null = null;
  const child = spawnPy(python, [PROBE, 'restart', `tcp://127.0.0.1:${port}`, '--width', '160', '--height', '90', '--timeout', '20']);
  const result = collect(child, 40_000, 'restart probe');
  try {
    await within(
      new Promise<void>((res, rej) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('"event": "streaming"')) res();
        });
        child.once('close', () => rej(new Error(`probe exited before streaming: ${out}`)));
      }),
      20_000,
      'the Python client to stream',
    );
    await first.close();
    second = await startTestServer({ port });
    const r = lastJson<{ after: number[]; notes: string[]; stats: Stats } & Failure>(await result);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.after.length, 5, 'frames from the restarted server');
    assert.equal(r.stats.reconnects, 1);
    assert.ok(r.notes.some((n) => /reconnecting/.test(n)) && r.notes.includes('reconnected'), r.notes.join(' | '));
  } finally {
    await first.close();
    await second?.close();
  }
});

// ── a fake server: garbage in, a clear exception out, never a hang ─────────────────────────────────

const ACCEPT = encodeMessage({ type: 'accept', version: 1, width: 160, height: 90, fps: 30, quality: 80, codec: 1, window: 2, serverTimeUs: Date.now() * 1000, source: 'fake' });
const JPEG = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9);

function frameBytes(codec: number): Uint8Array {
  const head = encodeFrameHeader({ seq: 1, captureUs: Date.now() * 1000, width: 2, height: 1, codec: 1 }, JPEG.length);
  head[8 + 16] = codec; // encodeFrameHeader only writes valid codecs
  return new Uint8Array([...head, ...JPEG]);
}

/** What the fake server does with each connection, after the client's first bytes arrive. */
const FAKES: { name: string; send: (s: net.Socket) => void; phase: 'connect' | 'stream'; code: string; maxS: number }[] = [
  { name: 'an HTTP answer instead of ACCEPT', send: (s) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'), phase: 'connect', code: 'E_MALFORMED', maxS: 3 },
  { name: 'silence after the HELLO', send: () => {}, phase: 'connect', code: 'E_TIMEOUT', maxS: 4 },
  { name: 'a close after the HELLO', send: (s) => s.destroy(), phase: 'connect', code: 'E_CONNECT', maxS: 3 },
  { name: 'a FRAME before any ACCEPT', send: (s) => s.write(frameBytes(1)), phase: 'connect', code: 'E_UNEXPECTED', maxS: 3 },
  { name: 'ACCEPT, then an unknown message type', send: (s) => s.write(new Uint8Array([...ACCEPT, 5, 0, 0, 0, 0, 0, 0, 0])), phase: 'stream', code: 'E_MALFORMED', maxS: 3 },
  { name: 'ACCEPT, then a 16 MiB + 1 envelope', send: (s) => s.write(new Uint8Array([...ACCEPT, 0x10, 0, 0, 0, 1, 0, 0, 1])), phase: 'stream', code: 'E_TOO_LARGE', maxS: 3 },
  { name: 'ACCEPT, then a FRAME with codec 2', send: (s) => s.write(new Uint8Array([...ACCEPT, ...frameBytes(2)])), phase: 'stream', code: 'E_UNSUPPORTED', maxS: 3 },
  { name: 'ACCEPT, then silence', send: (s) => s.write(ACCEPT), phase: 'stream', code: 'E_TIMEOUT', maxS: 4 },
  { name: 'ACCEPT, then half a FRAME and silence', send: (s) => s.write(new Uint8Array([...ACCEPT, ...frameBytes(1).subarray(0, 20)])), phase: 'stream', code: 'E_TIMEOUT', maxS: 4 },
  { name: 'ACCEPT, then an ERROR', send: (s) => s.write(new Uint8Array([...ACCEPT, ...encodeMessage({ type: 'error', code: 'E_SOURCE', text: 'camera on fire' })])), phase: 'stream', code: 'E_SOURCE', maxS: 3 },
];

test('garbage from a fake server gives a clear exception with a code, never a hang', { timeout: 120_000 }, async (t) => {
  if (!needPython(t)) return;
  await venv();
  for (const fake of FAKES) {
    const received: Buffer[] = [];
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.once('data', () => fake.send(s));
      s.on('data', (c: Buffer) => received.push(c));
    });
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      // connect_timeout and idle_timeout of 1 s: every wait in the client is bounded by one of them.
      const r = await probe<{ phase: string; error?: { code: string; message: string }; elapsed_total: number }>(['garbage', `tcp://127.0.0.1:${port}`, '--connect-timeout', '1', '--idle-timeout', '1'], 20_000);
      assert.deepEqual([r.phase, r.error?.code], [fake.phase, fake.code], `${fake.name}: ${JSON.stringify(r)}`);
      assert.ok(r.error!.message.length > 0);
      assert.ok(r.elapsed_total < fake.maxS, `${fake.name}: took ${r.elapsed_total.toFixed(2)} s`);
      if (fake.code === 'E_MALFORMED' && fake.phase === 'stream') {
        // §4.5: the client tells the server why before it closes.
        const sentError = (): string | null => {
          const last = new MessageDecoder().push(Buffer.concat(received)).messages.at(-1);
          return last?.type === 'error' ? last.code : null;
        };
        await waitUntil(() => sentError() !== null, 5000, `${fake.name}: an ERROR from the client`);
        assert.equal(sentError(), 'E_MALFORMED');
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => srv.close(() => res()));
    }
  }
});

// ── python -m framewire view ──────────────────────────────────────────────────────────────────────

test("python -m framewire view --json prints the Node CLI's summary, field for field", { timeout: 60_000 }, async (t) => {
  if (!needPython(t)) return;
  const { python } = await venv();
  const server = await startTestServer();
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const r = await run(python, ['-m', 'framewire', 'view', url, '--frames', '30', '--json', '--display', 'none', '--width', '160', '--height', '90'], 40_000);
    assert.equal(r.code, 0, r.stderr);
    const py = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    const node = await connect(url, { width: 160, height: 90 });
    const started = performance.now();
    await take(node, 3);
    const reference = summarise(node, started) as unknown as Record<string, unknown>;
    await node.close();
    assert.deepEqual(Object.keys(py), Object.keys(reference), 'same fields, same order');
    for (const k of Object.keys(reference)) {
      if (reference[k] === null) continue;
      assert.equal(typeof py[k], typeof reference[k], k);
    }
    assert.deepEqual(Object.keys(py.latencyMs as object), ['p50', 'p95', 'p99']);
    assert.deepEqual([py.frames, py.width, py.height, py.decodeErrors], [30, 160, 90, 0]);
  } finally {
    await server.close();
  }
});

test('python -m framewire view: a clear error and exit 1 when nothing listens, or for a bad flag', { timeout: 30_000 }, async (t) => {
  if (!needPython(t)) return;
  const { python } = await venv();
  const closed = await new Promise<number>((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
  const r = await run(python, ['-m', 'framewire', 'view', `tcp://127.0.0.1:${closed}`, '--display', 'none'], 20_000);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^framewire: E_CONNECT: could not connect to 127\.0\.0\.1:\d+/);
  const bad = await run(python, ['-m', 'framewire', 'view', 'tcp://127.0.0.1:1', '--fps', 'fast'], 20_000);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^framewire: E_BAD_PARAMS: argument --fps: --fps must be an integer/);
});

/** An X server of our own on a free display (-displayfd: Xvfb picks the number and tells us). */
async function startXvfb(): Promise<{ display: string; stop: () => Promise<void> }> {
  const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '800x600x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  children.add(x);
  const exited = new Promise<void>((res) => x.once('close', () => res()));
  const stop = async (): Promise<void> => {
    x.kill('SIGTERM');
    await within(exited, 5000, 'Xvfb to exit').catch(() => x.kill('SIGKILL'));
    children.delete(x);
  };
  try {
    const n = await within(
      new Promise<string>((res, rej) => {
        let out = '';
        (x.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) res(out.trim());
        });
        x.once('close', (code) => rej(new Error(`Xvfb exited (${code})`)));
      }),
      15_000,
      'Xvfb to start',
    );
    return { display: `:${n}`, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

test('python -m framewire view: an OpenCV window with the picture and a status line; ESC quits', { timeout: 90_000 }, async (t) => {
  if (!needPython(t)) return;
  if (!requireTool(t, 'Xvfb', ['-help'], 'apt-get install xvfb') || !requireTool(t, 'xdotool', ['--version'], 'apt-get install xdotool')) return;
  if (!requireTool(t, 'ffmpeg', ['-hide_banner', '-h', 'demuxer=x11grab'], 'apt-get install ffmpeg')) return;
  const { python } = await venv();
  const server = await startTestServer();
  const x = await startXvfb();
  const env = { DISPLAY: x.display };
  const xdo = (args: string[]): Promise<Run> => collect(spawn('xdotool', args, { env: { ...process.env, ...env } }), 10_000, `xdotool ${args.join(' ')}`);
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const view = spawn(python, ['-m', 'framewire', 'view', url, '--width', '160', '--height', '90', '--json'], {
      cwd: tmpdir(),
      env: { ...process.env, ...env, PYTHONPATH: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(view);
    const result = collect(view, 60_000, 'view with a window');
    // The window exists from namedWindow(); it takes the picture's size (160x90 plus a 24-pixel status
    // bar, no toolbar) with the first frame shown.
    let id = '';
    let geometry = '';
    await waitUntil(
      async () => {
        id = (await xdo(['search', '--name', `^framewire ${url.replace(/\./g, '\\.')}$`])).stdout.trim().split('\n')[0] ?? '';
        geometry = id ? (await xdo(['getwindowgeometry', id])).stdout : '';
        return /Geometry: 160x114\b/.test(geometry);
      },
      20_000,
      'a 160x114 view window',
      200,
    );
    // What is on screen: a picture above, light text on the dark status bar below.
    const ff = spawn('ffmpeg', ['-v', 'error', '-f', 'x11grab', '-video_size', '160x114', '-i', `${x.display}+0,0`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(ff);
    const chunks: Buffer[] = [];
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    assert.equal((await collect(ff, 15_000, 'a screenshot')).code, 0);
    const gray = Buffer.concat(chunks);
    assert.equal(gray.length, 160 * 114);
    const bright = (y0: number, y1: number): number => {
      let n = 0;
      for (let i = y0 * 160; i < y1 * 160; i++) n += gray[i]! > 128 ? 1 : 0;
      return n / ((y1 - y0) * 160);
    };
    assert.ok(bright(0, 90) > 0.2, `the picture: ${bright(0, 90)}`);
    const bar = bright(90, 114);
    assert.ok(bar > 0.02 && bar < 0.5, `light text on a dark bar: ${bar}`);
    await xdo(['windowfocus', '--sync', id, 'key', 'Escape']);
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim()) as { frames: number; width: number; height: number };
    assert.ok(summary.frames > 0);
    assert.deepEqual([summary.width, summary.height], [160, 90]);
  } finally {
    await x.stop();
    await server.close();
  }
});
