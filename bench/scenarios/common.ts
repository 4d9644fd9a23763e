/** Helpers the fan-out scenarios share: server runs by key, the GStreamer reference, the MJPEG media. */
import { errorText, memo, type BenchContext } from '../lib/context.js';
import { runLoad, type LoadSpec, type RunResult } from '../lib/load.js';
import { makeMjpeg } from '../lib/media.js';
import { startFramewire, startGstreamer, type FramewireOptions } from '../lib/servers.js';

export const HD = { width: 1280, height: 720, fps: 30, quality: 80 };

export function media720(ctx: BenchContext): Promise<{ mjpeg: string; avi: string | null; meanBytes: number }> {
  return memo(ctx, 'media720', () => {
    ctx.log('making the 1280×720 MJPEG reference file');
    return makeMjpeg(ctx.tmp, HD.width, HD.height, HD.fps, HD.quality, ctx.smoke ? 60 : 300);
  });
}

/** framewire as its own process (CLI), one load run against it; cached by key. */
export async function framewireRun(ctx: BenchContext, key: string, server: FramewireOptions, load: Omit<LoadSpec, 'port' | 'warmupS' | 'durationS'>): Promise<RunResult> {
  const cached = ctx.runs.get(key);
  if (cached) return cached;
  ctx.log(`${key}: starting framewire (${server.source ?? 'testpattern'} ${server.width}x${server.height}@${server.fps})`);
  const srv = await startFramewire(server);
  try {
    const port = load.mode === 'mjpeg' ? srv.httpPort! : srv.port;
    const r = await runLoad(srv.pid, { ...load, port, warmupS: ctx.warmupS, durationS: ctx.durationS });
    ctx.runs.set(key, r);
    ctx.log(`${key}: ${summary(r)}`);
    return r;
  } finally {
    await srv.stop();
  }
}

/** The GStreamer reference run for n clients, or the text saying why there is none. */
export async function gstReference(ctx: BenchContext, n: number): Promise<{ ref: RunResult | null; refText: string }> {
  if (!ctx.tools.gstreamer.ok || !ctx.tools.ffmpeg.ok) return { ref: null, refText: 'missing (GStreamer/ffmpeg)' };
  try {
    return { ref: await gstRun(ctx, n), refText: '' };
  } catch (e) {
    return { ref: null, refText: `failed: ${errorText(e)}` };
  }
}

export async function gstRun(ctx: BenchContext, clients: number): Promise<RunResult> {
  const key = `gst:${clients}`;
  const cached = ctx.runs.get(key);
  if (cached) return cached;
  const m = await media720(ctx);
  ctx.log(`${key}: starting GStreamer`);
  const srv = await startGstreamer(m.avi ?? m.mjpeg, HD.fps);
  try {
    const r = await runLoad(srv.pid, { mode: 'gst-multipart', port: srv.port, clients, warmupS: ctx.warmupS, durationS: ctx.durationS });
    ctx.runs.set(key, r);
    ctx.log(`${key}: ${summary(r)}`);
    return r;
  } finally {
    await srv.stop();
  }
}

export function summary(r: RunResult): string {
  return `${r.connected}/${r.clients} connected, fps min ${r.fpsMin.toFixed(1)} p5 ${r.fpsP5.toFixed(1)} median ${r.fpsMedian.toFixed(1)}, ≥29.5: ${r.atLeast}, server CPU ${r.serverCpuPct.toFixed(0)} %, RSS ${r.serverRssMb.toFixed(0)} MB, ${r.cpuPerClientFrameUs.toFixed(1)} µs/client-frame${r.latency ? `, latency p50 ${r.latency.p50.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} ms` : ''}`;
}

export const FANOUT_HEADERS = ['clients', 'server', 'connected', 'fps min', 'fps p5', 'fps median', '≥ 29.5 fps', 'server CPU %', 'server RSS MB', 'µs CPU / client-frame', 'ratio vs GStreamer', 'loadgen CPU %'];

export function fanoutRow(clients: number, label: string, r: RunResult | string, ref: RunResult | null): string[] {
  if (typeof r === 'string') return [String(clients), label, r, '', '', '', '', '', '', '', '', ''];
  const ratioText = ref && ref !== r && ref.cpuPerClientFrameUs > 0 ? `${(r.cpuPerClientFrameUs / ref.cpuPerClientFrameUs).toFixed(2)}×` : ref === r ? '1.00×' : '–';
  return [
    String(clients),
    label,
    `${r.connected}/${r.clients}`,
    r.fpsMin.toFixed(1),
    r.fpsP5.toFixed(1),
    r.fpsMedian.toFixed(1),
    String(r.atLeast),
    r.serverCpuPct.toFixed(0),
    r.serverRssMb.toFixed(0),
    r.cpuPerClientFrameUs.toFixed(1),
    ratioText,
    r.loadgenCpuPct.toFixed(0),
  ];
}
