/**
 * One measured run: start the client processes against a server, wait until every client is streaming,
 * then warm up and measure; the server's CPU and RSS are sampled over the same window.
 *
 * Two kinds of client process speak the same stdout protocol (ready, measure-start, result):
 * - the native reader (bench/native-reader/reader.c, the default): one epoll process reads every socket as
 *   soon as it has data, so the client's speed does not shape what the server does;
 * - the Node load generator (bench/loadgen.ts), kept as a second, labelled measurement: Node's reading
 *   speed is part of what it measures (and it is the only one that runs the library client).
 */
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { nativeReader } from './native-reader.js';
import { ProcMeter, spawnTracked, stopProcess } from './procs.js';
import { ROOT } from './servers.js';
import { percentile } from './stats.js';

export type ReaderKind = 'native' | 'node';

export interface LoadSpec {
  mode: 'fw' | 'lib' | 'mjpeg' | 'gst-multipart' | 'seed';
  /** Which client process reads (default native; 'lib' mode and 'lib' latency need node). */
  reader?: ReaderKind;
  port: number;
  clients: number;
  warmupS: number;
  durationS: number;
  latency?: 'none' | 'raw' | 'lib';
  request?: { width?: number; height?: number; fps?: number; quality?: number };
  threshold?: number;
  /** Connections being set up at once (default 64). */
  connectConcurrency?: number;
  /** Split the clients over this many processes (default: native 1; node 2 from 300 clients). */
  processes?: number;
  /**
   * Client 0 is a separate one-client process that measures latency (framewire/1), beside the other
   * clients' processes: its readings do not wait for the reader to get round to its socket among hundreds.
   */
  viewer?: boolean;
  /** framewire/1 only: offer H.264 (and JPEG) and require the grant of H.264 (native reader only). Default jpeg. */
  codec?: 'jpeg' | 'h264';
  /** Count the server's child processes' CPU with its own (an H.264 encoder's ffmpeg). Default false. */
  serverChildren?: boolean;
}

/** What an H.264 reader counted over the measurement, all clients together. */
export interface H264Counts {
  keyframes: number;
  /** FRAMEs with the catch-up flag (decoded, not shown; counted in frames too). */
  catchup: number;
  /** seqs passed over between consecutive FRAMEs of a client. */
  skipped: number;
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
  h264?: H264Counts | null;
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
  /** Part of serverCpuPct spent in the server's child processes (0 unless LoadSpec.serverChildren). */
  serverChildrenCpuPct: number;
  serverRssMb: number;
  /** Server CPU time per delivered client-frame, µs. */
  cpuPerClientFrameUs: number;
  loadgenCpuPct: number;
  /**
   * Server and client processes' CPU time together per delivered client-frame, µs. On loopback the kernel
   * does part of one side's work in the other's context (the receiver's softirq and wake-up run in the
   * sender's write(); data held back by Nagle goes out when the receiver's ACK arrives, in the receiver's
   * context), so this sum is the figure that cannot be moved between them.
   */
  totalCpuPerClientFrameUs: number;
  windowS: number;
  reader: ReaderKind;
  h264: H264Counts | null;
}

export function lines(c: ChildProcess): AsyncIterableIterator<string> {
  return readline.createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
}

export async function nextEvent(it: AsyncIterableIterator<string>, event: string, timeoutMs: number): Promise<Record<string, unknown>> {
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

function readerOf(spec: LoadSpec): ReaderKind {
  if (spec.mode === 'lib' || spec.latency === 'lib') return 'node';
  return spec.reader ?? 'native';
}

/** The command of one client process with n clients; measured: it records latency (its client 0). */
function clientCommand(spec: LoadSpec, reader: ReaderKind, mode: LoadSpec['mode'], n: number, latency: 'none' | 'raw' | 'lib'): { cmd: string; args: string[] } {
  const r = spec.request ?? {};
  const common = [
    '--port', String(spec.port),
    '--clients', String(n),
    '--warmup', String(spec.warmupS),
    '--duration', String(spec.durationS),
    '--width', String(r.width ?? 0),
    '--height', String(r.height ?? 0),
    '--fps', String(r.fps ?? 0),
    '--quality', String(r.quality ?? 0),
    '--threshold', String(spec.threshold ?? 29.5),
    '--connect-concurrency', String(spec.connectConcurrency ?? 64),
    '--wait-start',
    '--max-seconds', String(Math.ceil(120 + spec.warmupS + spec.durationS)),
  ];
  if (reader === 'native') {
    const codec = spec.codec === 'h264' ? ['--codec', 'h264'] : [];
    return { cmd: nativeReader(), args: ['--mode', mode === 'gst-multipart' ? 'multipart' : mode, '--latency', latency === 'none' ? 'none' : 'first', ...codec, ...common] };
  }
  if (spec.codec === 'h264') throw new Error('H.264 load: only the native reader offers H.264');
  return { cmd: process.execPath, args: ['--import', 'tsx', 'bench/loadgen.ts', '--mode', mode, '--latency', latency, ...common] };
}

export async function runLoad(serverPid: number, spec: LoadSpec): Promise<RunResult> {
  const reader = readerOf(spec);
  const viewer = spec.viewer === true && spec.clients > 1;
  const rest = viewer ? spec.clients - 1 : spec.clients;
  const procs = spec.processes ?? (reader === 'native' ? 1 : rest >= 300 ? 2 : 1);
  const per = Array.from({ length: procs }, (_, i) => Math.floor(rest / procs) + (i < rest % procs ? 1 : 0)).filter((n) => n > 0);
  const load = per.map((n, i) => clientCommand(spec, reader, spec.mode, n, !viewer && i === 0 ? (spec.latency ?? 'none') : 'none'));
  // The tutorial format carries no capture time: its viewer speaks framewire/1 on the same port.
  const viewerCommand = viewer ? clientCommand(spec, reader, spec.mode === 'seed' ? 'fw' : spec.mode, 1, spec.latency ?? 'raw') : null;
  const children: ChildProcess[] = [];
  const its: AsyncIterableIterator<string>[] = [];
  const readies: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const spawnClients = async (cmds: { cmd: string; args: string[] }[], first: boolean): Promise<void> => {
    const cs = cmds.map(({ cmd, args }) => {
      const c = spawnTracked(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      c.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      return c;
    });
    const it = cs.map(lines);
    if (first) {
      children.unshift(...cs);
      its.unshift(...it);
    } else {
      children.push(...cs);
      its.push(...it);
    }
    readies.push(...(await Promise.all(it.map((x) => nextEvent(x, 'ready', 130_000)))));
  };
  try {
    await spawnClients(load, false);
    // The viewer joins once the others stream, so each frame reaches it after theirs: the far end of the
    // fan-out, where a viewer beside load waits longest. Its result comes first (latency is read from it).
    if (viewerCommand) await spawnClients([viewerCommand], true);
    const connected = readies.reduce((s, o) => s + Number(o.connected), 0);
    for (const c of children) c.stdin!.write('start\n');
    const meter = new ProcMeter(serverPid, { children: spec.serverChildren === true });
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
      serverChildrenCpuPct: (100 * srv.childrenCpuS) / srv.wallS,
      serverRssMb: srv.maxRssMb,
      cpuPerClientFrameUs: frames > 0 ? (srv.cpuS * 1e6) / frames : NaN,
      loadgenCpuPct: lg.reduce((s, x) => s + (x?.cpuPct ?? 0), 0),
      totalCpuPerClientFrameUs: frames > 0 ? ((srv.cpuS + lg.reduce((s, x) => s + (x?.cpuS ?? 0), 0)) * 1e6) / frames : NaN,
      windowS: srv.wallS,
      reader,
      h264: results.some((x) => x.h264)
        ? results.reduce<H264Counts>((s, x) => ({ keyframes: s.keyframes + (x.h264?.keyframes ?? 0), catchup: s.catchup + (x.h264?.catchup ?? 0), skipped: s.skipped + (x.h264?.skipped ?? 0) }), { keyframes: 0, catchup: 0, skipped: 0 })
        : null,
    };
  } catch (e) {
    const tail = stderr.join('').trim().slice(-1500);
    throw new Error(`${e instanceof Error ? e.message : String(e)}${tail ? `\nloadgen stderr: ${tail}` : ''}`);
  } finally {
    await Promise.all(children.map((c) => stopProcess(c, 2000, 'SIGTERM')));
  }
}
