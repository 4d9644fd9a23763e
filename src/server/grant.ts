/**
 * The grant: what a viewer asked for (0 = the server's default) turned into what it gets (docs/protocol.md
 * §4.1), the same on every transport. The hub may then fit it to a smaller live profile (frame-hub.ts
 * fitProfile: --max-profiles, --encode-budget); server/viewer.ts does both in that order.
 */
import { LIMITS } from '../protocol/constants.js';
import type { StreamParams } from '../protocol/messages.js';
import { pictureSize } from '../pipeline/profile.js';

/** What a grant needs to know of the source: its picture size (for the aspect ratio) and its real rate. */
export interface SourceShape {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/**
 * Turn what a client asked for into what it is granted (docs/protocol.md §4.1), the same for every viewer (server/viewer.ts).
 * 0 means "server default"; everything is clamped to LIMITS and the server's bounds, and the rate to the
 * source's own rate (we never invent frames).
 */
export interface GrantPolicy {
  readonly defaults: StreamParams;
  /** The server's own caps (--max-width, --max-height, --max-fps), within the protocol's LIMITS. */
  readonly bounds: { readonly maxWidth: number; readonly maxHeight: number; readonly maxFps: number };
  /** Grant pictures larger than the source (--allow-upscale). Off by default: upscaling adds cost, not detail. */
  readonly allowUpscale?: boolean;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

/** JPEG's 4:2:0 chroma works on pixel pairs: a size the server derives is even. */
function even(v: number): number {
  return Math.max(2, 2 * Math.round(v / 2));
}

function evenDown(v: number): number {
  // The epsilon keeps an exact product (3840 / 9999 * 9999) from flooring a whole pixel pair away.
  return Math.max(2, 2 * Math.floor(v / 2 + 1e-9));
}

/** The granted frame size (docs/protocol.md §4.1 "Size and aspect ratio"). */
export function grantSize(
  requested: { width: number; height: number },
  policy: GrantPolicy,
  source: { width: number; height: number },
): { width: number; height: number } {
  const { defaults, bounds } = policy;
  const sw = source.width > 0 ? source.width : defaults.width;
  const sh = source.height > 0 ? source.height : defaults.height;
  const given = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);
  let w = given(requested.width);
  let h = given(requested.height);
  let derived = true;
  if (w === 0 && h === 0) {
    // The default size is a box the source's picture fits in, at the source's own aspect ratio.
    const s = Math.min(defaults.width / sw, defaults.height / sh);
    [w, h] = s >= 1 && defaults.width >= sw && defaults.height >= sh ? [sw, sh] : [even(sw * s), even(sh * s)];
  } else if (h === 0) {
    h = even((w * sh) / sw);
  } else if (w === 0) {
    w = even((h * sw) / sh);
  } else {
    derived = false;
  }
  if (!policy.allowUpscale) {
    // No picture larger than the source: shrink the frame (keeping its shape) until its picture fits.
    const pic = derived ? { width: w, height: h } : pictureSize({ width: w, height: h }, { width: sw, height: sh });
    if (pic.width > sw || pic.height > sh) {
      const s = Math.min(sw / pic.width, sh / pic.height);
      [w, h] = derived ? [sw, sh] : [evenDown(w * s), evenDown(h * s)];
    }
  }
  const maxW = Math.min(LIMITS.maxWidth, bounds.maxWidth);
  const maxH = Math.min(LIMITS.maxHeight, bounds.maxHeight);
  if (w > maxW || h > maxH) {
    // Over the caps: scale the whole frame down, so the picture keeps its shape (no per-axis squeeze).
    const s = Math.min(maxW / w, maxH / h);
    [w, h] = [Math.min(maxW, evenDown(w * s)), Math.min(maxH, evenDown(h * s))];
  }
  return { width: clamp(w, LIMITS.minWidth, maxW), height: clamp(h, LIMITS.minHeight, maxH) };
}

export function grantParams(requested: StreamParams, policy: GrantPolicy, source: SourceShape): StreamParams {
  const { defaults, bounds } = policy;
  const pick = (v: number, d: number): number => (Number.isFinite(v) && v > 0 ? v : d);
  return {
    ...grantSize(requested, policy, source),
    fps: clamp(pick(requested.fps, defaults.fps), LIMITS.minFps, Math.min(LIMITS.maxFps, bounds.maxFps, Math.max(1, Math.floor(source.fps)))),
    quality: clamp(pick(requested.quality, defaults.quality), LIMITS.minQuality, LIMITS.maxQuality),
  };
}
