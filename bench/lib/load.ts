/**
 * One measured run: start 1–2 load-generator processes against a server, wait until every client is
 * streaming, then warm up and measure; the server's CPU and RSS are sampled over the same window.
 */
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { ProcMeter, spawnTracked, stopProcess } from './procs.js';
import { ROOT } from './servers.js';
import { percentile } from './stats.js';

export interface LoadSpec {
  mode: 'fw' | 'lib' | 'mjpeg' | 'gst-multipart' | 'seed';
  port: number;
  clients: number;
  warmupS: number;
  durationS: number;
  latency?: 'none' | 'raw' | 'lib';
  request?: { width?: number; height?: number; fps?: number; quality?: number };
  threshold?: number;
  /** Split the clients over this many processes (default: 2 from 300 clients). */
  processes?: number;
}

export interface LoadgenResult {
  clients: number;
  connected: number;
  openAtEnd: number;
  failedAtEnd: number;
  firstFailure: string | null;
  windowS: number;
  fps: { min: number; p5: number; median: number; mean: number };
  atLeast: number;
  perClientFps: number[];
  frames: number;
  bytes: number;
  latencyMs: { n: number; p50: number; p99: number; max: number } | null;
  loadgenCpuS: number;
}

export interface RunResult {
  clients: number;
  connected: number;
  openAtEnd: number;
  firstFailure: string | null;
  fpsMin: number;
  fpsP5: number;
  fpsMedian: number;
  atLeast: number;
  frames: number;
  bytes: number;
  latency: { p50: number; p99: number; n: number } | null;
  serverCpuPct: number;
  serverRssMb: number;
  /** Server CPU time per delivered client-frame, µs. */
  cpuPerClientFrameUs: number;
  loadgenCpuPct: number;
  windowS: number;
}

function lines(c: ChildProcess): AsyncIterableIterator<string> {
  return readline.createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
}

async function nextEvent(it: AsyncIterableIterator<string>, event: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) throw new Error(`loadgen: no "${event}" within ${timeoutMs} ms`);
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), left)))]);
    clearTimeout(t);
    if (r === 'timeout') continue;
    if (r.done) throw new Error(`loadgen exited before "${event}"`);
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(r.value) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (o.event === event) return o;
  }
}

export async function runLoad(serverPid: number, spec: LoadSpec): Promise<RunResult> {
  const procs = spec.processes ?? (spec.clients >= 300 ? 2 : 1);
  const per = Array.from({ length: procs }, (_, i) => Math.floor(spec.clients / procs) + (i < spec.clients % procs ? 1 : 0)).filter((n) => n > 0);
  const r = spec.request ?? {};
  const children: ChildProcess[] = [];
  const stderr: string[] = [];
  try {
    for (const [i, n] of per.entries()) {
      const args = [
        '--import', 'tsx', 'bench/loadgen.ts',
        '--mode', spec.mode,
        '--port', String(spec.port),
        '--clients', String(n),
        '--warmup', String(spec.warmupS),
        '--duration', String(spec.durationS),
        '--latency', i === 0 ? (spec.latency ?? 'none') : 'none',
        '--width', String(r.width ?? 0),
        '--height', String(r.height ?? 0),
        '--fps', String(r.fps ?? 0),
        '--quality', String(r.quality ?? 0),
        '--threshold', String(spec.threshold ?? 29.5),
        '--wait-start',
        '--max-seconds', String(Math.ceil(120 + spec.warmupS + spec.durationS)),
      ];
      const c = spawnTracked(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      c.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      children.push(c);
    }
    const its = children.map(lines);
    const readies = await Promise.all(its.map((it) => nextEvent(it, 'ready', 130_000)));
    const connected = readies.reduce((s, o) => s + Number(o.connected), 0);
    for (const c of children) c.stdin!.write('start\n');
    const meter = new ProcMeter(serverPid);
    const lgMeters = children.map((c) => new ProcMeter(c.pid!));
    await Promise.all(its.map((it) => nextEvent(it, 'measure-start', (spec.warmupS + 30) * 1000)));
    meter.start();
    for (const m of lgMeters) m.start(1000);
    const results = (await Promise.all(its.map((it) => nextEvent(it, 'result', (spec.durationS + 30) * 1000)))) as unknown as LoadgenResult[];
    const srv = meter.stop();
    const lg = lgMeters.map((m) => m.stop());
    if (!srv) throw new Error(`server process ${serverPid} vanished during the measurement`);
    const frames = results.reduce((s, x) => s + x.frames, 0);
    const all = results.flatMap((x) => x.perClientFps).sort((x, y) => x - y);
    const fpsMin = all[0] ?? 0;
    const fpsP5 = percentile(all, 5);
    const fpsMedian = percentile(all, 50);
    const lat = results[0]!.latencyMs;
    return {
      clients: spec.clients,
      connected,
      openAtEnd: results.reduce((s, x) => s + x.openAtEnd, 0),
      firstFailure: results.find((x) => x.firstFailure)?.firstFailure ?? null,
      fpsMin,
      fpsP5,
      fpsMedian,
      atLeast: results.reduce((s, x) => s + x.atLeast, 0),
      frames,
      bytes: results.reduce((s, x) => s + x.bytes, 0),
      latency: lat ? { p50: lat.p50, p99: lat.p99, n: lat.n } : null,
      serverCpuPct: srv.cpuPct,
      serverRssMb: srv.maxRssMb,
      cpuPerClientFrameUs: frames > 0 ? (srv.cpuS * 1e6) / frames : NaN,
      loadgenCpuPct: lg.reduce((s, x) => s + (x?.cpuPct ?? 0), 0),
      windowS: srv.wallS,
    };
  } catch (e) {
    const tail = stderr.join('').trim().slice(-1500);
    throw new Error(`${e instanceof Error ? e.message : String(e)}${tail ? `\nloadgen stderr: ${tail}` : ''}`);
  } finally {
    await Promise.all(children.map((c) => stopProcess(c, 2000, 'SIGTERM')));
  }
}
