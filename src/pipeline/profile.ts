import type { MediaCodec } from './encoded-frame.js';

/**
 * An output profile: everything that makes two clients' bytes differ. Encoded once, shared by all its
 * clients. JPEG (no codec given) is size and quality; H.264 is size and bitrate (quality unused, 0), at the
 * source's rate: one encoder's output cannot be thinned per viewer without breaking its reference chain.
 */
export interface Profile {
  readonly width: number;
  readonly height: number;
  readonly quality: number;
  /** Default 'jpeg'. */
  readonly codec?: MediaCodec;
  /** H.264 only: bit/s. */
  readonly bitrate?: number;
  /** H.264 only: the source's own access units, forwarded untouched (no encoder, no bitrate; docs/h264.md). */
  readonly passthrough?: boolean;
}

export function profileKey(p: Profile): string {
  if (p.codec === 'h264') return p.passthrough ? `${p.width}x${p.height}h264pass` : `${p.width}x${p.height}h264b${p.bitrate ?? 0}`;
  return `${p.width}x${p.height}q${p.quality}`;
}

/** How a profile is coded, for people (logs, refusals): `q80`, `H.264 2000 kbit/s`, `H.264 passthrough`. */
export function describeCoding(p: Profile): string {
  if (p.codec !== 'h264') return `q${p.quality}`;
  return p.passthrough ? 'H.264 passthrough' : `H.264 ${Math.round((p.bitrate ?? 0) / 1000)} kbit/s`;
}

export function codecOf(p: Profile): MediaCodec {
  return p.codec ?? 'jpeg';
}

/**
 * The picture inside a width×height frame for a source of another shape: the largest size of the source's
 * aspect ratio that fits (the rest of the frame is black bars). Equal to the frame when the shapes agree to
 * within a pixel, so sizes derived from the aspect ratio (rounded to even) never get a sliver of a bar.
 */
export function pictureSize(frame: { width: number; height: number }, source: { width: number; height: number }): { width: number; height: number } {
  if (source.width <= 0 || source.height <= 0) return { width: frame.width, height: frame.height };
  const scale = Math.min(frame.width / source.width, frame.height / source.height);
  const width = Math.round(source.width * scale);
  const height = Math.round(source.height * scale);
  if (frame.width - width < 2 && frame.height - height < 2) return { width: frame.width, height: frame.height };
  return { width: Math.max(1, width), height: Math.max(1, height) };
}
