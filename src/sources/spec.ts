/**
 * `--source` specs: parsing the command-line string and creating the Source it names.
 *
 *   testpattern | camera | camera:DEVICE | file:PATH | url:URL | screen | screen:DISPLAY | ffmpeg:ARGS
 */
import { FramewireError } from '../errors.js';
import type { Source, SourceRequest } from './source.js';
import { TestPatternSource } from './testpattern.js';
import { FfmpegSource } from './ffmpeg/ffmpeg-source.js';
import { resolvePlan, type FfmpegSpec } from './ffmpeg/resolve-plan.js';
import { splitArgs } from './ffmpeg/split-args.js';
import { redactText } from './redact.js';

export type SourceSpec = { kind: 'testpattern' } | FfmpegSpec;

export type SourceKind = SourceSpec['kind'];

const URL_SCHEMES = ['rtsp', 'rtsps', 'http', 'https', 'rtmp', 'rtmps', 'srt', 'udp', 'tcp'];

const USAGE = 'expected testpattern, camera[:DEVICE], file:PATH, url:URL, screen[:DISPLAY] or ffmpeg:ARGS';

function bad(spec: string, why: string): FramewireError {
  return new FramewireError('E_BAD_PARAMS', `bad --source "${redactText(spec)}": ${why}`);
}

export function parseSourceSpec(spec: string): SourceSpec {
  const colon = spec.indexOf(':');
  const kind = (colon === -1 ? spec : spec.slice(0, colon)).trim();
  const rest = colon === -1 ? undefined : spec.slice(colon + 1);
  switch (kind) {
    case 'testpattern':
      if (rest !== undefined && rest !== '') throw bad(spec, 'testpattern takes no argument (size and rate come from --size/--fps)');
      return { kind: 'testpattern' };
    case 'camera':
      if (rest === undefined) return { kind: 'camera' };
      if (rest.trim() === '') throw bad(spec, 'camera: needs a device after the colon (e.g. camera:/dev/video2, camera:0, camera:"Integrated Camera")');
      return { kind: 'camera', device: rest.trim() };
    case 'file':
      if (!rest) throw bad(spec, 'file: needs a path (e.g. file:clip.mp4)');
      return { kind: 'file', path: rest };
    case 'url': {
      if (!rest) throw bad(spec, 'url: needs a URL (e.g. url:rtsp://camera.local/stream)');
      let parsed: URL;
      try {
        parsed = new URL(rest);
      } catch {
        throw bad(spec, `"${redactText(rest)}" is not a URL`);
      }
      const scheme = parsed.protocol.replace(/:$/, '');
      if (!URL_SCHEMES.includes(scheme)) throw bad(spec, `unsupported URL scheme ${scheme}: (use ${URL_SCHEMES.join(', ')}, or ffmpeg:ARGS)`);
      return { kind: 'url', url: rest };
    }
    case 'screen':
      if (rest === undefined) return { kind: 'screen' };
      if (rest.trim() === '') throw bad(spec, 'screen: needs a display after the colon (e.g. screen::1.0), or use plain screen');
      return { kind: 'screen', display: rest.trim() };
    case 'ffmpeg': {
      if (!rest || rest.trim() === '') throw bad(spec, 'ffmpeg: needs input arguments (e.g. ffmpeg:-f lavfi -i testsrc2)');
      const args = splitArgs(rest);
      if (!args.includes('-i')) throw bad(spec, 'ffmpeg: arguments must contain -i INPUT');
      const i = args.lastIndexOf('-i');
      if (i === args.length - 1) throw bad(spec, 'ffmpeg: -i needs an input after it');
      return { kind: 'ffmpeg', args };
    }
    default:
      throw bad(spec, kind === '' ? USAGE : `unknown source kind "${kind}"; ${USAGE}`);
  }
}

export interface CreateSourceOptions {
  /** file: restart at the end (ffmpeg -stream_loop -1). */
  loop?: boolean;
  /** ffmpeg sources: restart when no frame arrived for this long (default 5). */
  stallSeconds?: number;
  /** ffmpeg sources: forward an H.264 input's own access units (default true; docs/h264.md, Passthrough). */
  h264Passthrough?: boolean;
  /** The server's codec setting: 'h264' makes a camera prefer its H.264 mode over MJPEG (docs/sources.md, Cameras). */
  codec?: 'jpeg' | 'h264' | 'both';
}

export function createSource(spec: SourceSpec, request: SourceRequest, options: CreateSourceOptions = {}): Source {
  if (spec.kind === 'testpattern') return new TestPatternSource(request);
  const planOptions = {
    ...(options.loop === undefined ? {} : { loop: options.loop }),
    ...(options.h264Passthrough === undefined ? {} : { h264: options.h264Passthrough }),
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  };
  return new FfmpegSource({
    plan: (ffmpegPath) => resolvePlan(ffmpegPath, spec, request, planOptions),
    request,
    ...(options.stallSeconds === undefined ? {} : { stallSeconds: options.stallSeconds }),
  });
}
