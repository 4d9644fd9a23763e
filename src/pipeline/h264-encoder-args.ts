/**
 * The ffmpeg command line of an H.264 encode: validated settings in, argument list out (pure). The probe and
 * the running encoder use the same arguments, so "the probe worked" means this exact command works here.
 *
 * Zero latency, one access unit out per frame in:
 *  - no B-frames (`-bf 0`): every picture is coded and output in capture order;
 *  - no look-ahead (`-tune zerolatency`, and `rc-lookahead=0:sync-lookahead=0` spelled out for libx264;
 *    `-delay 0 -zerolatency 1` for NVENC, `-look_ahead 0 -async_depth 1` for Quick Sync);
 *  - a keyframe exactly every `gop` frames (`scenecut=0`: no extra ones), each an IDR picture;
 *  - SPS and PPS in front of every keyframe (`repeat-headers=1`; for encoders that cannot, the reader puts
 *    the cached ones there, see codecs/h264/params.ts) and an AUD at the start of every access unit;
 *  - rate control to `bitrate` with a one-second buffer (`-maxrate`, `-bufsize`): a keyframe may be several
 *    times the average picture, the rate over a second holds;
 *  - `-f flv` with `-flush_packets 1`: each access unit leaves ffmpeg as it is coded, in a tag that says
 *    where it ends (see codecs/flv.ts for why not raw Annex B).
 */
import { FramewireError } from '../errors.js';

export const H264_ENCODERS = ['libx264', 'h264_v4l2m2m', 'h264_vaapi', 'h264_nvenc', 'h264_qsv'] as const;
export type H264EncoderName = (typeof H264_ENCODERS)[number];
export type H264EncoderChoice = 'auto' | H264EncoderName;

/** What `auto` tries, in order, before libx264: dedicated encoders first, then the generic interfaces. */
export const HARDWARE_ENCODERS: readonly H264EncoderName[] = ['h264_nvenc', 'h264_qsv', 'h264_vaapi', 'h264_v4l2m2m'];

export const X264_PRESETS = ['ultrafast', 'veryfast'] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export const H264_LIMITS = {
  minSize: 16,
  maxWidth: 7680,
  maxHeight: 4320,
  minFps: 1,
  maxFps: 120,
  /** bit/s */
  minBitrate: 50_000,
  maxBitrate: 100_000_000,
  /** frames between keyframes */
  minGop: 1,
  maxGop: 3600,
} as const;

export const DEFAULT_VAAPI_DEVICE = '/dev/dri/renderD128';

export interface H264Settings {
  /** Output size; even (4:2:0 chroma). */
  width: number;
  height: number;
  fps: number;
  /** Target bit/s. */
  bitrate: number;
  /** Frames from one keyframe to the next. */
  gop: number;
  /** libx264 only: ultrafast (least CPU) or veryfast (smaller pictures for more CPU). */
  preset: X264Preset;
  /** VA-API render node. */
  vaapiDevice: string;
}

export function isH264EncoderChoice(s: string): s is H264EncoderChoice {
  return s === 'auto' || (H264_ENCODERS as readonly string[]).includes(s);
}

/** Check settings at the edge; E_BAD_PARAMS names the field and its range. */
export function validateH264Settings(s: Partial<H264Settings> & Pick<H264Settings, 'width' | 'height' | 'fps' | 'bitrate' | 'gop'>): Readonly<H264Settings> {
  const L = H264_LIMITS;
  const bad = (msg: string): never => {
    throw new FramewireError('E_BAD_PARAMS', msg);
  };
  const int = (v: number, min: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer in ${min}..${max}, got ${v}`);
  };
  int(s.width, L.minSize, L.maxWidth, 'H.264 width');
  int(s.height, L.minSize, L.maxHeight, 'H.264 height');
  if (s.width % 2 !== 0 || s.height % 2 !== 0) bad(`H.264 size must be even (4:2:0 chroma), got ${s.width}x${s.height}`);
  int(s.fps, L.minFps, L.maxFps, 'H.264 frame rate');
  int(s.bitrate, L.minBitrate, L.maxBitrate, 'H.264 bitrate (bit/s)');
  int(s.gop, L.minGop, L.maxGop, 'H.264 GOP (frames between keyframes)');
  const preset = s.preset ?? 'ultrafast';
  if (!(X264_PRESETS as readonly string[]).includes(preset)) bad(`x264 preset must be one of ${X264_PRESETS.join(', ')}, got ${String(preset)}`);
  const vaapiDevice = s.vaapiDevice ?? DEFAULT_VAAPI_DEVICE;
  return Object.freeze({ width: s.width, height: s.height, fps: s.fps, bitrate: s.bitrate, gop: s.gop, preset, vaapiDevice });
}

/**
 * Where the pictures come from: raw frames on stdin (the encoder), or ffmpeg's own test source (the probe).
 * rgb24 may be of any size (ffmpeg scales it, and swscale converts it to YUV); i420 is already converted
 * (native-jpeg.ts: BT.601, limited range, centre-sited chroma) and is at the output size.
 */
export type H264Input =
  | { kind: 'rgb24-stdin'; width: number; height: number }
  | { kind: 'i420-stdin' }
  | { kind: 'testsrc'; frames: number };

/** Per encoder: options before the input, filters after scaling, and the encoder's own options. */
function encoderParts(name: H264EncoderName, s: H264Settings): { beforeInput: string[]; filters: string[]; codec: string[] } {
  const gop = String(s.gop);
  const rate = [`-b:v`, String(s.bitrate), '-maxrate', String(s.bitrate), '-bufsize', String(s.bitrate)];
  switch (name) {
    case 'libx264':
      return {
        beforeInput: [],
        filters: ['format=yuv420p'],
        codec: [
          '-c:v', 'libx264', '-preset', s.preset, '-tune', 'zerolatency', '-bf', '0', '-g', gop, ...rate,
          '-x264-params', 'aud=1:repeat-headers=1:rc-lookahead=0:sync-lookahead=0:scenecut=0',
        ],
      };
    case 'h264_nvenc':
      return {
        beforeInput: [],
        filters: ['format=yuv420p'],
        codec: ['-c:v', 'h264_nvenc', '-preset', 'p1', '-tune', 'ull', '-zerolatency', '1', '-delay', '0', '-rc', 'cbr', '-bf', '0', '-g', gop, '-forced-idr', '1', '-aud', '1', ...rate],
      };
    case 'h264_qsv':
      return {
        beforeInput: [],
        filters: ['format=nv12'],
        codec: ['-c:v', 'h264_qsv', '-preset', 'veryfast', '-async_depth', '1', '-look_ahead', '0', '-bf', '0', '-g', gop, '-aud', '1', ...rate],
      };
    case 'h264_vaapi':
      return {
        beforeInput: ['-vaapi_device', s.vaapiDevice],
        filters: ['format=nv12', 'hwupload'],
        codec: ['-c:v', 'h264_vaapi', '-rc_mode', 'CBR', '-bf', '0', '-g', gop, '-aud', '1', ...rate],
      };
    case 'h264_v4l2m2m':
      return {
        beforeInput: [],
        filters: ['format=yuv420p'],
        codec: ['-c:v', 'h264_v4l2m2m', '-bf', '0', '-g', gop, ...rate],
      };
  }
}

/** The whole argument list (after the ffmpeg binary). */
export function buildH264EncoderArgs(name: H264EncoderName, settings: H264Settings, input: H264Input): string[] {
  const { beforeInput, filters, codec } = encoderParts(name, settings);
  const { width, height, fps } = settings;
  const inputArgs =
    input.kind === 'rgb24-stdin'
      ? ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${input.width}x${input.height}`, '-r', String(fps), '-i', 'pipe:0']
      : input.kind === 'i420-stdin'
        ? // What the frames are, so that no filter "corrects" them; `format=yuv420p` below is then a no-op.
          ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-color_range', 'tv', '-colorspace', 'smpte170m', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0']
        : ['-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}`, '-frames:v', String(input.frames)];
  const scale = input.kind === 'rgb24-stdin' && (input.width !== width || input.height !== height) ? [`scale=${width}:${height}:flags=bilinear`] : [];
  // TurboJPEG averages each 2x2 block: chroma sits at its centre, not H.264's default (left).
  const siting = input.kind === 'i420-stdin' ? ['-chroma_sample_location', 'center'] : [];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    ...beforeInput,
    ...inputArgs,
    '-vf', [...scale, ...filters].join(','),
    ...codec,
    ...siting,
    // swscale (or native-jpeg.ts) converted with the BT.601 matrix (limited range); saying so in the VUI keeps decoders that
    // assume BT.709 for an untagged stream (Chromium's) from shifting the colours.
    '-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m', '-color_range', 'tv',
    '-flush_packets', '1',
    '-f', 'flv', 'pipe:1',
  ];
}
