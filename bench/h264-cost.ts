/**
 * What the H.264 encoder costs and what it saves, indicatively (docs/h264.md):
 *  - CPU per frame of H264Encoder (its ffmpeg child plus the Node side: FLV parsing, access units, labels)
 *    against plain ffmpeg with the same arguments on the same frames;
 *  - bytes per frame and PSNR of H.264 at a few bitrates against JPEG quality 80, on the test pattern.
 *
 *   npx tsx bench/h264-cost.ts [--width 1280] [--height 720] [--frames 150] [--runs 3]
 *
 * Frames are rendered before timing starts, fed as fast as the encoder takes them (two in flight), and CPU
 * is read from /proc (Linux) when the last access unit is out. Not part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FlvH264Reader } from '../src/codecs/flv-h264.js';
import { H264Encoder, type EncodedAccessUnit } from '../src/pipeline/h264-encoder.js';
import { buildH264EncoderArgs, validateH264Settings, type X264Preset } from '../src/pipeline/h264-encoder-args.js';
import { findFfmpeg } from '../src/sources/ffmpeg/locate.js';
import { TestPatternRenderer } from '../src/sources/testpattern.js';

const { values } = parseArgs({
  options: {
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    frames: { type: 'string', default: '150' },
    runs: { type: 'string', default: '3' },
  },
});
const W = Number(values.width);
const H = Number(values.height);
const N = Number(values.frames);
const RUNS = Number(values.runs);
const FPS = 30;
const GOP = 60;
const TICK_MS = 10; // getconf CLK_TCK = 100 on Linux

/** utime + stime of a live process, ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface OursResult {
  ffmpegMs: number;
  nodeMs: number;
  aus: EncodedAccessUnit[];
  /** encode() to its access unit, one frame in flight at a time, ms */
  latencyMs: number[];
}

async function ours(frames: Buffer[], bitrate: number, preset: X264Preset, inFlight = 2): Promise<OursResult> {
  const enc = new H264Encoder({ width: W, height: H, fps: FPS, bitrate, gop: GOP, preset, encoder: 'libx264', maxInFlight: inFlight });
  const aus: EncodedAccessUnit[] = [];
  const sentAt: number[] = [];
  const latencyMs: number[] = [];
  let wake: () => void = () => {};
  await enc.start({ accessUnit: (au) => (aus.push(au), latencyMs.push(performance.now() - sentAt[au.seq]!), wake()), event: () => {} });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < frames.length; i++) {
    while (enc.inFlight >= inFlight) await new Promise<void>((r) => (wake = r));
    sentAt[i] = performance.now();
    enc.encode({ seq: i, captureUs: i, width: W, height: H, format: 'rgb24', data: frames[i]! });
  }
  while (aus.length < frames.length) await new Promise<void>((r) => (wake = r));
  const cpu = process.cpuUsage(cpu0);
  const ffmpegMs = processCpuMs(enc.pid!);
  await enc.stop();
  return { ffmpegMs, nodeMs: (cpu.user + cpu.system) / 1000, aus, latencyMs };
}

/** The same arguments, the same frames, output read and thrown away: ffmpeg alone. */
async function plain(ffmpeg: string, frames: Buffer[], bitrate: number, preset: X264Preset): Promise<{ ffmpegMs: number; nodeMs: number }> {
  const settings = validateH264Settings({ width: W, height: H, fps: FPS, bitrate, gop: GOP, preset });
  const child = spawn(ffmpeg, buildH264EncoderArgs('libx264', settings, { kind: 'rgb24-stdin', width: W, height: H }), { stdio: ['pipe', 'pipe', 'inherit'] });
  const reader = new FlvH264Reader();
  let out = 0;
  let wake: () => void = () => {};
  child.stdout.on('data', (c: Buffer) => {
    for (const ev of reader.push(c)) if (ev.kind === 'access-unit') out++;
    wake();
  });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < frames.length; i++) {
    while (i - out >= 2) await new Promise<void>((r) => (wake = r));
    child.stdin.write(frames[i]!);
  }
  while (out < frames.length) await new Promise<void>((r) => (wake = r));
  const cpu = process.cpuUsage(cpu0);
  const ffmpegMs = processCpuMs(child.pid!);
  child.stdin.end();
  await new Promise((r) => child.once('exit', r));
  return { ffmpegMs, nodeMs: (cpu.user + cpu.system) / 1000 };
}

/** PSNR (RGB, dB) of the decoded stream against the frames it was made from. */
async function psnr(ffmpeg: string, annexB: Buffer, frames: Buffer[]): Promise<number> {
  const child = spawn(ffmpeg, ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(annexB);
  const size = W * H * 3;
  let sse = 0;
  let n = 0;
  let pending = Buffer.alloc(0);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= size) {
      const src = frames[n++]!;
      for (let i = 0; i < size; i++) {
        const d = pending[i]! - src[i]!;
        sse += d * d;
      }
      pending = pending.subarray(size);
    }
  }
  return 10 * Math.log10((255 * 255) / (sse / (n * size)));
}

function jpegPsnr(decoded: Buffer, src: Buffer): number {
  let sse = 0;
  for (let i = 0; i < src.length; i++) {
    const d = decoded[i]! - src[i]!;
    sse += d * d;
  }
  return 10 * Math.log10((255 * 255) / (sse / src.length));
}

async function main(): Promise<void> {
  const ffmpeg = (await findFfmpeg()).path;
  const renderer = new TestPatternRenderer(W, H);
  const frames = Array.from({ length: N }, (_, i) => renderer.render(i, 1_700_000_000_000_000 + i * 33_333));
  console.log(`test pattern ${W}x${H}, ${N} frames, GOP ${GOP}, libx264, ${RUNS} runs each (median)\n`);

  console.log('CPU per frame, ultrafast, 2 Mbit/s:');
  const plainFfmpeg: number[] = [];
  const plainNode: number[] = [];
  const oursFfmpeg: number[] = [];
  const oursNode: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const p = await plain(ffmpeg, frames, 2_000_000, 'ultrafast');
    plainFfmpeg.push(p.ffmpegMs);
    plainNode.push(p.nodeMs);
    const o = await ours(frames, 2_000_000, 'ultrafast');
    oursFfmpeg.push(o.ffmpegMs);
    oursNode.push(o.nodeMs);
  }
  const pf = median(plainFfmpeg) / N;
  const pn = median(plainNode) / N;
  const of = median(oursFfmpeg) / N;
  const on = median(oursNode) / N;
  console.log(`  plain ffmpeg, same arguments   ffmpeg ${pf.toFixed(2)} ms + writing frames to it ${pn.toFixed(2)} ms = ${(pf + pn).toFixed(2)} ms`);
  console.log(`  H264Encoder                    ffmpeg ${of.toFixed(2)} ms + Node side (writing, FLV, access units) ${on.toFixed(2)} ms = ${(of + on).toFixed(2)} ms`);
  console.log(`  ratio                          ${((of + on) / (pf + pn)).toFixed(2)}x (ffmpeg alone: ${((of + on) / pf).toFixed(2)}x)\n`);

  const one = await ours(frames, 2_000_000, 'ultrafast', 1);
  const lat = [...one.latencyMs].sort((a, b) => a - b);
  const q = (p: number): string => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1);
  console.log(`Frame in → access unit out, one frame at a time: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms\n`);

  console.log('Bytes per frame and PSNR:');
  const jpegs = await Promise.all(
    frames.slice(0, 30).map((f) =>
      sharp(f, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 80, chromaSubsampling: '4:2:0', optimiseCoding: false, mozjpeg: false }).toBuffer(),
    ),
  );
  const jpegBytes = jpegs.reduce((s, j) => s + j.length, 0) / jpegs.length;
  const jp: number[] = [];
  for (let i = 0; i < 5; i++) {
    const dec = await sharp(jpegs[i]!).raw().toBuffer();
    jp.push(jpegPsnr(dec, frames[i]!));
  }
  console.log(`  JPEG q80                        ${(jpegBytes / 1024).toFixed(1)} KB/frame  PSNR ${(jp.reduce((a, b) => a + b) / jp.length).toFixed(1)} dB`);
  for (const [bitrate, preset] of [[1_000_000, 'ultrafast'], [2_000_000, 'ultrafast'], [4_000_000, 'ultrafast'], [2_000_000, 'veryfast']] as const) {
    const { aus } = await ours(frames, bitrate, preset);
    const all = aus.reduce((s, a) => s + a.data.length, 0) / aus.length;
    const keys = aus.filter((a) => a.keyframe);
    const key = keys.reduce((s, a) => s + a.data.length, 0) / keys.length;
    const p = await psnr(ffmpeg, Buffer.concat(aus.map((a) => a.data)), frames);
    console.log(
      `  H.264 ${String(bitrate / 1e6).padEnd(3)} Mbit/s ${preset.padEnd(9)}  ${(all / 1024).toFixed(1)} KB/frame (keyframe ${(key / 1024).toFixed(1)} KB)  PSNR ${p.toFixed(1)} dB  ${(jpegBytes / all).toFixed(1)}x smaller`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
