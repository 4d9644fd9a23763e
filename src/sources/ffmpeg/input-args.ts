/**
 * Pure builders for ffmpeg command lines, one per source kind and platform, so they can be
 * unit-tested for every platform on any machine.
 */
import { argSecrets, redactText, redactUrl, urlSecrets } from '../redact.js';

export { redactUrl };

export type Platform = 'linux' | 'darwin' | 'win32';

/** The input half of an ffmpeg command line and how its output should be produced. */
export interface InputPlan {
  /** Input options and `-i ...`, placed before the output options. */
  args: string[];
  /** The input is already MJPEG: copy its JPEGs untouched (`-c:v copy`) instead of re-encoding. */
  passthrough: boolean;
  /**
   * The input is H.264: ffmpeg also writes its video stream untouched (`-c:v copy`, FLV) on pipe 3, beside
   * the JPEGs on stdout, for H.264 viewers at the source's size (docs/h264.md, Passthrough).
   */
  h264?: boolean;
  /** Human-readable, e.g. "camera /dev/video0 1280x720@30 mjpeg". */
  description: string;
  /** Frame rate of the input when known (from a device mode or a probe). */
  fps?: number;
  /** The input ends by itself (a file played once): a clean exit is the end, not a fault to restart. */
  finite?: boolean;
  /** Credentials and query values of the input's URL, scrubbed from everything ffmpeg says (sources/redact.ts). */
  secrets?: string[];
}

/** What a camera mode delivers: MJPEG, H.264, or raw frames (the device's own choice of raw format). */
export type CameraFormat = 'mjpeg' | 'h264' | 'raw';

export interface CameraMode {
  width: number;
  height: number;
  fps: number;
  /**
   * 'mjpeg': v4l2 `-input_format mjpeg`, dshow `-vcodec mjpeg`, JPEGs copied. 'h264': v4l2 `-input_format h264`,
   * dshow `-vcodec h264`, the plan marked `h264` (its stream forwarded on pipe 3). avfoundation ignores it (raw only).
   */
  format: CameraFormat;
}

export function asPlatform(p: NodeJS.Platform): Platform {
  if (p === 'darwin' || p === 'win32') return p;
  return 'linux';
}

const fmtFps = (fps: number): string => String(Math.round(fps * 1000) / 1000);

/** Linux: "/dev/video2" or "2"; macOS: index or name ("0", "FaceTime HD Camera"); Windows: name. */
export function cameraInputArgs(platform: Platform, device: string, mode: CameraMode): InputPlan {
  const size = `${mode.width}x${mode.height}`;
  const rate = fmtFps(mode.fps);
  const desc = (dev: string, format: CameraFormat): string => `camera ${dev} ${size}@${rate}${format === 'raw' ? '' : ` ${format}`}`;
  const coded = (format: CameraFormat, dev: string, args: string[]): InputPlan => {
    const plan: InputPlan = { args, passthrough: format === 'mjpeg', description: desc(dev, format), fps: mode.fps };
    if (format === 'h264') plan.h264 = true;
    return plan;
  };
  switch (platform) {
    case 'linux': {
      const dev = /^\d+$/.test(device) ? `/dev/video${device}` : device;
      const args = ['-f', 'v4l2', ...(mode.format === 'raw' ? [] : ['-input_format', mode.format]), '-video_size', size, '-framerate', rate, '-i', dev];
      return coded(mode.format, dev, args);
    }
    case 'darwin': {
      // avfoundation has no MJPEG or H.264 capture mode; frames arrive raw and are encoded once.
      const args = ['-f', 'avfoundation', '-video_size', size, '-framerate', rate, '-i', device];
      return coded('raw', device, args);
    }
    case 'win32': {
      const args = [
        '-f', 'dshow', '-rtbufsize', '64M',
        ...(mode.format === 'raw' ? [] : ['-vcodec', mode.format]),
        '-video_size', size, '-framerate', rate,
        '-i', `video=${device}`,
      ];
      return coded(mode.format, device, args);
    }
  }
}

/** A media file paced in real time (`-re`); `loop` restarts it forever. */
export function fileInputArgs(path: string, opts: { loop: boolean; passthrough: boolean; fps?: number }): InputPlan {
  const args = ['-re', ...(opts.loop ? ['-stream_loop', '-1'] : []), '-i', path];
  const plan: InputPlan = { args, passthrough: opts.passthrough, description: `file ${path}${opts.loop ? ' (loop)' : ''}` };
  if (!opts.loop) plan.finite = true;
  return withFps(plan, opts.fps);
}

/**
 * A network stream: RTSP over TCP (no UDP packet-loss artefacts), HTTP (e.g. an MJPEG camera).
 * Reconnecting is left to FfmpegSource's restart with backoff rather than ffmpeg's own options.
 */
export function urlInputArgs(url: string, opts: { passthrough: boolean; fps?: number }): InputPlan {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  const args: string[] = [];
  if (scheme === 'rtsp' || scheme === 'rtsps') args.push('-rtsp_transport', 'tcp');
  args.push('-i', url);
  return withFps({ args, passthrough: opts.passthrough, description: `url ${redactUrl(url)}`, secrets: urlSecrets(url) }, opts.fps);
}

/** Screen capture: x11grab (Linux), avfoundation "Capture screen N" (macOS), gdigrab (Windows). */
export function screenInputArgs(platform: Platform, display: string | undefined, fps: number): InputPlan {
  const rate = fmtFps(fps);
  switch (platform) {
    case 'linux': {
      const d = display ?? ':0.0';
      return { args: ['-f', 'x11grab', '-draw_mouse', '1', '-framerate', rate, '-i', d], passthrough: false, description: `screen ${d}`, fps };
    }
    case 'darwin': {
      const d = display === undefined ? 'Capture screen 0' : /^\d+$/.test(display) ? `Capture screen ${display}` : display;
      return { args: ['-f', 'avfoundation', '-capture_cursor', '1', '-framerate', rate, '-i', d], passthrough: false, description: `screen ${d}`, fps };
    }
    case 'win32': {
      const d = display ?? 'desktop';
      return { args: ['-f', 'gdigrab', '-draw_mouse', '1', '-framerate', rate, '-i', d], passthrough: false, description: `screen ${d}`, fps };
    }
  }
}

/**
 * The user's own input arguments. `-re` is put in front (pacing the first input in real time, so
 * `-f lavfi -i testsrc2` or a file do not run flat out) unless they already set -re or -readrate.
 */
export function genericInputArgs(userArgs: string[], opts: { passthrough: boolean; fps?: number }): InputPlan {
  const paced = userArgs.includes('-re') || userArgs.includes('-readrate');
  const secrets = argSecrets(userArgs);
  const description = redactText(`ffmpeg ${userArgs.join(' ')}`, secrets);
  return withFps({ args: paced ? [...userArgs] : ['-re', ...userArgs], passthrough: opts.passthrough, description, secrets }, opts.fps);
}

export interface OutputOptions {
  /** MJPEG quality for re-encoding, ffmpeg -q:v scale 2 (best) .. 31; default 5. */
  quality?: number;
  /** ffmpeg -loglevel; default 'warning'. */
  logLevel?: string;
}

/** The pipe (stdio fd) ffmpeg writes an H.264 input's own stream to, as FLV. */
export const H264_PIPE_FD = 3;

/**
 * The complete argument list: input plan, then MJPEG on stdout (copied or encoded), and for an H.264 input
 * its first video stream copied untouched as FLV on pipe 3 (one process reads the camera once for both).
 * `-fflags +discardcorrupt`: packets the demuxer marks corrupt (an MPEG-TS continuity error: bytes lost) are
 * dropped rather than copied; the gap in frame_num then makes viewers skip to the next keyframe.
 */
export function buildFfmpegArgs(plan: InputPlan, opts: OutputOptions = {}): string[] {
  const q = String(Math.min(31, Math.max(2, Math.round(opts.quality ?? 5))));
  const codec = plan.passthrough ? ['-c:v', 'copy'] : ['-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', q];
  const head = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', opts.logLevel ?? 'warning'];
  if (!plan.h264) return [...head, ...plan.args, '-an', '-sn', '-dn', ...codec, '-f', 'mjpeg', 'pipe:1'];
  return [
    ...head, '-fflags', '+discardcorrupt', ...plan.args,
    '-map', '0:v:0', '-an', '-sn', '-dn', ...codec, '-f', 'mjpeg', 'pipe:1',
    '-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', '-flush_packets', '1', '-f', 'flv', `pipe:${H264_PIPE_FD}`,
  ];
}

function withFps(plan: InputPlan, fps: number | undefined): InputPlan {
  return fps === undefined ? plan : { ...plan, fps };
}
