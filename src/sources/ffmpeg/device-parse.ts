/**
 * Pure parsers for the device listings of each platform (fixtures in test/fixtures/devices/).
 * They ignore lines they do not understand, so newer ffmpeg versions degrade gracefully.
 */
import type { DeviceFormat, DeviceSize } from './device-info.js';

/** Strip ffmpeg's "[context @ 0x...] " log prefix. */
function stripPrefix(line: string): string {
  return line.replace(/^\[[^\]]*@ [0-9a-fA-Fx]+\]\s?/, '');
}

const COMMON_SIZES: [number, number][] = [
  [160, 120], [320, 240], [640, 360], [640, 480], [800, 600], [960, 540], [1024, 768],
  [1280, 720], [1280, 960], [1600, 1200], [1920, 1080], [2560, 1440], [3840, 2160],
];

/** A stepwise/continuous range becomes the common sizes it contains plus its maximum. */
function sizesInRange(minW: number, maxW: number, stepW: number, minH: number, maxH: number, stepH: number): DeviceSize[] {
  const fits = (v: number, min: number, max: number, step: number): boolean => v >= min && v <= max && (step <= 1 || (v - min) % step === 0);
  const out = COMMON_SIZES.filter(([w, h]) => fits(w, minW, maxW, stepW) && fits(h, minH, maxH, stepH)).map(([width, height]) => ({ width, height, fps: [] as number[] }));
  if (!out.some((s) => s.width === maxW && s.height === maxH)) out.push({ width: maxW, height: maxH, fps: [] });
  return out;
}

function addSize(format: DeviceFormat, width: number, height: number, fps: number[]): DeviceSize {
  let s = format.sizes.find((x) => x.width === width && x.height === height);
  if (!s) {
    s = { width, height, fps: [] };
    format.sizes.push(s);
  }
  for (const f of fps) if (!s.fps.includes(f)) s.fps.push(f);
  s.fps.sort((a, b) => a - b);
  return s;
}

function formatFor(formats: DeviceFormat[], pixelFormat: string): DeviceFormat {
  let f = formats.find((x) => x.pixelFormat === pixelFormat);
  if (!f) {
    f = { pixelFormat, sizes: [] };
    formats.push(f);
  }
  return f;
}

const roundFps = (v: number): number => Math.round(v * 100) / 100;

/** `ffmpeg -hide_banner -f v4l2 -list_formats all -i /dev/videoN` (sizes only, no frame rates). */
export function parseV4l2FfmpegFormats(text: string): DeviceFormat[] {
  const formats: DeviceFormat[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = stripPrefix(raw);
    const m = /^(Raw|Compressed)\s*:\s*(\S+)\s*:\s*(.*?)\s*:(.*)$/.exec(line);
    if (!m) continue;
    const name = m[2]!;
    if (name === 'Unsupported') continue;
    const format = formatFor(formats, name);
    const rest = m[4]!.replace('Emulated :', '');
    for (const d of rest.matchAll(/(?:^|\s)(\d+)x(\d+)(?=\s|$)/g)) addSize(format, Number(d[1]), Number(d[2]), []);
    for (const r of rest.matchAll(/\{(\d+)-(\d+), (\d+)\}x\{(\d+)-(\d+), (\d+)\}/g)) {
      const [a, b, c, d, e, f] = r.slice(1).map(Number) as [number, number, number, number, number, number];
      for (const s of sizesInRange(a, b, c, d, e, f)) addSize(format, s.width, s.height, []);
    }
  }
  return formats;
}

const FOURCC: Record<string, string> = {
  MJPG: 'mjpeg', JPEG: 'mjpeg', YUYV: 'yuyv422', UYVY: 'uyvy422', YU12: 'yuv420p', YV12: 'yuv420p',
  NV12: 'nv12', NV21: 'nv21', H264: 'h264', HEVC: 'hevc', RGB3: 'rgb24', BGR3: 'bgr24', GREY: 'gray',
  'Y16 ': 'gray16le', Z16: 'z16', RGBP: 'rgb565le',
};

/** `v4l2-ctl -d /dev/videoN --list-formats-ext` (both the current and the pre-1.14 layout). */
export function parseV4l2CtlFormats(text: string): DeviceFormat[] {
  const formats: DeviceFormat[] = [];
  let format: DeviceFormat | null = null;
  let size: DeviceSize | null = null;
  for (const line of text.split(/\r?\n/)) {
    // "[0]: 'MJPG' (Motion-JPEG, compressed)"   or   "Pixel Format: 'MJPG' (compressed)"
    const f = /^\s*(?:\[\d+\]:|Pixel Format\s*:)\s*'(.{1,4})'/.exec(line);
    if (f) {
      const cc = f[1]!;
      format = formatFor(formats, FOURCC[cc] ?? FOURCC[cc.trim()] ?? cc.trim().toLowerCase());
      size = null;
      continue;
    }
    if (!format) continue;
    const d = /^\s*Size: Discrete (\d+)x(\d+)/.exec(line);
    if (d) {
      size = addSize(format, Number(d[1]), Number(d[2]), []);
      continue;
    }
    const sw = /^\s*Size: (?:Stepwise|Continuous) (\d+)x(\d+) - (\d+)x(\d+)(?: with step (\d+)\/(\d+))?/.exec(line);
    if (sw) {
      const [minW, minH, maxW, maxH] = sw.slice(1, 5).map(Number) as [number, number, number, number];
      for (const s of sizesInRange(minW, maxW, Number(sw[5] ?? 1), minH, maxH, Number(sw[6] ?? 1))) addSize(format, s.width, s.height, []);
      size = null;
      continue;
    }
    const iv = /^\s*Interval: Discrete [\d.]+s \(([\d.]+) fps\)/.exec(line);
    if (iv && size) {
      addSize(format, size.width, size.height, [roundFps(Number(iv[1]))]);
      continue;
    }
    const ir = /^\s*Interval: (?:Stepwise|Continuous) [\d.]+s - [\d.]+s.*\(([\d.]+)-([\d.]+) fps\)/.exec(line);
    if (ir && size) addSize(format, size.width, size.height, [roundFps(Number(ir[1])), roundFps(Number(ir[2]))]);
  }
  return formats.filter((x) => x.sizes.length > 0);
}

/** Video devices from `ffmpeg -f avfoundation -list_devices true -i ""` (screens left out). */
export function parseAvfoundationDevices(text: string): { index: number; name: string }[] {
  const out: { index: number; name: string }[] = [];
  let section: 'video' | 'audio' | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripPrefix(raw);
    if (/AVFoundation video devices:/.test(line)) section = 'video';
    else if (/AVFoundation audio devices:/.test(line)) section = 'audio';
    else if (section === 'video') {
      const m = /^\[(\d+)\] (.+)$/.exec(line.trim());
      if (m && !/^Capture screen \d+$/.test(m[2]!)) out.push({ index: Number(m[1]), name: m[2]!.trim() });
    }
  }
  return out;
}

/** The "Supported modes:" and "Supported pixel formats:" lists avfoundation prints on a mode mismatch. */
export function parseAvfoundationModes(text: string): DeviceFormat[] {
  let pixelFormat = 'raw';
  let inPixelList = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripPrefix(raw);
    if (/Supported pixel formats:/.test(line)) inPixelList = true;
    else if (inPixelList) {
      const m = /^\s*([a-z0-9_]+)\s*$/.exec(line);
      if (m) {
        pixelFormat = m[1]!;
        break;
      }
      inPixelList = false;
    }
  }
  const format: DeviceFormat = { pixelFormat, sizes: [] };
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(\d+)x(\d+)@\[([\d.]+) ([\d.]+)\]fps/.exec(stripPrefix(raw));
    if (m) addSize(format, Number(m[1]), Number(m[2]), [roundFps(Number(m[3])), roundFps(Number(m[4]))]);
  }
  return format.sizes.length ? [format] : [];
}

/** Video devices from `ffmpeg -list_devices true -f dshow -i dummy` (ffmpeg >= 4.4 and older layouts). */
export function parseDshowDevices(text: string): { name: string; alternativeName?: string }[] {
  const out: { name: string; alternativeName?: string }[] = [];
  let legacySection: 'video' | 'audio' | null = null;
  let last: { name: string; alternativeName?: string } | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripPrefix(raw);
    if (/DirectShow video devices/.test(line)) {
      legacySection = 'video';
      continue;
    }
    if (/DirectShow audio devices/.test(line)) {
      legacySection = 'audio';
      continue;
    }
    const alt = /^\s*Alternative name "(.*)"\s*$/.exec(line);
    if (alt) {
      if (last) last.alternativeName = alt[1]!;
      continue;
    }
    const modern = /^\s*"(.*)" \((video|audio|none|video, audio|audio, video)\)\s*$/.exec(line);
    if (modern) {
      last = modern[2]!.includes('video') ? { name: modern[1]! } : null;
      if (last) out.push(last);
      continue;
    }
    const legacy = /^\s*"(.*)"\s*$/.exec(line);
    if (legacy) {
      last = legacySection === 'video' ? { name: legacy[1]! } : null;
      if (last) out.push(last);
    }
  }
  return out;
}

/** `ffmpeg -list_options true -f dshow -i video="NAME"`. */
export function parseDshowOptions(text: string): DeviceFormat[] {
  const formats: DeviceFormat[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = /(?:vcodec|pixel_format)=(\S+)\s+min s=(\d+)x(\d+) fps=([\d.]+) max s=(\d+)x(\d+) fps=([\d.]+)/.exec(stripPrefix(raw));
    if (!m) continue;
    const format = formatFor(formats, m[1]!);
    const [minW, minH, minF, maxW, maxH, maxF] = [m[2], m[3], m[4], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number, number];
    const fps = [...new Set([roundFps(minF), roundFps(maxF)])];
    addSize(format, minW, minH, fps);
    if (maxW !== minW || maxH !== minH) addSize(format, maxW, maxH, fps);
  }
  return formats;
}
