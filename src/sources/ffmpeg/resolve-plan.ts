/**
 * Turning a parsed source spec into an ffmpeg input plan: looks at the machine (camera modes,
 * the input's codec) and then calls the pure builders in input-args.ts.
 */
import { access, constants } from 'node:fs/promises';
import { FramewireError } from '../../errors.js';
import type { SourceRequest } from '../source.js';
import { chooseCameraMode } from './camera-mode.js';
import type { DeviceInfo } from './device-info.js';
import { listDevices } from './device-list.js';
import {
  asPlatform,
  cameraInputArgs,
  fileInputArgs,
  genericInputArgs,
  redactUrl,
  screenInputArgs,
  urlInputArgs,
  type InputPlan,
  type Platform,
} from './input-args.js';
import { probeInput } from './probe.js';

/** The inputs framewire opens through ffmpeg (docs/sources.md); spec.ts parses them from --source. */
export type FfmpegSpec =
  | { kind: 'camera'; device?: string }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'screen'; display?: string }
  | { kind: 'ffmpeg'; args: string[] };

export interface PlanOptions {
  loop?: boolean;
  platform?: Platform;
  env?: NodeJS.ProcessEnv;
  /** An H.264 input's own stream is also read for passthrough (default true; docs/h264.md). */
  h264?: boolean;
  /** The server's codec setting: with 'h264' (and `h264` on) a camera's H.264 mode wins over MJPEG (docs/sources.md). */
  codec?: 'jpeg' | 'h264' | 'both';
}

function sameDevice(platform: Platform, d: DeviceInfo, wanted: string): boolean {
  if (platform === 'linux') return d.id === (/^\d+$/.test(wanted) ? `/dev/video${wanted}` : wanted);
  return d.id === wanted || d.name === wanted;
}

export async function resolveCameraPlan(
  ffmpegPath: string,
  device: string | undefined,
  request: SourceRequest,
  platform: Platform,
  options: PlanOptions = {},
): Promise<InputPlan> {
  const devices = await listDevices({ ffmpegPath, platform }).catch(() => [] as DeviceInfo[]);
  let info: DeviceInfo | undefined;
  if (device === undefined) {
    info = devices[0];
    if (!info && platform === 'win32') throw new FramewireError('E_SOURCE', 'no camera found (ffmpeg -list_devices true -f dshow -i dummy lists none)');
  } else {
    info = devices.find((d) => sameDevice(platform, d, device));
  }
  return cameraPlan(platform, info?.id ?? device ?? (platform === 'linux' ? '/dev/video0' : '0'), info, request, options);
}

/**
 * The plan for a camera from its listing (`info`; undefined when it was not listed). A camera plan is not
 * probed: an H.264 mode marks it `h264` (passthrough) here, unless `options.h264` is false.
 */
export function cameraPlan(platform: Platform, id: string, info: DeviceInfo | undefined, request: SourceRequest, options: PlanOptions = {}): InputPlan {
  if (!info) return cameraInputArgs(platform, id, { ...request, format: 'raw' });
  const passthroughH264 = options.h264 ?? true;
  const mode = chooseCameraMode(info, request, { preferH264: options.codec === 'h264' && passthroughH264 });
  const format = mode.pixelFormat === 'mjpeg' || mode.pixelFormat === 'h264' ? mode.pixelFormat : 'raw';
  const plan = cameraInputArgs(platform, platform === 'darwin' ? info.id : id, { width: mode.width, height: mode.height, fps: mode.fps, format });
  return { ...plan, ...(plan.h264 && !passthroughH264 ? { h264: false } : {}), description: `${plan.description} (${info.name})` };
}

export async function resolvePlan(ffmpegPath: string, spec: FfmpegSpec, request: SourceRequest, options: PlanOptions = {}): Promise<InputPlan> {
  const platform = options.platform ?? asPlatform(process.platform);
  switch (spec.kind) {
    case 'camera':
      return resolveCameraPlan(ffmpegPath, spec.device, request, platform, options);
    case 'screen': {
      const env = options.env ?? process.env;
      const display = spec.display ?? (platform === 'linux' ? env.DISPLAY || undefined : undefined);
      return screenInputArgs(platform, display, request.fps);
    }
    case 'file': {
      try {
        await access(spec.path, constants.R_OK);
      } catch {
        throw new FramewireError('E_SOURCE', `cannot read file ${spec.path}`);
      }
      const probe = await probeInput(ffmpegPath, ['-i', spec.path]);
      if (!probe) throw new FramewireError('E_SOURCE', `ffmpeg finds no video stream in ${spec.path}`);
      return withH264(fileInputArgs(spec.path, { loop: options.loop ?? false, passthrough: probe.codec === 'mjpeg', ...fps(probe.fps) }), probe.codec, options);
    }
    case 'url': {
      const probe = await probeInput(ffmpegPath, urlInputArgs(spec.url, { passthrough: false }).args);
      if (!probe) throw new FramewireError('E_SOURCE', `cannot open ${redactUrl(spec.url)} (or it has no video stream)`);
      return withH264(urlInputArgs(spec.url, { passthrough: probe.codec === 'mjpeg', ...fps(probe.fps) }), probe.codec, options);
    }
    case 'ffmpeg': {
      const probe = await probeInput(ffmpegPath, spec.args);
      const filtered = spec.args.some((a) => /^-(vf|filter|filter_complex|lavfi|filter:v)$/.test(a));
      const plan = genericInputArgs(spec.args, { passthrough: probe?.codec === 'mjpeg' && !filtered, ...fps(probe?.fps) });
      // A filter changes the pictures: the input's own H.264 would not show what the JPEGs show.
      return filtered ? plan : withH264(plan, probe?.codec, options);
    }
  }
}

function withH264(plan: InputPlan, codec: string | undefined, options: PlanOptions): InputPlan {
  return codec === 'h264' && (options.h264 ?? true) ? { ...plan, h264: true, description: `${plan.description} h264` } : plan;
}

function fps(v: number | undefined): { fps?: number } {
  return v === undefined ? {} : { fps: v };
}
