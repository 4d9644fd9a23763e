/**
 * Peers that attack the server's resources rather than its parsers: they flood replies they never read,
 * hold handshakes open, or never finish them. Each attack runs a few seconds on loopback next to honest
 * clients, which must keep their frame rate and never be locked out, while the server's memory stays flat.
 * (docs/security.md, "What a peer can make the server do".)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { connect, type FramewireClient } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { encodeSeedHello, SeedFrameDecoder } from '../../src/protocol/seed.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import type { Source, SourceEvent, SourceSink } from '../../src/sources/source.js';
import { take } from '../helpers/client.js';
import { freePort, runCli, waitForOutput } from '../helpers/cli.js';
import { rawConnect, readUntilClose, startTestServer, waitUntil, within } from '../helpers/server.js';

const HELLO = Buffer.from(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 30, quality: 50, token: '' }));
const PING = Buffer.from(encodeMessage({ type: 'ping', id: 1, t1: 1 }));
/** 60 KB of PINGs in one write. */
const PINGS = Buffer.concat(Array.from({ length: 3000 }, () => PING));

/**
 * The frame rate an honest client must keep while attacked. The server is paced at 30 fps; on this shared
 * 2-core machine the attackers, the honest client and the server compete for the same cores, so allow the
 * margin the other fps tests use for scheduling noise.
 */
const HONEST_FPS = 27;
/** How much the server's RSS may grow during an attack (before the limits, each grew by hundreds of MB). */
const RSS_GROWTH_MB = 60;

// ---- helpers ---------------------------------------------------------------------------------------------

interface ChildServer {
  tcpPort: number;
  httpPort: number;
  rssMb(): number;
  running(): boolean;
  stop(): Promise<void>;
}

/** A server in its own process, so its memory is its own and it does not share an event loop with the attackers. */
async function childServer(extra: string[] = []): Promise<ChildServer> {
  const httpPort = await freePort();
  const p = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', String(httpPort), '--width', '640', '--height', '360', '--quiet', ...extra]);
  const m = await waitForOutput(p, /tcp:\/\/127\.0\.0\.1:(\d+)/);
  const pid = p.child.pid!;
  return {
    tcpPort: Number(m[1]),
    httpPort,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024,
    running: () => p.child.exitCode === null && p.child.signalCode === null,
    stop: async () => {
      p.child.kill('SIGKILL');
      await within(p.exited, 5000, 'server exit');
    },
  };
}

/**
 * Run attack() for `ms` alongside an honest viewer; returns the honest viewer's frame rate over that time and
 * the server's peak RSS growth. The honest viewer is `framewire view` in a process of its own: in this
 * process it would share an event loop with the attack's own JavaScript, and measure that as well as the server.
 */
async function underAttack(
  server: ChildServer,
  ms: number,
  attack: (until: number) => Promise<void>,
): Promise<{ fps: number; rssGrowthMb: number }> {
  const viewer = runCli(['view', `tcp://127.0.0.1:${server.tcpPort}`, '--width', '640', '--height', '360', '--fps', '30', '--display', 'none', '--json', '--duration', String(ms / 1000)]);
  try {
    // The attack starts once the server lists the viewer, so the viewer's timed run and the attack coincide.
    await waitUntil(
      async () => {
        const r = await fetch(`http://127.0.0.1:${server.httpPort}/api/status`).catch(() => null);
        return r !== null && r.ok && ((await r.json()) as { clients: unknown[] }).clients.length > 0;
      },
      10_000,
      'the honest viewer streaming',
    );
    const base = server.rssMb();
    let peak = base;
    const sampler = setInterval(() => {
      if (server.running()) peak = Math.max(peak, server.rssMb());
    }, 100);
    try {
      await attack(performance.now() + ms);
    } finally {
      clearInterval(sampler);
    }
    const code = await within(viewer.exited, 15_000, 'the honest viewer finishing');
    assert.equal(code, 0, viewer.stderr());
    const summary = JSON.parse(viewer.stdout().trim().split('\n').at(-1)!) as { fps: number };
    return { fps: summary.fps, rssGrowthMb: Math.max(peak, server.rssMb()) - base };
  } finally {
    viewer.child.kill('SIGKILL');
  }
}

/** Write chunk over and over (as fast as the socket takes it) until the server closes s or `until`. */
function flood(s: { write(b: Buffer): boolean; on(e: 'drain', f: () => void): unknown; off(e: 'drain', f: () => void): unknown }, chunk: Buffer, until: number, closed: Promise<void>): Promise<'closed' | 'time'> {
  return new Promise((resolve) => {
    let done = false;
    let scheduled = false;
    // A few writes per turn of the event loop, so a server that reads everything cannot make this spin forever.
    const pump = (): void => {
      scheduled = false;
      for (let i = 0; i < 16; i++) {
        if (done || performance.now() >= until) return;
        if (!s.write(chunk)) return; // 'drain' resumes
      }
      scheduled = true;
      setImmediate(pump);
    };
    const onDrain = (): void => {
      if (!scheduled) pump();
    };
    const finish = (why: 'closed' | 'time'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.off('drain', onDrain);
      resolve(why);
    };
    const timer = setTimeout(() => finish('time'), Math.max(0, until - performance.now()));
    void closed.then(() => finish('closed'));
    s.on('drain', onDrain);
    pump();
  });
}

/** A TCP connection from a given loopback address (127.x stand for other hosts). */
function dial(port: number, localAddress = '127.0.0.1'): net.Socket {
  const s = net.connect({ host: '127.0.0.1', port, localAddress });
  s.on('error', () => {});
  return s;
}

const closedPromise = (s: net.Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

/** Honest framewire/1 clients, connecting all at once: how many get a frame within ms. */
async function honestServed(port: number, n: number, ms: number): Promise<number> {
  const one = async (): Promise<boolean> => {
    let c: FramewireClient | null = null;
    try {
      c = await within(connect(`tcp://127.0.0.1:${port}`, { width: 160, height: 90, fps: 30, connectTimeoutMs: ms }), ms, 'connect');
      await within(take(c, 1), ms, 'a frame');
      return true;
    } catch {
      return false;
    } finally {
      await c?.close();
    }
  };
  const served = await Promise.all(Array.from({ length: n }, one));
  return served.filter(Boolean).length;
}

function decodeAll(bytes: Buffer): Message[] {
  return new MessageDecoder().push(bytes).messages;
}

// ---- replies a peer can trigger ---------------------------------------------------------------------------

test('PING and RENEGOTIATE are rate-limited: a burst is answered, then ERROR E_RATE_LIMITED and a close', { timeout: 20_000 }, async () => {
  const server = await startTestServer();
  try {
    const pings = await rawConnect(server.tcp.port);
    const pingsClosed = readUntilClose(pings, 5000);
    pings.write(Buffer.concat([HELLO, ...Array.from({ length: 100 }, () => PING)]));
    const got = decodeAll(await pingsClosed);
    assert.equal(got.filter((m) => m.type === 'pong').length, 20, 'the burst of 20 is answered');
    const err = got.find((m) => m.type === 'error');
    assert.equal(err?.type === 'error' && err.code, 'E_RATE_LIMITED');

    const reneg = await rawConnect(server.tcp.port);
    const renegClosed = readUntilClose(reneg, 5000);
    const r = encodeMessage({ type: 'renegotiate', width: 320, height: 180, fps: 15, quality: 50 });
    reneg.write(Buffer.concat([HELLO, ...Array.from({ length: 30 }, () => Buffer.from(r))]));
    const answers = decodeAll(await renegClosed);
    assert.equal(answers.filter((m) => m.type === 'accept').length, 1 + 10, 'the hello and a burst of 10 renegotiations');
    const err2 = answers.find((m) => m.type === 'error');
    assert.equal(err2?.type === 'error' && err2.code, 'E_RATE_LIMITED');

    // An honest client's pings (5 in its first 200 ms, then 1 a second) stay well inside the limit.
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90 });
    await within(take(c, 45), 10_000, '1.5 s of frames');
    await c.renegotiate({ width: 320, height: 180 });
    await c.renegotiate({ width: 160, height: 90 });
    await within(take(c, 5), 5000, 'frames after renegotiating');
    assert.equal(server.registry.size, 1);
    await c.close();
  } finally {
    await server.close();
  }
});

test('a non-reading PING flood over TCP: the server stays flat in memory and an honest client keeps its rate', { timeout: 60_000 }, async (t) => {
  const server = await childServer();
  try {
    let connections = 0;
    let cutOff = 0;
    const attacker = async (until: number): Promise<void> => {
      while (performance.now() < until) {
        const s = dial(server.tcpPort);
        const closed = closedPromise(s);
        s.pause(); // never read a reply
        connections++;
        s.write(HELLO);
        if ((await flood(s, PINGS, until, closed)) === 'closed') cutOff++;
        s.destroy();
      }
    };
    const r = await underAttack(server, 4000, (until) => Promise.all(Array.from({ length: 4 }, () => attacker(until))).then(() => {}));
    t.diagnostic(`server RSS +${r.rssGrowthMb.toFixed(1)} MB, honest ${r.fps.toFixed(1)} fps, ${cutOff} of ${connections} flooding connections closed by the server`);
    assert.ok(server.running(), 'the server is still running');
    assert.ok(r.rssGrowthMb < RSS_GROWTH_MB, `server RSS grew ${r.rssGrowthMb.toFixed(0)} MB under the flood`);
    assert.ok(r.fps >= HONEST_FPS, `the honest client got ${r.fps.toFixed(1)} fps under the flood`);
    assert.ok(cutOff >= 4, `each flooding connection was closed by the server (${cutOff} of ${connections})`);
  } finally {
    await server.stop();
  }
});

test('a non-reading PING flood over WebSocket (framewire PINGs and WebSocket pings): memory flat, honest rate kept', { timeout: 60_000 }, async (t) => {
  const server = await childServer();
  try {
    let cutOff = 0;
    const attacker = async (until: number, wsPings: boolean): Promise<void> => {
      while (performance.now() < until) {
        const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`, { perMessageDeflate: false });
        ws.on('error', () => {});
        const closed = new Promise<void>((r) => ws.once('close', () => r()));
        const opened = await Promise.race([new Promise<boolean>((r) => ws.once('open', () => r(true))), closed.then(() => false)]);
        if (!opened) continue;
        const raw = (ws as unknown as { _socket: net.Socket })._socket;
        raw.pause(); // never read a reply
        ws.send(HELLO);
        // One WebSocket message per PING, as framewire/1 over WebSocket requires; or the carrier's own pings.
        const socket = {
          write: (): boolean => {
            for (let i = 0; i < 200; i++) {
              if (wsPings) ws.ping();
              else ws.send(PING);
            }
            return raw.writableLength < 64 * 1024;
          },
          on: (_e: 'drain', f: () => void) => raw.on('drain', f),
          off: (_e: 'drain', f: () => void) => raw.off('drain', f),
        };
        if ((await flood(socket, PING, until, closed)) === 'closed') cutOff++;
        ws.terminate();
      }
    };
    const r = await underAttack(server, 4000, (until) =>
      Promise.all([attacker(until, false), attacker(until, false), attacker(until, true), attacker(until, true)]).then(() => {}),
    );
    t.diagnostic(`server RSS +${r.rssGrowthMb.toFixed(1)} MB, honest ${r.fps.toFixed(1)} fps, ${cutOff} flooding connections closed by the server`);
    assert.ok(server.running(), 'the server is still running');
    assert.ok(r.rssGrowthMb < RSS_GROWTH_MB, `server RSS grew ${r.rssGrowthMb.toFixed(0)} MB under the flood`);
    assert.ok(r.fps >= HONEST_FPS, `the honest client got ${r.fps.toFixed(1)} fps under the flood`);
    assert.ok(cutOff >= 4, `each flooding connection was closed by the server (${cutOff})`);
  } finally {
    await server.stop();
  }
});

test('messages that only cost the server do not keep a non-reading peer alive: closed at the idle timeout', { timeout: 20_000 }, async () => {
  const server = await startTestServer({ idleTimeoutMs: 1000 });
  try {
    const s = dial(server.tcp.port);
    await new Promise((r) => s.once('connect', r));
    s.pause(); // never reads: no ACK of a real frame, no PONG to the server's PINGs
    s.write(HELLO);
    await waitUntil(() => server.registry.size === 1, 5000, 'the peer streaming');
    // Within every rate limit: a PING, a blind ACK far ahead and a PONG the server never asked for, 4 times a second.
    let n = 0;
    const keepAlive = setInterval(() => {
      n++;
      s.write(Buffer.concat([PING, encodeMessage({ type: 'ack', seq: 1_000_000 + n }), encodeMessage({ type: 'pong', id: n, t1: n, t2: n, t3: n })]));
    }, 250);
    try {
      const t0 = performance.now();
      await waitUntil(() => server.registry.size === 0, 5000, 'the server to close the peer');
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 3000, `closed after ${elapsed.toFixed(0)} ms`);
    } finally {
      clearInterval(keepAlive);
      s.destroy();
    }
  } finally {
    await server.close();
  }
});

/** A source that sends no pictures, only lost/resumed events when told. */
class FlappingSource implements Source {
  readonly info = { description: 'flapping', width: 640, height: 360, fps: 30 };
  private sink: SourceSink | null = null;
  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
  }
  async stop(): Promise<void> {
    this.sink = null;
  }
  emit(e: SourceEvent): void {
    this.sink?.event(e);
  }
}

test('replies a peer leaves unread are bounded: status is coalesced, and a peer that never catches up is closed', { timeout: 30_000 }, async () => {
  const source = new FlappingSource();
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  const server = await startTestServer({ idleTimeoutMs: 3000, log }, { source });
  try {
    const stuck = dial(server.tcp.port);
    const late = dial(server.tcp.port);
    for (const s of [stuck, late]) {
      s.pause();
      s.write(HELLO);
    }
    await waitUntil(() => server.registry.size === 2, 5000, 'both peers streaming');
    // 20 MB of STATUS, far more than the kernel's socket buffers hold, while neither peer reads; a few
    // per turn of the event loop, so that each write reaches the kernel if it has room.
    const N = 20_000;
    const text = 'x'.repeat(1000);
    for (let i = 0; i < N; i++) {
      source.emit(i % 2 ? { kind: 'resumed', text } : { kind: 'lost', reason: text });
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    source.emit({ kind: 'resumed', text: 'the latest' });
    const t0 = performance.now();

    // One catches up: it gets what the kernel held, a bounded backlog, and then the source's latest state.
    const got: Message[] = [];
    const decoder = new MessageDecoder();
    late.on('data', (c: Buffer) => got.push(...decoder.push(c).messages));
    late.resume();
    await waitUntil(() => got.some((m) => m.type === 'status' && m.text === 'the latest'), 5000, 'the latest status');
    const statuses = got.filter((m) => m.type === 'status').length;
    assert.ok(statuses < N / 2, `${statuses} of ${N + 1} status messages were queued for a peer that did not read`);

    // The other never reads: closed once its replies have stayed backed up for a third of the idle timeout.
    await waitUntil(() => server.registry.size === 1, 5000, 'the stuck peer closed');
    assert.ok(performance.now() - t0 < 2500, 'before its idle timeout');
    assert.ok(lines.some((l) => /E_TIMEOUT: .*replies unread/.test(l)), lines.slice(-3).join('\n'));
    stuck.destroy();
    late.destroy();
  } finally {
    await server.close();
  }
});

test('a tutorial client that keeps sending after its hello is not even read from, and streams on', { timeout: 20_000 }, async () => {
  const server = await startTestServer();
  try {
    const s = dial(server.tcp.port);
    s.write(encodeSeedHello({ fps: 30, width: 160, height: 90 }));
    const decoder = new SeedFrameDecoder(1 << 20);
    let frames = 0;
    s.on('data', (c: Buffer) => (frames += decoder.push(c).frames.length));
    await waitUntil(() => frames >= 3, 5000, 'first frames');
    const MB = 1 << 20;
    s.write(Buffer.alloc(32 * MB, 0x55)); // the tutorial's format gives these bytes no meaning
    const f0 = frames;
    await waitUntil(() => frames >= f0 + 30, 5000, 'a second more of frames');
    // The kernel's buffers hold a few MB; the server took nothing beyond them.
    assert.ok(s.writableLength > 16 * MB, `the server read ${((32 * MB - s.writableLength) / MB).toFixed(1)} of 32 MB sent after the hello`);
    assert.equal(server.registry.size, 1);
    s.destroy();
  } finally {
    await server.close();
  }
});

// ---- the pending-handshake pool -----------------------------------------------------------------------------

/** `count` peers from `from` that dribble a hello one byte at a time and reconnect when dropped, until stop(). */
function dribblers(port: number, from: string[], count: number, everyMs: number): { stop(): void; connected(): number } {
  let stopped = false;
  let connected = 0;
  const socks = new Set<net.Socket>();
  const one = (addr: string): void => {
    if (stopped) return;
    const s = dial(port, addr);
    socks.add(s);
    let i = 0;
    const tick = (): void => {
      if (!s.destroyed && i < HELLO.length - 1) s.write(HELLO.subarray(i, ++i));
    };
    const t = setInterval(tick, everyMs);
    s.resume(); // to notice at once when the server drops it
    s.once('connect', () => {
      connected++;
      tick();
    });
    s.once('close', () => {
      clearInterval(t);
      socks.delete(s);
      connected--;
      if (!stopped) setImmediate(() => one(addr));
    });
  };
  for (let i = 0; i < count; i++) one(from[i % from.length]!);
  return {
    connected: () => connected,
    stop: () => {
      stopped = true;
      for (const s of socks) s.destroy();
    },
  };
}

test('300 dribbling hellos from one address do not lock out clients from another', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 2000 });
  const attack = dribblers(server.tcp.port, ['127.0.0.2'], 300, 300);
  try {
    await waitUntil(() => attack.connected() >= 290, 10_000, 'the attackers connected');
    const served = await honestServed(server.tcp.port, 10, 3000);
    assert.equal(served, 10, `honest clients served while the pool is flooded: ${served}/10`);
  } finally {
    attack.stop();
    await server.close();
  }
});

test('a pool full of handshakes from many addresses drops the oldest of the busiest, not the newcomer', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 2000 });
  const from = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const attack = dribblers(server.tcp.port, from, 320, 300);
  try {
    await waitUntil(() => attack.connected() >= 300, 10_000, 'the attackers connected');
    const served = await honestServed(server.tcp.port, 10, 3000);
    assert.equal(served, 10, `honest clients served while the pool is full: ${served}/10`);
  } finally {
    attack.stop();
    await server.close();
  }
});

test('HTTP requests knocking on the TCP port are answered and closed; held open, they lock nobody out', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 2000 });
  const knocks: net.Socket[] = [];
  try {
    for (let i = 0; i < 256; i++) {
      const s = dial(server.tcp.port, '127.0.0.2');
      s.pause(); // read nothing, never close
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      knocks.push(s);
    }
    await waitUntil(() => knocks.every((s) => !s.connecting), 5000, 'knocks connected');
    const served = await honestServed(server.tcp.port, 10, 3000);
    assert.equal(served, 10, `honest clients served next to 256 held knocks: ${served}/10`);
    // Each knock got its answer and, a moment later, lost its socket although it never closed its side.
    await waitUntil(() => server.tcp.pendingHandshakes() === 0, 3000, 'the server to let go of every knock');
  } finally {
    for (const s of knocks) s.destroy();
    await server.close();
  }
});

// ---- TLS and HTTP ---------------------------------------------------------------------------------------

test('silent TLS handshakes are destroyed at the handshake timeout, on the TLS port and on HTTPS; they lock nobody out', { timeout: 30_000 }, async () => {
  const pem = await selfSignedTlsMaterial();
  const server = await startTestServer(
    { httpPort: 0, handshakeTimeoutMs: 500 },
    { tcp: { tls: { cert: pem.cert, key: pem.key } }, extras: [httpTransport({ tls: { cert: pem.cert, key: pem.key } })] },
  );
  const silent: net.Socket[] = [];
  try {
    for (let i = 0; i < 300; i++) silent.push(dial(server.tcp.port, '127.0.0.2'));
    for (let i = 0; i < 20; i++) silent.push(dial(server.extras[0]!.port, '127.0.0.2'));
    // An honest TLS client gets in while 300 silent handshakes are pending.
    const c = await connect(`tls://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90, tls: { fingerprint: pem.fingerprint256 } });
    await within(take(c, 3), 5000, 'frames over TLS');
    await c.close();
    for (const s of silent) s.resume();
    await waitUntil(() => silent.every((s) => s.destroyed), 5000, 'every silent handshake closed by the server');
    assert.equal(server.tcp.pendingHandshakes() + server.extras[0]!.pendingHandshakes(), 0);
  } finally {
    for (const s of silent) s.destroy();
    await server.close();
  }
});

test('HTTP: idle and dribbled requests end within the documented timeouts; a flood of idle connections locks nobody out', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ httpPort: 0, handshakeTimeoutMs: 1000 }, { extras: [httpTransport()] });
  const port = server.extras[0]!.port;
  const idle: net.Socket[] = [];
  try {
    const t0 = performance.now();
    const quiet = dial(port);
    const partial = dial(port);
    partial.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    const [a, b] = await Promise.all([quiet, partial].map((s) => within(closedPromise(s.resume()), 5000, 'the server to close it').then(() => performance.now() - t0)));
    // Headers within the handshake timeout, checked every fifth of it: 1.2 s at most here (6 s by default).
    assert.ok(a! < 2000 && b! < 2000, `idle closed after ${a!.toFixed(0)} ms, partial request after ${b!.toFixed(0)} ms`);

    for (let i = 0; i < 320; i++) idle.push(dial(port, '127.0.0.2').resume());
    await waitUntil(() => idle.filter((s) => s.destroyed).length >= 320 - 256, 3000, 'the oldest idle connections dropped for newer ones');
    const status = await within(
      new Promise<number>((resolve, reject) => http.get(`http://127.0.0.1:${port}/healthz`, (res) => resolve(res.statusCode ?? 0)).on('error', reject)),
      3000,
      '/healthz',
    );
    assert.equal(status, 200);
  } finally {
    for (const s of idle) s.destroy();
    await server.close();
  }
});

test('snapshots requested and never read: the connection is let go at the idle timeout', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ httpPort: 0, idleTimeoutMs: 1500, defaults: { width: 1280, height: 720, fps: 30, quality: 90 } }, { extras: [httpTransport()] });
  try {
    const http = server.extras[0]!;
    const s = dial(http.port);
    s.pause();
    // Far more than the kernel's socket buffers hold (each reply is a 1280x720 JPEG).
    s.write('GET /snapshot.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(300));
    await waitUntil(() => http.pendingHandshakes() === 1, 3000, 'the connection accepted');
    const t0 = performance.now();
    await waitUntil(() => http.pendingHandshakes() === 0, 6000, 'the server to let go of the non-reading connection');
    assert.ok(performance.now() - t0 >= 1000, 'not before the idle timeout');
    s.destroy();
  } finally {
    await server.close();
  }
});
