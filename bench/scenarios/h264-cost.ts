/**
 * 1b. CPU per frame of H264Encoder (its ffmpeg child and the Node side: converting frames to I420 with the
 * native addon, feeding frames, FLV parsing, access units, labels) against plain ffmpeg with the same encoder
 * arguments on the same rgb24 frames (swscale converting them); H264Encoder without the native conversion;
 * the conversion alone; and the delay from a frame in to its access unit out, one frame at a time.
 */
import { findFfmpeg } from '../../src/sources/ffmpeg/locate.js';
import { f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { H264_DEFAULTS, h264EncoderRun, plainFfmpegRun } from '../lib/h264.js';
import { testFrames } from '../lib/media.js';
import { median, percentile } from '../lib/stats.js';
import { i420Size, nativeJpeg } from '../../src/pipeline/native-jpeg.js';

/**
 * CPU ms per frame of the native rgb24 → I420 conversion alone, one at a time, into a reused buffer as
 * H264Encoder does; null without the addon.
 */
async function conversionMs(frames: Buffer[], w: number, h: number): Promise<number | null> {
  if (!nativeJpeg) return null;
  const out = Buffer.allocUnsafeSlow(i420Size(w, h));
  for (let i = 0; i < 10; i++) await nativeJpeg.rgbToI420(frames[i % frames.length]!, w, h, out);
  const cpu0 = process.cpuUsage();
  for (const f of frames) await nativeJpeg.rgbToI420(f, w, h, out);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / frames.length;
}

const BITRATE = 2_000_000;
const TARGET = 1.2;

export const h264Cost: Scenario = {
  name: 'h264-cost',
  async run(ctx: BenchContext): Promise<Section> {
    const title = '1b. H.264 encode: CPU per frame, H264Encoder vs plain ffmpeg';
    if (!ctx.tools.ffmpeg.ok) return { title, tables: [], notes: ['not measured: ffmpeg missing'] };
    const ffmpeg = (await findFfmpeg()).path;
    const [w, h, n, runs] = ctx.smoke ? [640, 360, 30, 1] : [1280, 720, 150, 3];
    // Rendered before any timing, held in memory: both sides are fed the same buffers.
    const frames = testFrames(w, h, n).map((f) => f.data);
    const frame = (i: number): Buffer => frames[i]!;
    const settings = { width: w, height: h, bitrate: BITRATE };
    const plainF: number[] = [];
    const plainN: number[] = [];
    const oursF: number[] = [];
    const oursN: number[] = [];
    const rgbF: number[] = [];
    const rgbN: number[] = [];
    const convert: number[] = [];
    // Alternating, so drift in what else the machine does falls on all alike.
    for (let r = 0; r < runs; r++) {
      const p = await plainFfmpegRun(ffmpeg, frame, n, settings);
      plainF.push(p.ffmpegMs / n);
      plainN.push(p.nodeMs / n);
      const o = await h264EncoderRun(frame, n, settings);
      oursF.push(o.ffmpegMs / n);
      oursN.push(o.nodeMs / n);
      if (nativeJpeg) {
        const g = await h264EncoderRun(frame, n, { ...settings, nativeI420: false });
        rgbF.push(g.ffmpegMs / n);
        rgbN.push(g.nodeMs / n);
        const c = await conversionMs(frames, w, h);
        if (c !== null) convert.push(c);
      }
    }
    const pf = median(plainF);
    const pn = median(plainN);
    const of = median(oursF);
    const on = median(oursN);
    const ratio = (of + on) / (pf + pn);
    const rf = rgbF.length > 0 ? median(rgbF) : null;
    const rn = rgbN.length > 0 ? median(rgbN) : null;
    const conv = convert.length > 0 ? median(convert) : null;
    const one = await h264EncoderRun(frame, n, { ...settings, inFlight: 1 });
    const lat = [...one.latencyMs].sort((a, b) => a - b);
    const input = nativeJpeg ? 'I420 converted natively' : 'rgb24, no native addon';
    ctx.log(
      `h264-cost: plain ffmpeg ${pf.toFixed(2)} + ${pn.toFixed(2)} ms/frame, H264Encoder (${input}) ${of.toFixed(2)} + ${on.toFixed(2)} ms/frame = ${ratio.toFixed(2)}×` +
        (rf !== null && rn !== null ? `, H264Encoder rgb24 ${rf.toFixed(2)} + ${rn.toFixed(2)} ms/frame` : '') +
        (conv !== null ? `, conversion alone ${conv.toFixed(2)} ms/frame` : '') +
        `; one at a time p50 ${percentile(lat, 50).toFixed(1)} ms`,
    );
    ctx.targets.push({
      target: `H264Encoder CPU per frame ≤ ${TARGET}× plain ffmpeg, same arguments (${w}×${h})`,
      value: `${(of + on).toFixed(2)} vs ${(pf + pn).toFixed(2)} ms = ${ratio.toFixed(2)}×`,
      met: ratio <= TARGET,
    });
    return {
      title,
      tables: [
        {
          headers: ['encoder', 'ffmpeg ms / frame', 'Node side ms / frame', 'total ms / frame', 'ratio'],
          rows: [
            ['plain ffmpeg, same arguments, rgb24 frames written to its stdin', f1(pf, 2), f1(pn, 2), f1(pf + pn, 2), '1.00×'],
            [`H264Encoder (${input})`, f1(of, 2), f1(on, 2), f1(of + on, 2), `${ratio.toFixed(2)}×`],
            ...(rf !== null && rn !== null ? [['H264Encoder, rgb24 to ffmpeg (nativeI420: false)', f1(rf, 2), f1(rn, 2), f1(rf + rn, 2), `${((rf + rn) / (pf + pn)).toFixed(2)}×`]] : []),
          ],
        },
        ...(conv !== null
          ? [{ caption: 'the native rgb24 → I420 conversion alone (included in H264Encoder\'s Node side above)', headers: ['CPU ms / frame'], rows: [[f1(conv, 2)]] }]
          : []),
        {
          caption: 'frame in → access unit out, one frame in flight at a time (H264Encoder)',
          headers: ['frames', 'p50 ms', 'p95 ms', 'max ms'],
          rows: [[String(lat.length), f1(percentile(lat, 50), 1), f1(percentile(lat, 95), 1), f1(lat.at(-1), 1)]],
        },
      ],
      notes: [
        `${n} test-pattern frames at ${w}×${h}, rendered before timing and held in memory; libx264 ${H264_DEFAULTS.preset}, ${BITRATE / 1e6} Mbit/s, GOP ${H264_DEFAULTS.gop}, the arguments \`serve\` uses (\`buildH264EncoderArgs\`); median of ${runs} run(s) each, plain and H264Encoder alternating.`,
        'Plain ffmpeg gets rgb24, as a user of ffmpeg would feed it, and converts with swscale; H264Encoder converts frames at the output size to I420 with the native addon (libjpeg-turbo) on libuv\'s thread pool when it is built, and its Node side includes that CPU (all threads of the process count).',
        `Frames are fed as fast as each takes them, at most ${H264_DEFAULTS.maxInFlight} ahead of the output (H264Encoder's default maxInFlight). ffmpeg's CPU is its utime + stime from /proc when the last access unit is out; the Node side is this process's CPU over the same span: writing frames, and for plain ffmpeg parsing the FLV tags to count access units, for H264Encoder also building labelled access units.`,
      ],
    };
  },
};
