/**
 * What the H.264 scenarios share: the frames they encode (the test pattern, a synthetic camera-like clip),
 * framewire's H264Encoder and plain ffmpeg with the same arguments, fed the same frames, and SSIM of a
 * decoded stream against the frames it was made from (ffmpeg's ssim filter).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { FlvH264Reader } from '../../src/codecs/flv-h264.js';
import { H264Encoder, type EncodedAccessUnit } from '../../src/pipeline/h264-encoder.js';
import { buildH264EncoderArgs, validateH264Settings, type X264Preset } from '../../src/pipeline/h264-encoder-args.js';
import { testFrames } from './media.js';
import { procSample } from './procs.js';

/** What `serve` gives an H.264 profile by default (docs/h264.md): 2 s GOP at 30 fps, libx264 ultrafast. */
export const H264_DEFAULTS = { fps: 30, gop: 60, preset: 'ultrafast' as X264Preset, maxInFlight: 3 };

export interface RawClip {
  name: string;
  /** rgb24 frames, back to back. */
  file: string;
  width: number;
  height: number;
  frames: number;
}

/** The test pattern `serve --source testpattern` draws, rendered to a raw file. */
export function testPatternClip(file: string, width: number, height: number, frames: number): RawClip {
  const fd = fs.openSync(file, 'w');
  try {
    for (const f of testFrames(width, height, frames)) fs.writeSync(fd, f.data);
  } finally {
    fs.closeSync(fd);
  }
  return { name: 'test pattern', file, width, height, frames };
}

/**
 * A synthetic clip with a camera's statistics, from ffmpeg's lavfi alone (no footage is downloaded or
 * shipped): a still "scene" of four octaves of value noise (40×24, 160×90, 640×360 and 1920×1080 random
 * pixels scaled up bicubically and mixed 8:4:2:1, so detail at every scale with a falling spectrum, as in
 * natural images), contrast raised and colour muted, lit by a four-colour `gradients` field (overlay blend);
 * a 1280×720 window pans across it slowly (sinusoids of 10 s and 13 s, up to ~190 px/s); optics blur
 * (gblur σ 0.6) and sensor noise new in every frame (noise alls=6, temporal). It is synthetic: it has
 * neither occlusion nor moving objects nor real scene structure.
 */
/**
 * Light of the camera-like scene: a well-lit one has high contrast and little sensor noise, a dim one flat
 * contrast (gain) and noise three times as strong (ffmpeg `noise` strength, new every frame).
 */
export const CAMERA_LIGHT = {
  daylight: { contrast: 1.6, noise: 2 },
  dim: { contrast: 2.2, noise: 6 },
} as const;
export type CameraLight = keyof typeof CAMERA_LIGHT;

export function cameraLikeFilter(width: number, height: number, light: CameraLight = 'daylight'): string {
  const { contrast, noise } = CAMERA_LIGHT[light];
  const W = Math.round(width * 1.5);
  const H = Math.round(height * 1.5);
  const octave = (w: number, h: number, seed: number, label: string): string =>
    `color=c=gray:s=${w}x${h}:r=30,format=gbrp,noise=alls=100:allf=u:all_seed=${seed},trim=end_frame=1${w === W ? '' : `,scale=${W}:${H}:flags=bicubic`}[${label}]`;
  const px = Math.round((W - width) / 2);
  const py = Math.round((H - height) / 2);
  return [
    octave(Math.max(2, Math.round(W / 48)), Math.max(2, Math.round(H / 45)), 1, 'a'),
    octave(Math.round(W / 12), Math.round(H / 12), 2, 'b'),
    octave(Math.round(W / 3), Math.round(H / 3), 3, 'c'),
    octave(W, H, 4, 'd'),
    `gradients=s=${W}x${H}:r=30:c0=0x304050:c1=0xd8c8a0:c2=0x587040:c3=0xf0f0e8:n=4:seed=5,trim=end_frame=1,format=gbrp[g]`,
    `[a][b][c][d]mix=inputs=4:weights=8 4 2 1,eq=contrast=${contrast}:saturation=0.5[t]`,
    `[t][g]blend=all_mode=overlay,loop=loop=-1:size=1:start=0,setpts=N/30/TB,` +
      `crop=${width}:${height}:x='${px}+${Math.round(px * 0.94)}*sin(2*PI*t/10)':y='${py}+${Math.round(py * 0.83)}*sin(2*PI*t/13)',` +
      `gblur=sigma=0.6,noise=alls=${noise}:allf=t`,
  ].join(';');
}

export async function cameraLikeClip(file: string, width: number, height: number, frames: number, light: CameraLight = 'daylight'): Promise<RawClip> {
  await run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', cameraLikeFilter(width, height, light), '-frames:v', String(frames), '-pix_fmt', 'rgb24', '-f', 'rawvideo', file]);
  const size = fs.statSync(file).size;
  if (size !== width * height * 3 * frames) throw new Error(`camera-like clip: ${size} bytes, expected ${frames} frames of ${width}x${height}`);
  return { name: `synthetic camera-like clip, ${light}`, file, width, height, frames };
}

/** Frame i of a raw clip. */
export function readFrame(clip: RawClip, i: number): Buffer {
  const size = clip.width * clip.height * 3;
  const buf = Buffer.allocUnsafe(size);
  const fd = fs.openSync(clip.file, 'r');
  try {
    if (fs.readSync(fd, buf, 0, size, i * size) !== size) throw new Error(`${clip.file}: short read at frame ${i}`);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, timeout: 300_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`${cmd}: ${err.message} ${stderr.slice(-500)}`)) : resolve(stderr)));
  });
}

/** utime + stime of a live process, ms. */
function processCpuMs(pid: number): number {
  const s = procSample(pid);
  if (!s) throw new Error(`process ${pid} is gone`);
  return s.cpuS * 1000;
}

export interface EncodeSettings {
  width: number;
  height: number;
  /** bit/s */
  bitrate: number;
  preset?: X264Preset;
  /** Frames between encode() and their access unit at most (H264Encoder's maxInFlight; plain ffmpeg: frames ahead of its output). */
  inFlight?: number;
  /** H264Encoder only: false keeps frames rgb24 (ffmpeg converts them) even with the native addon; default true. */
  nativeI420?: boolean;
}

export interface EncoderRun {
  /** CPU of the ffmpeg child, ms. */
  ffmpegMs: number;
  /** CPU of this process while it fed the frames and took the output, ms. */
  nodeMs: number;
  aus: EncodedAccessUnit[];
  /** encode() to its access unit, ms, per frame. */
  latencyMs: number[];
}

/**
 * framewire's H264Encoder (libx264, the arguments `serve` uses), fed `count` frames as fast as it takes them.
 * Its Node side includes the I420 conversion on libuv's pool threads (process CPU counts every thread).
 */
export async function h264EncoderRun(frame: (i: number) => Buffer, count: number, s: EncodeSettings): Promise<EncoderRun> {
  const inFlight = s.inFlight ?? H264_DEFAULTS.maxInFlight;
  const enc = new H264Encoder({
    width: s.width,
    height: s.height,
    fps: H264_DEFAULTS.fps,
    bitrate: s.bitrate,
    gop: H264_DEFAULTS.gop,
    preset: s.preset ?? H264_DEFAULTS.preset,
    encoder: 'libx264',
    maxInFlight: inFlight,
    nativeI420: s.nativeI420 ?? true,
  });
  const aus: EncodedAccessUnit[] = [];
  const sentAt: number[] = [];
  const latencyMs: number[] = [];
  let wake: () => void = () => {};
  await enc.start({ accessUnit: (au) => (aus.push(au), latencyMs.push(performance.now() - sentAt[au.seq]!), wake()), event: () => {} });
  try {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      while (enc.inFlight >= inFlight) await new Promise<void>((r) => (wake = r));
      sentAt[i] = performance.now();
      enc.encode({ seq: i, captureUs: i, width: s.width, height: s.height, format: 'rgb24', data: frame(i) });
    }
    while (aus.length < count) {
      const dropped = enc.stats.droppedBusy + enc.stats.droppedDown + enc.stats.droppedInEncoder + enc.stats.badFrames;
      if (dropped > 0) throw new Error(`H264Encoder dropped ${dropped} of ${count} frames: ${JSON.stringify(enc.stats)}`);
      await new Promise<void>((r) => (wake = r));
    }
    const cpu = process.cpuUsage(cpu0);
    return { ffmpegMs: processCpuMs(enc.pid!), nodeMs: (cpu.user + cpu.system) / 1000, aus, latencyMs };
  } finally {
    await enc.stop();
  }
}

/**
 * The same encoder arguments, the same rgb24 frames, the output only counted: ffmpeg alone, fed rgb24 as a
 * user of ffmpeg would, converting them with swscale.
 */
export async function plainFfmpegRun(ffmpeg: string, frame: (i: number) => Buffer, count: number, s: EncodeSettings): Promise<{ ffmpegMs: number; nodeMs: number }> {
  const inFlight = s.inFlight ?? H264_DEFAULTS.maxInFlight;
  const settings = validateH264Settings({ width: s.width, height: s.height, fps: H264_DEFAULTS.fps, bitrate: s.bitrate, gop: H264_DEFAULTS.gop, preset: s.preset ?? H264_DEFAULTS.preset });
  const child = spawn(ffmpeg, buildH264EncoderArgs('libx264', settings, { kind: 'rgb24-stdin', width: s.width, height: s.height }), { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Counting access units needs the FLV tags parsed: the least a caller of plain ffmpeg does with its output.
  const reader = new FlvH264Reader();
  let out = 0;
  let gone = false;
  let wake: () => void = () => {};
  child.stdout.on('data', (c: Buffer) => {
    for (const ev of reader.push(c)) if (ev.kind === 'access-unit') out++;
    wake();
  });
  void exited.then(() => ((gone = true), wake()));
  try {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      while (i - out >= inFlight && !gone) await new Promise<void>((r) => (wake = r));
      if (gone) throw new Error(`ffmpeg exited: ${err.trim()}`);
      child.stdin.write(frame(i));
    }
    while (out < count && !gone) await new Promise<void>((r) => (wake = r));
    if (out < count) throw new Error(`ffmpeg exited after ${out} of ${count} access units: ${err.trim()}`);
    const cpu = process.cpuUsage(cpu0);
    return { ffmpegMs: processCpuMs(child.pid!), nodeMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    child.stdin.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/**
 * SSIM (ffmpeg's ssim filter, "All") of an encoded stream against the raw clip it was made from, frame by
 * frame (both re-timed to their frame index). The decoded pictures are converted to RGB as a viewer shows
 * them (each stream's own colour tags: JPEG full-range BT.601, framewire's H.264 limited-range BT.601), then
 * both sides are compared as planar RGB, so chroma subsampling counts against either codec alike.
 */
export async function ssimAgainst(encoded: string, demuxer: 'mjpeg' | 'h264', clip: RawClip): Promise<{ all: number; frames: number }> {
  const stderr = await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
    '-f', demuxer, '-framerate', '30', '-i', encoded,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${clip.width}x${clip.height}`, '-framerate', '30', '-i', clip.file,
    '-lavfi', '[0:v]setpts=N/30/TB,format=rgb24,format=gbrp[a];[1:v]setpts=N/30/TB,format=gbrp[b];[a][b]ssim=shortest=1',
    '-f', 'null', '-',
  ]);
  const m = /SSIM R:[\d.]+ \([^)]*\) G:[\d.]+ \([^)]*\) B:[\d.]+ \([^)]*\) All:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no SSIM in ffmpeg's output: ${stderr.slice(-400)}`);
  const f = [...stderr.matchAll(/frame=\s*(\d+)/g)].pop();
  return { all: Number(m[1]), frames: f ? Number(f[1]) : NaN };
}
