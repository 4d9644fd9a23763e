/**
 * Load generator: N clients from one process, each reading every byte the server sends.
 *
 *   node --import tsx bench/loadgen.ts --mode fw|lib|mjpeg|gst-multipart|seed --port P --clients N
 *   (lib: every client is the library's connect(), as a user's program would be)
 *        [--warmup S] [--duration S] [--latency none|raw|lib] [--width W --height H --fps F --quality Q]
 *        [--path /stream.mjpg] [--boundary B] [--threshold 29.5] [--wait-start] [--max-seconds S]
 *
 * fw: raw framewire/1 (hello, MessageDecoder, an ACK for every frame). mjpeg: GET /stream.mjpg and parse the
 * multipart body. gst-multipart: the same multipart parts straight from a TCP socket (GStreamer's
 * tcpserversink: no HTTP headers; resynchronises on the boundary). seed: the tutorial's format.
 * --latency raw|lib measures client 0 (raw: now − captureUs / X-Timestamp-Us; lib: client 0 is the library
 * client, its latencyMs is clock-offset corrected).
 *
 * stdout, one JSON object per line: {"event":"ready",…}, {"event":"measure-start"}, {"event":"result",…}.
 * With --wait-start the warm-up starts when the line "start" arrives on stdin. The process always ends by
 * itself: after the result, when stdin closes (the parent is gone), or after --max-seconds.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { connect as connectLib } from '../src/client/client.js';
import { PROTOCOL_VERSION } from '../src/protocol/constants.js';
import { MessageDecoder } from '../src/protocol/decoder.js';
import { encodeMessage } from '../src/protocol/encode.js';
import { encodeSeedHello, SeedFrameDecoder } from '../src/protocol/seed.js';
import { nowUs } from '../src/clock.js';
import { percentile } from './lib/stats.js';

const { values: a } = parseArgs({
  options: {
    mode: { type: 'string', default: 'fw' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    clients: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    latency: { type: 'string', default: 'none' },
    width: { type: 'string', default: '0' },
    height: { type: 'string', default: '0' },
    fps: { type: 'string', default: '0' },
    quality: { type: 'string', default: '0' },
    path: { type: 'string', default: '/stream.mjpg' },
    boundary: { type: 'string', default: 'frame' },
    threshold: { type: 'string', default: '29.5' },
    'connect-concurrency': { type: 'string', default: '64' },
    'connect-timeout': { type: 'string', default: '60' },
    'wait-start': { type: 'boolean', default: false },
    'max-seconds': { type: 'string', default: '180' },
  },
});

const mode = a.mode!;
if (!['fw', 'lib', 'mjpeg', 'gst-multipart', 'seed'].includes(mode)) fatal(`unknown --mode ${mode}`);
const host = a.host!;
const port = Number(a.port);
if (!(port > 0)) fatal('--port is required');
const nClients = Math.max(1, Number(a.clients));
const warmupS = Number(a.warmup);
const durationS = Number(a.duration);
const latencyMode = a.latency!;
const req = { width: Number(a.width), height: Number(a.height), fps: Number(a.fps), quality: Number(a.quality) };
const threshold = Number(a.threshold);
const MAX_HEAD = 64 * 1024;

function emit(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}
function fatal(msg: string): never {
  process.stderr.write(`loadgen: ${msg}\n`);
  process.exit(2);
}

// Everything stops by itself.
setTimeout(() => {
  process.stderr.write(`loadgen: --max-seconds ${a['max-seconds']} reached; exiting\n`);
  process.exit(3);
}, Number(a['max-seconds']) * 1000);
process.stdin.on('end', () => process.exit(4));
process.stdin.on('error', () => process.exit(4));

interface Client {
  frames: number;
  bytes: number;
  framesAt0: number;
  bytesAt0: number;
  open: boolean;
  ready: boolean;
  failed: string | null;
  socket: net.Socket | null;
  closeFn?: () => void;
}

let measuring = false;
const latencies: number[] = [];
const clients: Client[] = [];

/** Record a socket's failure and close on its client record; resolve when it closes. */
function watchSocket(c: Client, s: net.Socket, resolve: () => void): void {
  s.on('error', (e) => {
    c.failed ??= e.message;
  });
  s.on('close', () => {
    c.open = false;
    c.failed ??= 'closed';
    resolve();
  });
}

function newClient(): Client {
  return { frames: 0, bytes: 0, framesAt0: 0, bytesAt0: 0, open: false, ready: false, failed: null, socket: null };
}

/** Resolves when the client is streaming (accepted / headers received / connected) or has failed. */
type Starter = (c: Client, measured: boolean) => Promise<void>;

const startFw: Starter = (c, measured) =>
  new Promise((resolve) => {
    const s = net.connect({ host, port });
    c.socket = s;
    s.setNoDelay(true);
    const dec = new MessageDecoder({ maxMessageBytes: 64 * 1024 * 1024 });
    s.on('connect', () => {
      c.open = true;
      s.write(encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, ...req, token: '' }));
    });
    s.on('data', (chunk: Buffer) => {
      c.bytes += chunk.length;
      const { messages, error } = dec.push(chunk);
      for (const m of messages) {
        if (m.type === 'frame') {
          c.frames++;
          s.write(encodeMessage({ type: 'ack', seq: m.seq }));
          if (measured && measuring) latencies.push((nowUs() - m.captureUs) / 1000);
        } else if (m.type === 'accept') {
          c.ready = true;
          resolve();
        } else if (m.type === 'ping') {
          s.write(encodeMessage({ type: 'pong', id: m.id, t1: m.t1, t2: nowUs(), t3: nowUs() }));
        } else if (m.type === 'reject' || m.type === 'error' || m.type === 'goodbye') {
          c.failed = `${m.type} ${m.code}: ${m.text}`;
          resolve();
        }
      }
      if (error) {
        c.failed = `decode: ${error.message}`;
        s.destroy();
      }
    });
    watchSocket(c, s, resolve);
  });

const startLib: Starter = async (c) => {
  try {
    const cl = await connectLib(`tcp://${host}:${port}`, { ...req, connectTimeoutMs: 10_000 });
    c.open = c.ready = true;
    c.closeFn = () => void cl.close().catch(() => {});
    void (async () => {
      try {
        for await (const f of cl) {
          c.frames++;
          c.bytes += f.jpeg.length;
          if (measuring && f.latencyMs !== null) latencies.push(f.latencyMs);
        }
      } catch (e) {
        c.failed = String(e);
      }
      c.open = false;
    })();
  } catch (e) {
    c.failed = String(e);
  }
};

/** Multipart parts from raw bytes: headers (accumulated), then Content-Length body bytes (only counted). */
function multipartReader(c: Client, measured: boolean, httpFirst: boolean, boundary0: string, onHeaders: () => void, onFrame: () => void): (chunk: Buffer) => void {
  let state: 'http' | 'head' | 'body' = httpFirst ? 'http' : 'head';
  let head: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let marker = Buffer.from(`--${boundary0}`, 'latin1');
  let stampUs = 0;
  return (chunk) => {
    c.bytes += chunk.length;
    let buf: Buffer = chunk;
    while (buf.length > 0) {
      if (state === 'body') {
        const n = Math.min(remaining, buf.length);
        remaining -= n;
        buf = buf.subarray(n);
        if (remaining === 0) {
          c.frames++;
          onFrame();
          if (measured && measuring && stampUs > 0) latencies.push((nowUs() - stampUs) / 1000);
          state = 'head';
        }
        continue;
      }
      head = head.length ? Buffer.concat([head, buf]) : buf;
      buf = Buffer.alloc(0);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) head = head.subarray(head.length - 256); // resync: keep the tail only
        break;
      }
      const text = head.subarray(0, end).toString('latin1');
      const after = head.subarray(end + 4);
      head = Buffer.alloc(0);
      if (state === 'http') {
        const status = /^HTTP\/1\.[01] (\d+)/.exec(text);
        if (!status || status[1] !== '200') {
          c.failed = `HTTP ${status?.[1] ?? '?'}`;
          c.socket?.destroy();
          return;
        }
        const b = /boundary="?([^";\r\n]+)"?/i.exec(text);
        if (b?.[1]) marker = Buffer.from(`--${b[1]}`, 'latin1');
        state = 'head';
        onHeaders();
        buf = after;
        continue;
      }
      // A part header must contain the boundary; joined mid-stream, skip to the next one.
      if (!text.includes(marker.toString('latin1'))) {
        const again = after.indexOf(marker);
        buf = again >= 0 ? after.subarray(again) : Buffer.alloc(0);
        continue;
      }
      const len = /content-length:\s*(\d+)/i.exec(text);
      if (!len) {
        c.failed = 'multipart part without Content-Length';
        c.socket?.destroy();
        return;
      }
      const ts = /x-timestamp-us:\s*(\d+)/i.exec(text);
      stampUs = ts ? Number(ts[1]) : 0;
      remaining = Number(len[1]);
      state = 'body';
      buf = after;
      if (remaining === 0) {
        c.frames++;
        state = 'head';
      }
    }
  };
}

const startMultipart = (http: boolean): Starter => (c, measured) =>
  new Promise((resolve) => {
    const s = net.connect({ host, port });
    c.socket = s;
    const ready = (): void => {
      c.ready = true;
      resolve();
    };
    // Raw multipart (tcpserversink): a client is streaming from its first part. Connected is not enough: a
    // server whose listen backlog overflowed has not accepted the connection yet and sends it nothing.
    const read = multipartReader(c, measured, http, a.boundary!, ready, () => {
      if (!http && !c.ready) ready();
    });
    s.on('connect', () => {
      c.open = true;
      if (http) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(req)) if (v) q.set(k, String(v));
        const qs = q.toString();
        s.write(`GET ${a.path}${qs ? '?' + qs : ''} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: multipart/x-mixed-replace\r\n\r\n`);
      }
    });
    s.on('data', read);
    watchSocket(c, s, resolve);
  });

const startSeed: Starter = (c) =>
  new Promise((resolve) => {
    const s = net.connect({ host, port });
    c.socket = s;
    const dec = new SeedFrameDecoder(64 * 1024 * 1024);
    s.on('connect', () => {
      c.open = c.ready = true;
      s.write(encodeSeedHello({ fps: req.fps || 15, width: req.width || 640, height: req.height || 480 }));
      resolve();
    });
    s.on('data', (chunk: Buffer) => {
      c.bytes += chunk.length;
      const { frames, error } = dec.push(chunk);
      c.frames += frames.length;
      if (error) {
        c.failed = error.message;
        s.destroy();
      }
    });
    watchSocket(c, s, resolve);
  });

function starterFor(i: number): Starter {
  if (mode === 'lib') return startLib;
  if (mode === 'fw') return i === 0 && latencyMode === 'lib' ? startLib : startFw;
  if (mode === 'mjpeg') return startMultipart(true);
  if (mode === 'gst-multipart') return startMultipart(false);
  return startSeed;
}

async function connectAll(): Promise<void> {
  const limit = Math.max(1, Number(a['connect-concurrency']));
  const deadline = Date.now() + Number(a['connect-timeout']) * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < nClients && Date.now() < deadline) {
      const i = next++;
      const c = newClient();
      clients[i] = c;
      await Promise.race([starterFor(i)(c, i === 0 && latencyMode !== 'none'), new Promise((r) => setTimeout(r, 10_000))]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, nClients) }, worker));
}

function waitForStart(): Promise<void> {
  if (!a['wait-start']) return Promise.resolve();
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      if (buf.includes('start')) resolve();
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const t0 = performance.now();
  await connectAll();
  const ready = clients.filter((c) => c.ready && !c.failed).length;
  const failures = clients.filter((c) => c.failed).map((c) => c.failed!);
  emit({ event: 'ready', connected: ready, failed: failures.length, firstFailure: failures[0] ?? null, connectS: (performance.now() - t0) / 1000 });
  await waitForStart();
  await sleep(warmupS * 1000);
  for (const c of clients) {
    c.framesAt0 = c.frames;
    c.bytesAt0 = c.bytes;
  }
  const m0 = performance.now();
  measuring = true;
  emit({ event: 'measure-start' });
  await sleep(durationS * 1000);
  measuring = false;
  const windowS = (performance.now() - m0) / 1000;
  const fps = clients.map((c) => (c.frames - c.framesAt0) / windowS).sort((x, y) => x - y);
  const frames = clients.reduce((s, c) => s + c.frames - c.framesAt0, 0);
  const bytes = clients.reduce((s, c) => s + c.bytes - c.bytesAt0, 0);
  const lat = [...latencies].sort((x, y) => x - y);
  const cpu = process.cpuUsage();
  emit({
    event: 'result',
    mode,
    clients: nClients,
    connected: ready,
    openAtEnd: clients.filter((c) => c.open).length,
    failedAtEnd: clients.filter((c) => c.failed).length,
    firstFailure: clients.find((c) => c.failed)?.failed ?? null,
    windowS,
    fps: { min: fps[0] ?? 0, p5: percentile(fps, 5), median: percentile(fps, 50), mean: frames / windowS / nClients },
    atLeast: fps.filter((f) => f >= threshold).length,
    perClientFps: fps.map((f) => Math.round(f * 1000) / 1000),
    threshold,
    frames,
    bytes,
    latencyMs: lat.length ? { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1]! } : null,
    loadgenCpuS: (cpu.user + cpu.system) / 1e6,
  });
  for (const c of clients) {
    c.closeFn?.();
    c.socket?.destroy();
  }
  setTimeout(() => process.exit(0), 50);
}

main().catch((e: unknown) => fatal(e instanceof Error ? (e.stack ?? e.message) : String(e)));
