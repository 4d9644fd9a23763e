/**
 * 3b. Fan-out of H.264 over framewire/1 against JPEG fan-out of the same count, back to back: one profile
 * (720p test pattern, 30 fps), server CPU per delivered frame with the encoder's ffmpeg child counted.
 */
import type { RunResult } from '../lib/load.js';
import { errorText, f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { framewireRun, HD } from './common.js';

function counts(ctx: BenchContext): number[] {
  return ctx.smoke ? [20] : [300];
}

function row(n: number, label: string, r: RunResult | string, jpeg: RunResult | string): string[] {
  if (typeof r === 'string') return [String(n), label, r, '', '', '', '', '', '', '', '', '', ''];
  const ref = typeof jpeg === 'string' ? null : jpeg;
  const h = r.h264;
  return [
    String(n),
    label,
    `${r.connected}/${r.clients}`,
    f1(r.fpsMin),
    f1(r.fpsMedian),
    String(r.atLeast),
    f1(r.serverCpuPct),
    f1(r.serverChildrenCpuPct),
    f1(r.cpuPerClientFrameUs),
    ref ? `${(r.cpuPerClientFrameUs / ref.cpuPerClientFrameUs).toFixed(2)}×` : '–',
    f1(r.totalCpuPerClientFrameUs),
    `${((r.bytes / Math.max(1, r.frames)) / 1024).toFixed(1)} KiB`,
    h ? `${h.keyframes} / ${h.catchup} / ${h.skipped}` : '–',
  ];
}

export const fanoutH264: Scenario = {
  name: 'fanout-h264',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    for (const n of counts(ctx)) {
      const load = { mode: 'fw' as const, clients: n, reader: 'native' as const, serverChildren: true, request: { width: HD.width, height: HD.height, fps: HD.fps } };
      const attempt = async (key: string, codec: 'jpeg' | 'h264'): Promise<RunResult | string> => {
        try {
          return await framewireRun(ctx, key, { ...HD }, { ...load, codec });
        } catch (e) {
          return `failed: ${errorText(e)}`;
        }
      };
      const h264 = await attempt(`fw-h264:${n}`, 'h264');
      const jpeg = await attempt(`fw-jpeg-tree:${n}`, 'jpeg');
      rows.push(row(n, 'H.264 (2000 kbit/s, encoder child counted)', h264, jpeg));
      rows.push(row(n, 'JPEG q80', jpeg, jpeg));
      const label = `H.264 fan-out, ${n} viewers of one 1280×720@30 profile (native reader)`;
      if (typeof h264 === 'string' || typeof jpeg === 'string') {
        ctx.targets.push({ target: `${label}: server CPU per delivered frame ≤ JPEG's, encode included`, value: typeof h264 === 'string' ? h264 : String(jpeg), met: null });
        if (typeof h264 === 'string') ctx.targets.push({ target: `${label}: every viewer ≥ 29.5 fps`, value: h264, met: null });
      } else {
        const x = h264.cpuPerClientFrameUs / jpeg.cpuPerClientFrameUs;
        ctx.targets.push({
          target: `${label}: server CPU per delivered frame ≤ JPEG's, encode included`,
          value: `${h264.cpuPerClientFrameUs.toFixed(1)} vs ${jpeg.cpuPerClientFrameUs.toFixed(1)} µs = ${x.toFixed(2)}×`,
          met: x <= 1,
        });
      }
      if (typeof h264 !== 'string') {
        ctx.targets.push({ target: `${label}: every viewer ≥ 29.5 fps`, value: `${h264.atLeast} of ${n} (min ${h264.fpsMin.toFixed(1)}, median ${h264.fpsMedian.toFixed(1)})`, met: n >= 300 ? h264.atLeast >= n : null });
      }
    }
    return {
      title: '3b. Fan-out of H.264 vs JPEG over framewire/1, one 1280×720@30 profile',
      tables: [
        {
          headers: ['clients', 'codec', 'connected', 'fps min', 'fps median', '≥ 29.5 fps', 'server CPU % (with children)', 'of which children %', 'µs CPU / client-frame', 'ratio vs JPEG', 'server + clients µs / client-frame', 'bytes / frame', 'keyframes / catch-up / skipped'],
          rows,
        },
      ],
      notes: [
        'Two framewire servers (`serve --source testpattern`, 1280×720@30, q80, `--codec both`, `--bitrate` default 2000 kbit/s, GOP 2 s), one after the other in this run, each read by the native reader (bench/native-reader/reader.c: one epoll process, every socket read as soon as it has data, an ACK for every FRAME, so the reader is not what limits the server), every client asking for 1280×720@30: one profile, one encode per captured frame. The H.264 clients offer JPEG and H.264 in HELLO (codecs byte 03) and a client granted anything but H.264 fails the run; the JPEG clients offer JPEG only.',
        "Server CPU: utime + stime of the node process and of its child processes alive at the end of the window (the H.264 encoder's ffmpeg; the JPEG server has none), from /proc over the measurement window; per client-frame = that CPU ÷ FRAMEs delivered to all clients. So the H.264 figure includes the encode, as the JPEG one includes its JPEG encode on the thread pool.",
        'keyframes / catch-up / skipped (H.264 only, over the measurement, all clients together): FRAMEs flagged keyframe; FRAMEs flagged catch-up (decoded, not shown, counted in fps too); seqs passed over between a client\'s consecutive FRAMEs (frames skipped for it). No Node-load column: bench/loadgen.ts does not offer H.264.',
      ],
    };
  },
};
