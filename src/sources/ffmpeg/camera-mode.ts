/** Picking the capture mode of a device closest to what was asked. */
import type { DeviceInfo } from './device-info.js';

export interface CameraModeChoice {
  pixelFormat: string;
  width: number;
  height: number;
  fps: number;
  /** Why this mode, for logs and `framewire devices`. */
  reason: string;
}

export interface CameraWant {
  width: number;
  height: number;
  fps: number;
}

export interface CameraModeOptions {
  /**
   * An H.264 mode wins over MJPEG at the same rank. For a server that requires H.264 (codec 'h264') and
   * forwards a source's own H.264 (passthrough on): its H.264 viewers then get the camera's stream untouched.
   */
  preferH264?: boolean;
}

/** The listed rate equal to `want`, else the lowest one above it, else the highest; `want` when none is listed. */
function pickFps(listed: number[], want: number): number {
  if (listed.length === 0) return want;
  if (listed.some((f) => Math.abs(f - want) < 0.01)) return want;
  const above = listed.filter((f) => f > want).sort((a, b) => a - b);
  return above[0] ?? Math.max(...listed);
}

/**
 * Order of formats among modes of equal size and rate. By default MJPEG (its JPEGs are passed through untouched,
 * H.264 viewers get one encode), then raw, then H.264 (a decode more than raw for the JPEGs). With `preferH264`
 * H.264 first (its access units are forwarded untouched to H.264 viewers), then MJPEG, then raw.
 */
function formatRank(pixelFormat: string, preferH264: boolean): number {
  if (pixelFormat === 'h264') return preferH264 ? 0 : 2;
  if (pixelFormat === 'mjpeg') return preferH264 ? 1 : 0;
  return preferH264 ? 2 : 1;
}

/**
 * Exact size first, then the smallest size that covers the request (downscaling keeps detail), then the
 * largest available. Among equals the mode that reaches the wanted frame rate, then the format (formatRank).
 */
export function chooseCameraMode(device: DeviceInfo, want: CameraWant, options: CameraModeOptions = {}): CameraModeChoice {
  const preferH264 = options.preferH264 ?? false;
  type Cand = { pixelFormat: string; width: number; height: number; fps: number; reachesFps: boolean; mjpeg: boolean; format: number };
  const cands: Cand[] = [];
  for (const f of device.formats) {
    for (const s of f.sizes) {
      const fps = pickFps(s.fps, want.fps);
      cands.push({
        pixelFormat: f.pixelFormat,
        width: s.width,
        height: s.height,
        fps,
        reachesFps: s.fps.length === 0 || fps >= want.fps - 0.01,
        mjpeg: f.pixelFormat === 'mjpeg',
        format: formatRank(f.pixelFormat, preferH264),
      });
    }
  }
  if (cands.length === 0) {
    return { pixelFormat: 'default', ...want, reason: `${device.name} did not list its formats; asking for ${want.width}x${want.height}@${want.fps}` };
  }
  const rank = (c: Cand): number[] => {
    const exact = c.width === want.width && c.height === want.height;
    const covers = c.width >= want.width && c.height >= want.height;
    const area = c.width * c.height;
    return [exact ? 0 : covers ? 1 : 2, covers && !exact ? area : -area, c.reachesFps ? 0 : 1, c.format, -c.fps];
  };
  const better = (a: Cand, b: Cand): boolean => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]!;
    return false;
  };
  let best = cands[0]!;
  for (const c of cands) if (better(c, best)) best = c;
  const mode = `${best.width}x${best.height}@${best.fps} ${best.pixelFormat}`;
  const asked = `${want.width}x${want.height}@${want.fps}`;
  const h264 = best.pixelFormat === 'h264';
  let reason: string;
  if (best.width === want.width && best.height === want.height) {
    if (best.mjpeg) reason = `${mode}: MJPEG at the requested size (JPEGs passed through)`;
    else if (h264 && preferH264) reason = `${mode}: H.264 at the requested size, preferred with codec h264 (forwarded untouched to H.264 viewers)`;
    else if (h264) reason = `${mode}: requested size, only H.264 at it (decoded; JPEGs encoded once)`;
    else reason = `${mode}: requested size, no MJPEG at it (encoded once)`;
  } else if (best.width >= want.width && best.height >= want.height) {
    reason = `${mode}: ${asked} not offered; smallest mode covering it`;
  } else {
    reason = `${mode}: ${asked} not offered; largest mode available`;
  }
  if (best.fps !== want.fps) reason += ` (${want.fps} fps not offered)`;
  if (h264 && preferH264 && !(best.width === want.width && best.height === want.height)) reason += ' (H.264 preferred with codec h264)';
  return { pixelFormat: best.pixelFormat, width: best.width, height: best.height, fps: best.fps, reason };
}
