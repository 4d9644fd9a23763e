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
export interface GrantPolicy {
  readonly defaults: StreamParams;
  /** The server's own caps (--max-width, --max-height, --max-fps), within the protocol's LIMITS. */
  readonly bounds: { readonly maxWidth: number; readonly maxHeight: number; readonly maxFps: number };
}

export function grantParams(requested: StreamParams, policy: GrantPolicy, sourceFps: number): StreamParams {
  const { defaults, bounds } = policy;
  const pick = (v: number, d: number): number => (Number.isFinite(v) && v > 0 ? v : d);
  return {
    width: clamp(pick(requested.width, defaults.width), LIMITS.minWidth, Math.min(LIMITS.maxWidth, bounds.maxWidth)),
    height: clamp(pick(requested.height, defaults.height), LIMITS.minHeight, Math.min(LIMITS.maxHeight, bounds.maxHeight)),
    fps: clamp(pick(requested.fps, defaults.fps), LIMITS.minFps, Math.min(LIMITS.maxFps, bounds.maxFps, Math.max(1, Math.floor(sourceFps)))),
    quality: clamp(pick(requested.quality, defaults.quality), LIMITS.minQuality, LIMITS.maxQuality),
  };
}
