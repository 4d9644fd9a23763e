/**
 * Which H.264 encoders really work on this host. ffmpeg lists encoders it was built with (`-encoders`), not
 * ones the machine can run: h264_nvenc is listed without an NVIDIA GPU, h264_vaapi without a render node.
 * So each candidate encodes a few frames of ffmpeg's test source with the very arguments the encoder runs
 * with, and counts as working only when its output parses as H.264 with a keyframe of the right size.
 * Results are cached per ffmpeg binary, encoder and VA-API device for the life of the process.
 */
import { spawn } from 'node:child_process';
import { FramewireError, toFramewireError } from '../errors.js';
import { FlvH264Reader } from '../codecs/flv-h264.js';
import { ParameterSetCache } from '../codecs/h264/params.js';
import { findFfmpeg } from '../sources/ffmpeg/locate.js';
import { trackChild } from '../sources/ffmpeg/child-reaper.js';
import {
  buildH264EncoderArgs,
  DEFAULT_VAAPI_DEVICE,
  HARDWARE_ENCODERS,
  validateH264Settings,
  type H264EncoderChoice,
  type H264EncoderName,
} from './h264-encoder-args.js';

export const LIBX264_MISSING =
  'H.264 needs an ffmpeg with libx264, and this one cannot encode with it: install one that has it ' +
  '(Debian/Ubuntu: apt-get install ffmpeg; Fedora: ffmpeg from RPM Fusion; macOS: brew install ffmpeg) or set FFMPEG_PATH to it';

export interface EncoderProbe {
  encoder: H264EncoderName;
  ok: boolean;
  /** Why not (ffmpeg's own words), or what it produced. */
  detail: string;
  ms: number;
}

export interface ProbeOptions {
  vaapiDevice?: string;
  /** A probe that has not finished by then fails (a hung driver); default 15 000 ms. */
  timeoutMs?: number;
}

const PROBE_FRAMES = 5;
const PROBE_WIDTH = 320;
const PROBE_HEIGHT = 240;
/** Output a 5-frame 320x240 probe can legitimately make is far below this. */
const PROBE_MAX_OUTPUT = 4 * 1024 * 1024;

const cache = new Map<string, Promise<EncoderProbe>>();

/** Forget cached probe results (tests; a host whose drivers changed). */
export function clearEncoderProbeCache(): void {
  cache.clear();
}

/** The informative line of ffmpeg's error output: the first one a component wrote, without its "[name @ 0x…]" tag. */
export function probeFailureLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const tagged = lines.find((l) => /^\[[^\]]+ @ 0x[0-9a-f]+\] /i.test(l));
  const line = tagged ?? lines[0] ?? 'no error output';
  return line.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\] /i, '').slice(0, 300);
}

/** Try one encoder (cached). Never rejects: a failure is a result with ok = false. */
export function probeH264Encoder(ffmpegPath: string, encoder: H264EncoderName, options: ProbeOptions = {}): Promise<EncoderProbe> {
  const device = options.vaapiDevice ?? DEFAULT_VAAPI_DEVICE;
  const key = `${ffmpegPath}\0${encoder}\0${encoder === 'h264_vaapi' ? device : ''}`;
  let p = cache.get(key);
  if (!p) {
    p = runProbe(ffmpegPath, encoder, device, options.timeoutMs ?? 15_000);
    cache.set(key, p);
  }
  return p;
}

function runProbe(ffmpegPath: string, encoder: H264EncoderName, vaapiDevice: string, timeoutMs: number): Promise<EncoderProbe> {
  const started = performance.now();
  const settings = validateH264Settings({ width: PROBE_WIDTH, height: PROBE_HEIGHT, fps: 30, bitrate: 500_000, gop: PROBE_FRAMES, vaapiDevice });
  const args = buildH264EncoderArgs(encoder, settings, { kind: 'testsrc', frames: PROBE_FRAMES });
  return new Promise<EncoderProbe>((resolve) => {
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      resolve({ encoder, ok, detail, ms: Math.round(performance.now() - started) });
    };
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    trackChild(child);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(false, `no result within ${timeoutMs} ms`);
    }, timeoutMs);
    const reader = new FlvH264Reader();
    const params = new ParameterSetCache();
    let pictures = 0;
    let keyframeSize = '';
    let outBytes = 0;
    let parseError: FramewireError | null = null;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (parseError || outBytes > PROBE_MAX_OUTPUT) return;
      try {
        for (const ev of reader.push(chunk)) {
          if (ev.kind === 'config') for (const n of [...ev.sps, ...ev.pps]) params.add(n);
          else if (ev.kind === 'access-unit') {
            const au = params.prepare(ev.au);
            pictures++;
            if (au.keyframe && !keyframeSize && params.sps) keyframeSize = `${params.sps.width}x${params.sps.height}`;
          }
        }
      } catch (e) {
        parseError = toFramewireError(e, 'E_MALFORMED');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString();
    });
    child.once('error', (err) => done(false, `cannot run ${ffmpegPath}: ${err.message}`));
    child.once('close', (code, signal) => {
      if (code !== 0) return done(false, signal ? `ffmpeg killed by ${signal}` : probeFailureLine(stderr));
      if (parseError) return done(false, `output is not usable H.264: ${parseError.message}`);
      if (keyframeSize !== `${PROBE_WIDTH}x${PROBE_HEIGHT}`) {
        return done(false, keyframeSize ? `keyframe of ${keyframeSize}, expected ${PROBE_WIDTH}x${PROBE_HEIGHT}` : 'no keyframe with SPS/PPS in its output');
      }
      done(true, `${pictures} pictures from ${PROBE_FRAMES} frames`);
    });
  });
}

export interface EncoderSelection {
  encoder: H264EncoderName;
  /** Every probe run to decide, in order. */
  probes: EncoderProbe[];
  /** One line for the log: what was picked and why the others were not. */
  summary: string;
}

function describe(p: EncoderProbe): string {
  return `${p.encoder}: ${p.ok ? 'works' : p.detail}`;
}

/**
 * Resolve --h264-encoder: `auto` takes the first hardware encoder that works, else libx264; a named one must
 * work. Rejects with E_UNSUPPORTED and one line saying what to install or why the named one fails.
 */
export async function selectH264Encoder(
  choice: H264EncoderChoice,
  options: ProbeOptions & { ffmpegPath?: string } = {},
): Promise<EncoderSelection> {
  let ffmpegPath = options.ffmpegPath;
  if (!ffmpegPath) {
    try {
      ffmpegPath = (await findFfmpeg()).path;
    } catch (e) {
      throw new FramewireError('E_UNSUPPORTED', `H.264 encoding: ${toFramewireError(e).message}`, { cause: e });
    }
  }
  const candidates: H264EncoderName[] = choice === 'auto' ? [...HARDWARE_ENCODERS, 'libx264'] : [choice];
  const probes: EncoderProbe[] = [];
  for (const encoder of candidates) {
    const p = await probeH264Encoder(ffmpegPath, encoder, options);
    probes.push(p);
    if (p.ok) {
      const others = probes.filter((q) => !q.ok).map(describe);
      const summary = `H.264 encoder: ${encoder}${choice === 'auto' ? ' (auto)' : ''}${others.length ? `; not used: ${others.join('; ')}` : ''}`;
      return { encoder, probes, summary };
    }
  }
  const last = probes[probes.length - 1]!;
  if (last.encoder === 'libx264') {
    throw new FramewireError('E_UNSUPPORTED', `${LIBX264_MISSING} (ffmpeg said: ${last.detail})`);
  }
  throw new FramewireError('E_UNSUPPORTED', `H.264 encoder ${last.encoder} does not work on this host: ${last.detail}`);
}
