import { LIMITS } from '../protocol/constants.js';
import type { StreamParams } from '../protocol/messages.js';

/** An output profile: everything that makes two clients' JPEG bytes differ. Encoded once, shared by all its clients. */
export interface Profile {
  readonly width: number;
  readonly height: number;
  readonly quality: number;
}

export function profileKey(p: Profile): string {
  return `${p.width}x${p.height}q${p.quality}`;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

/**
 * Turn what a client asked for into what it is granted: 0 means "server default";
 * everything is clamped to LIMITS, and the rate to the source's own rate (we never invent frames).
 */
export function grantParams(requested: StreamParams, defaults: StreamParams, sourceFps: number): StreamParams {
  const pick = (v: number, d: number): number => (Number.isFinite(v) && v > 0 ? v : d);
  return {
    width: clamp(pick(requested.width, defaults.width), LIMITS.minWidth, LIMITS.maxWidth),
    height: clamp(pick(requested.height, defaults.height), LIMITS.minHeight, LIMITS.maxHeight),
    fps: clamp(pick(requested.fps, defaults.fps), LIMITS.minFps, Math.min(LIMITS.maxFps, Math.max(1, Math.floor(sourceFps)))),
    quality: clamp(pick(requested.quality, defaults.quality), LIMITS.minQuality, LIMITS.maxQuality),
  };
}
