/**
 * `npm run soak [-- --minutes 10 --window-minutes 5]` (not part of CI): the server under 1280×720@30 to 100
 * clients, 10 % of them connecting, stalling and leaving at random, and beside them one viewer (the bench's
 * native reader, framewire/1) measuring capture → receive latency. Every 10 s the server's RSS and open file
 * descriptors are sampled from /proc; every window the viewer's latency p50/p99. Writes docs/soak.md.
 * Flat means: RSS after warm-up within ±5 %, fds back to baseline, and the viewer's latency p99 in the last
 * window no more than 1.5× (and 5 ms) above the first.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createServer, type AddressInfo } from 'node:net';
import { nativeReader } from '../bench/lib/native-reader.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'window-minutes': { type: 'string', default: '5' },
    out: { type: 'string', default: 'docs/soak.md' },
  },
});
const seconds = Math.round(Number(values.minutes) * 60);
const windowS = Math.round(Number(values['window-minutes']) * 60);
if (!(seconds >= 60) || !(windowS >= 10) || windowS > seconds) {
  console.error('soak: --minutes must be ≥ 1 and --window-minutes between 1/6 and --minutes');
  process.exit(2);
}
const reader = nativeReader();

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) / 1024 : NaN;
}
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
/**
 * A thread's CPU time and its time spent runnable but waiting for a CPU, ms (/proc/PID/schedstat: ns on CPU,
 * ns waiting on a run queue, timeslices). Waiting is what another busy process on the machine costs it: a
 * latency spike with a large wait is the machine's, one without is the server's own.
 */
function schedMs(pid: number): { cpu: number; wait: number } {
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpu: cpu! / 1e6, wait: wait! / 1e6 };
  } catch {
    return { cpu: NaN, wait: NaN };
  }
}

// The compiled server, as users run it (npm run soak builds first).
const httpPort = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as AddressInfo).port;
    s.close(() => resolve(p));
  });
});
// Every load client comes from 127.0.0.1: lift the per-address limit (a household's 20 by default) above them.
const server = spawn(
  process.execPath,
  ['dist/cli/main.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--http-port', String(httpPort), '--max-clients-per-address', '200', '--quiet'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);

/** The server's own view of its memory (/api/status), to tell the V8 heap from buffers from the allocator. */
async function serverMemory(): Promise<{ heapUsed: number; heapTotal: number; external: number }> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/api/status`);
    const j = (await r.json()) as { memoryMb: { heapUsed: number; heapTotal: number; external: number } };
    return j.memoryMb;
  } catch {
    return { heapUsed: NaN, heapTotal: NaN, external: NaN };
  }
}
const port = await new Promise<number>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = out.match(/tcp:\/\/127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.once('exit', () => reject(new Error('server exited')));
});
const baseFds = fds(server.pid!);
console.log(`soak: ${seconds} s in windows of ${windowS} s, server pid ${server.pid} on port ${port}, ${baseFds} fds at start`);
const load = spawn(process.execPath, ['--import', 'tsx', 'soak/clients.ts', '--port', String(port), '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });

// The viewer: one framewire/1 client in its own process, reading and acknowledging every frame as it
// arrives; latency = now − FRAME.captureUs on this machine's clock (the server's). It joins once the steady
// clients stream (the load's first report), so each frame reaches it after theirs.
let viewer: ReturnType<typeof spawn> | null = null;
let viewerExited: Promise<unknown> = Promise.resolve();
function startViewer(): void {
  const left = Math.max(windowS, Math.floor(seconds - (Date.now() - t0) / 1000));
  const v = spawn(
    reader,
    ['--mode', 'fw', '--port', String(port), '--clients', '1', '--latency', 'first', '--warmup', '0', '--duration', String(left), '--window-seconds', String(windowS), '--wait-start', '--max-seconds', String(left + 120)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  viewerExited = new Promise((r) => v.once('exit', r));
  v.stdin!.write('start\n');
  createInterface({ input: v.stdout! }).on('line', onViewerLine);
  viewer = v;
  windowStart = Math.round((Date.now() - t0) / 1000);
  sched = { at: Date.now(), server: schedMs(server.pid!), viewer: schedMs(v.pid!) };
}
let sched = { at: 0, server: { cpu: 0, wait: 0 }, viewer: { cpu: 0, wait: 0 } };

interface Sample {
  s: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  fds: number;
  frames: number;
  dropped: number;
  connects: number;
  stalls: number;
  fpsMin: number;
}
interface Window {
  endS: number;
  p50: number;
  p99: number;
  max: number;
  n: number;
  fps: number;
  rssMin: number;
  rssMax: number;
  fdsMin: number;
  fdsMax: number;
  heapUsed: number;
  frames: number;
  connects: number;
  stalls: number;
  serverCpuPct: number;
  serverWaitMsPerS: number;
  viewerWaitMsPerS: number;
}
const samples: Sample[] = [];
const windows: Window[] = [];
const t0 = Date.now();
let last = { frames: 0, dropped: 0, connects: 0, stalls: 0, steadyFpsMin: 0 };
load.stdout.on('data', (d: Buffer) => {
  if (!viewer) startViewer();
  for (const line of d.toString().split('\n').filter(Boolean)) {
    try {
      last = JSON.parse(line) as typeof last;
    } catch {
      /* partial line */
    }
  }
});
let windowStart = 0;
function onViewerLine(line: string): void {
  let o: { event?: string; fpsMean?: number; latencyMs?: { n: number; p50: number; p99: number; max: number } | null };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return;
  }
  if (o.event !== 'window') return;
  const endS = Math.round((Date.now() - t0) / 1000);
  const inWin = samples.filter((x) => x.s > windowStart && x.s <= endS);
  const now = { rss: rssMb(server.pid!), fds: fds(server.pid!) };
  const rss = [...inWin.map((x) => x.rss), now.rss];
  const fd = [...inWin.map((x) => x.fds), now.fds];
  const l = o.latencyMs;
  const nowSched = { at: Date.now(), server: schedMs(server.pid!), viewer: schedMs(viewer!.pid!) };
  const wallS = (nowSched.at - sched.at) / 1000;
  const w: Window = {
    endS,
    p50: l?.p50 ?? NaN,
    p99: l?.p99 ?? NaN,
    max: l?.max ?? NaN,
    n: l?.n ?? 0,
    fps: o.fpsMean ?? NaN,
    rssMin: Math.min(...rss),
    rssMax: Math.max(...rss),
    fdsMin: Math.min(...fd),
    fdsMax: Math.max(...fd),
    heapUsed: inWin.at(-1)?.heapUsed ?? NaN,
    frames: last.frames,
    connects: last.connects,
    stalls: last.stalls,
    serverCpuPct: (nowSched.server.cpu - sched.server.cpu) / wallS / 10,
    serverWaitMsPerS: (nowSched.server.wait - sched.server.wait) / wallS,
    viewerWaitMsPerS: (nowSched.viewer.wait - sched.viewer.wait) / wallS,
  };
  sched = nowSched;
  windows.push(w);
  windowStart = endS;
  console.log(JSON.stringify({ window: w }));
}
const sampler = setInterval(async () => {
  const mem = await serverMemory();
  const s = { s: Math.round((Date.now() - t0) / 1000), rss: rssMb(server.pid!), ...mem, fds: fds(server.pid!), frames: last.frames, dropped: last.dropped, connects: last.connects, stalls: last.stalls, fpsMin: last.steadyFpsMin };
  samples.push(s);
  console.log(JSON.stringify(s));
}, 10_000);
await new Promise((r) => load.once('exit', r));
await viewerExited;
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 2000));
const endFds = fds(server.pid!);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));

const warmUpS = Math.min(120, seconds / 4);
const warm = samples.filter((s) => s.s >= warmUpS);
const rss = warm.map((s) => s.rss);
const mid = rss.length ? [...rss].sort((a, b) => a - b)[Math.floor(rss.length / 2)]! : NaN;
// The target is "flat (±5 %)": the largest deviation from the median after warm-up.
const spread = rss.length ? (Math.max(Math.max(...rss) - mid, mid - Math.min(...rss)) / mid) * 100 : NaN;
const first = windows[0];
const lastW = windows.at(-1);
const creep = first && lastW ? lastW.p99 - first.p99 : NaN;
const latencyFlat = first && lastW ? lastW.p99 <= Math.max(1.5 * first.p99, first.p99 + 5) : false;
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const table = windows
  .map(
    (w, i) =>
      `| ${i + 1} | ${f(w.endS / 60, 1)} | ${f(w.p50, 2)} | ${f(w.p99, 2)} | ${f(w.max, 2)} | ${w.n} | ${f(w.fps, 1)} | ${f(w.rssMin)}–${f(w.rssMax)} | ${f(w.heapUsed)} | ${w.fdsMin}–${w.fdsMax} | ${f(w.serverCpuPct)} | ${f(w.serverWaitMsPerS)} | ${f(w.viewerWaitMsPerS, 2)} | ${w.frames} | ${w.connects} | ${w.stalls} |`,
  )
  .join('\n');
const short = seconds < 3600 ? `\nA short run (${values.minutes} min): the run this page is meant to show is \`npm run soak -- --minutes 60\`.\n` : '';
const md = `# Soak run
${short}
Command: \`npm run soak -- --minutes ${values.minutes} --window-minutes ${values['window-minutes']}\` on ${new Date().toISOString().slice(0, 10)}.
Server: test pattern 1280×720@30 q80. Load (separate process): 90 steady clients reading everything, 10 churn slots
connecting, stalling (no reads, no acks) and leaving at random. Beside them, one viewer in a process of its own (the
bench's native reader, bench/native-reader/reader.c, framewire/1, acknowledging every frame) measures capture →
receive latency on the server's clock; the server's RSS and file descriptors are read from /proc every 10 s.

- Viewer latency p99: ${f(first?.p99 ?? NaN, 2)} ms in the first window, ${f(lastW?.p99 ?? NaN, 2)} ms in the last (${Number.isFinite(creep) ? `${creep >= 0 ? '+' : ''}${creep.toFixed(2)} ms` : '–'}); largest window p99 ${f(Math.max(...windows.map((w) => w.p99)), 2)} ms. ${latencyFlat ? 'Flat' : 'NOT flat'} (target: last window's p99 ≤ 1.5× the first's, or within 5 ms of it)
- RSS after the ${warmUpS} s warm-up: ${f(Math.min(...rss))}–${f(Math.max(...rss))} MB (within ±${f(spread)} % of the median ${f(mid)} MB; target ±5 %)
- file descriptors: ${baseFds} at start, ${endFds} after the load left (target: back to the start value)

| window | ends at min | latency p50 ms | p99 ms | max ms | frames measured | viewer fps | RSS MB (min–max) | V8 heap used MB | fds (min–max) | server main thread CPU % | server waited for a CPU, ms/s | viewer waited for a CPU, ms/s | frames (load, total) | connects | stalls |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${table}

## Reading it

Latency is the viewer's own, frame by frame, over each window: a server whose latency creeps up over hours shows
it as a rising p50/p99 from window to window while the load stays the same. "Waited for a CPU" is the time the
server's main thread and the viewer spent runnable but not running (/proc/PID/schedstat): on a machine shared
with other work, spikes that come with a large wait are the machine's, not the server's. RSS follows the size V8 reserves for its
heap: \`framewire\` keeps V8's new space at its initial size (\`--semi-space-growth-factor=1\`, set in
\`src/cli/main.ts\`); without that cap an earlier run stepped from ~95 to ~122 MB at minute eight while the live heap
stayed the same. File descriptors return to their start value when every stalled or departed client's socket is
closed.
`;
writeFileSync(values.out!, md);
console.log(md);
