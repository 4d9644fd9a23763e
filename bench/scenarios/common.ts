/** Helpers the fan-out scenarios share: server runs by key, the GStreamer reference, the MJPEG media. */
import { errorText, memo, type BenchContext } from '../lib/context.js';
import { runLoad, type LoadSpec, type ReaderKind, type RunResult } from '../lib/load.js';
import { makeMjpeg } from '../lib/media.js';
import { startFramewire, startGstreamer, type FramewireOptions } from '../lib/servers.js';

export const HD = { width: 1280, height: 720, fps: 30, quality: 80 };

/** The client loads a fan-out row is measured with: the native reader first (the default), then Node's. */
export const READERS: readonly ReaderKind[] = ['native', 'node'];

export function media720(ctx: BenchContext): Promise<{ mjpeg: string; avi: string | null; meanBytes: number }> {
  return memo(ctx, 'media720', () => {
    ctx.log('making the 1280×720 MJPEG reference file');
    return makeMjpeg(ctx.tmp, HD.width, HD.height, HD.fps, HD.quality, ctx.smoke ? 60 : 300);
  });
}

function readerReady(ctx: BenchContext, reader: ReaderKind): void {
  if (reader === 'native' && !ctx.tools.reader.ok) throw new Error(`native reader missing: ${ctx.tools.reader.detail}`);
}

/** framewire as its own process (CLI), one load run against it; cached by key and reader. */
export async function framewireRun(ctx: BenchContext, key: string, server: FramewireOptions, load: Omit<LoadSpec, 'port' | 'warmupS' | 'durationS'>): Promise<RunResult> {
  const reader = load.mode === 'lib' || load.latency === 'lib' ? 'node' : (load.reader ?? 'native');
  const full = `${key}@${reader}`;
  const cached = ctx.runs.get(full);
  if (cached) return cached;
  readerReady(ctx, reader);
  ctx.log(`${full}: starting framewire (${server.source ?? 'testpattern'} ${server.width}x${server.height}@${server.fps})`);
  const srv = await startFramewire(server);
  try {
    const port = load.mode === 'mjpeg' ? srv.httpPort! : srv.port;
    const r = await runLoad(srv.pid, { ...load, reader, port, warmupS: ctx.warmupS, durationS: ctx.durationS });
    ctx.runs.set(full, r);
    ctx.log(`${full}: ${summary(r)}`);
    return r;
  } finally {
    await srv.stop();
  }
}

/** The GStreamer reference run for n clients and a reader, or the text saying why there is none. */
export async function gstReference(ctx: BenchContext, n: number, reader: ReaderKind = 'native'): Promise<{ ref: RunResult | null; refText: string }> {
  if (!ctx.tools.gstreamer.ok || !ctx.tools.ffmpeg.ok) return { ref: null, refText: 'missing (GStreamer/ffmpeg)' };
  try {
    return { ref: await gstRun(ctx, n, reader), refText: '' };
  } catch (e) {
    return { ref: null, refText: `failed: ${errorText(e)}` };
  }
}

export async function gstRun(ctx: BenchContext, clients: number, reader: ReaderKind = 'native'): Promise<RunResult> {
  const key = `gst:${clients}@${reader}`;
  const cached = ctx.runs.get(key);
  if (cached) return cached;
  readerReady(ctx, reader);
  const m = await media720(ctx);
  ctx.log(`${key}: starting GStreamer`);
  const srv = await startGstreamer(m.avi ?? m.mjpeg, HD.fps);
  try {
    // tcpserversink listens with a backlog of 5: connect a few at a time, or the connections it has not
    // accepted yet wait for SYN-ACK retransmits (1 s, 2 s, 4 s, …) before their first byte.
    const r = await runLoad(srv.pid, { mode: 'gst-multipart', reader, port: srv.port, clients, warmupS: ctx.warmupS, durationS: ctx.durationS, connectConcurrency: 4 });
    ctx.runs.set(key, r);
    ctx.log(`${key}: ${summary(r)}`);
    return r;
  } finally {
    await srv.stop();
  }
}

export function summary(r: RunResult): string {
  return `${r.connected}/${r.clients} connected, fps min ${r.fpsMin.toFixed(1)} p5 ${r.fpsP5.toFixed(1)} median ${r.fpsMedian.toFixed(1)}, ≥29.5: ${r.atLeast}, server CPU ${r.serverCpuPct.toFixed(1)} %, RSS ${r.serverRssMb.toFixed(0)} MB, ${r.cpuPerClientFrameUs.toFixed(1)} µs/client-frame (server + clients ${r.totalCpuPerClientFrameUs.toFixed(1)}), clients CPU ${r.loadgenCpuPct.toFixed(0)} %${r.latency ? `, latency p50 ${r.latency.p50.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} ms` : ''}`;
}

export const FANOUT_HEADERS = [
  'clients',
  'server',
  'connected',
  'fps min',
  'fps p5',
  'fps median',
  '≥ 29.5 fps',
  'server CPU %',
  'server RSS MB',
  'µs CPU / client-frame',
  'ratio vs GStreamer',
  'clients CPU %',
  'server + clients µs / client-frame',
  'ratio vs GStreamer (server + clients)',
  'Node load: fps median',
  'Node load: server CPU %',
  'Node load: µs / client-frame',
  'Node load: ratio vs GStreamer',
];

/** A run per reader; a failure becomes its text. */
export type Pair = Record<ReaderKind, RunResult | string>;

export async function pair(run: (reader: ReaderKind) => Promise<RunResult>): Promise<Pair> {
  const out = {} as Pair;
  for (const reader of READERS) {
    try {
      out[reader] = await run(reader);
    } catch (e) {
      out[reader] = `failed: ${errorText(e)}`;
    }
  }
  return out;
}

export async function gstPair(ctx: BenchContext, n: number): Promise<Pair> {
  const out = {} as Pair;
  for (const reader of READERS) {
    const { ref, refText } = await gstReference(ctx, n, reader);
    out[reader] = ref ?? refText;
  }
  return out;
}

function ratioText(r: number, ref: number): string {
  return Number.isFinite(r) && Number.isFinite(ref) && ref > 0 ? `${(r / ref).toFixed(2)}×` : '–';
}

export function fanoutRow(clients: number, label: string, p: Pair, ref: Pair): string[] {
  const n = p.native;
  const refN = typeof ref.native === 'string' ? null : ref.native;
  const native =
    typeof n === 'string'
      ? [n, '', '', '', '', '', '', '', '', '', '', '']
      : [
          `${n.connected}/${n.clients}`,
          n.fpsMin.toFixed(1),
          n.fpsP5.toFixed(1),
          n.fpsMedian.toFixed(1),
          String(n.atLeast),
          n.serverCpuPct.toFixed(1),
          n.serverRssMb.toFixed(0),
          n.cpuPerClientFrameUs.toFixed(1),
          refN ? ratioText(n.cpuPerClientFrameUs, refN.cpuPerClientFrameUs) : '–',
          n.loadgenCpuPct.toFixed(0),
          n.totalCpuPerClientFrameUs.toFixed(1),
          refN ? ratioText(n.totalCpuPerClientFrameUs, refN.totalCpuPerClientFrameUs) : '–',
        ];
  const d = p.node;
  const refD = typeof ref.node === 'string' ? null : ref.node;
  const node =
    typeof d === 'string'
      ? [d, '', '', '']
      : [d.fpsMedian.toFixed(1), d.serverCpuPct.toFixed(1), d.cpuPerClientFrameUs.toFixed(1), refD ? ratioText(d.cpuPerClientFrameUs, refD.cpuPerClientFrameUs) : '–'];
  return [String(clients), label, ...native, ...node];
}

/** The "≤ limit × GStreamer" target of one like-for-like row (native reader). */
export function cpuTarget(ctx: BenchContext, what: string, n: number, p: Pair, ref: Pair, limit: number): void {
  const r = p.native;
  const g = ref.native;
  if (typeof r === 'string' || typeof g === 'string') {
    ctx.targets.push({ target: `${what} CPU per client-frame ≤ ${limit.toFixed(1)}× GStreamer (${n} clients, native reader)`, value: typeof r === 'string' ? r : String(g), met: null });
    return;
  }
  const x = r.cpuPerClientFrameUs / g.cpuPerClientFrameUs;
  ctx.targets.push({
    target: `${what} CPU per client-frame ≤ ${limit.toFixed(1)}× GStreamer (${n} clients, native reader)`,
    value: `${r.cpuPerClientFrameUs.toFixed(1)} vs ${g.cpuPerClientFrameUs.toFixed(1)} µs = ${x.toFixed(2)}× (server + clients: ${(r.totalCpuPerClientFrameUs / g.totalCpuPerClientFrameUs).toFixed(2)}×)`,
    met: x <= limit,
  });
}
