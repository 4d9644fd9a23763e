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

/** The listed rate equal to `want`, else the lowest one above it, else the highest; `want` when none is listed. */
function pickFps(listed: number[], want: number): number {
  if (listed.length === 0) return want;
  if (listed.some((f) => Math.abs(f - want) < 0.01)) return want;
  const above = listed.filter((f) => f > want).sort((a, b) => a - b);
  return above[0] ?? Math.max(...listed);
}

/**
 * Exact size first (MJPEG preferred: it is passed through untouched), then the smallest size
 * that covers the request (downscaling keeps detail), then the largest available.
 * Among equals MJPEG wins, then the mode that reaches the wanted frame rate.
 */
export function chooseCameraMode(device: DeviceInfo, want: CameraWant): CameraModeChoice {
  type Cand = { pixelFormat: string; width: number; height: number; fps: number; reachesFps: boolean; mjpeg: boolean };
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
    return [exact ? 0 : covers ? 1 : 2, covers && !exact ? area : -area, c.reachesFps ? 0 : 1, c.mjpeg ? 0 : 1, -c.fps];
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
  let reason: string;
  if (best.width === want.width && best.height === want.height) {
    reason = best.mjpeg ? `${mode}: MJPEG at the requested size (JPEGs passed through)` : `${mode}: requested size, no MJPEG at it (encoded once)`;
  } else if (best.width >= want.width && best.height >= want.height) {
    reason = `${mode}: ${asked} not offered; smallest mode covering it`;
  } else {
    reason = `${mode}: ${asked} not offered; largest mode available`;
  }
  if (best.fps !== want.fps) reason += ` (${want.fps} fps not offered)`;
  return { pixelFormat: best.pixelFormat, width: best.width, height: best.height, fps: best.fps, reason };
}
