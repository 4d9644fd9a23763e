/**
 * The picture shown instead of frames while the source is lost, to viewers that cannot be told in words
 * (an MJPEG player, the tutorial's client, a recording): "NO SIGNAL" on dark grey, as µStreamer shows it.
 * Drawn once per profile and encoded like any frame (encoder.ts), so it is an ordinary JPEG of the size
 * and quality the viewer was granted.
 */
import { drawText, GLYPH_H, textWidth } from '../sources/font5x7.js';
import type { RawFrame } from '../sources/source.js';
import { encodeForProfile } from './encoder.js';
import { profileKey, type Profile } from './profile.js';

export const NO_SIGNAL_TEXT = 'NO SIGNAL';
const BACKGROUND = 24;
const INK = [235, 235, 235] as const;
/** Encoded pictures kept; live profiles are fewer (--max-profiles, 16 by default), so this only bounds odd cases. */
const MAX_CACHED = 64;

/** The no-signal picture as RGB24: the text centred, as wide as 60 % of the picture where the height allows. */
export function drawNoSignal(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3, BACKGROUND);
  const scale = Math.max(1, Math.floor(Math.min((width * 0.6) / textWidth(NO_SIGNAL_TEXT, 1), (height * 0.3) / GLYPH_H)));
  const x = Math.floor((width - textWidth(NO_SIGNAL_TEXT, scale)) / 2);
  const y = Math.floor((height - GLYPH_H * scale) / 2);
  drawText(rgb, width, height, x, y, NO_SIGNAL_TEXT, scale, INK);
  return rgb;
}

/** The encoded no-signal picture per profile, encoded on first use. */
export class NoSignalPictures {
  private readonly cache = new Map<string, Promise<Buffer>>();

  jpeg(profile: Profile): Promise<Buffer> {
    const key = profileKey(profile);
    let job = this.cache.get(key);
    if (job === undefined) {
      const frame: RawFrame = { seq: 0, captureUs: 0, width: profile.width, height: profile.height, format: 'rgb24', data: drawNoSignal(profile.width, profile.height) };
      job = encodeForProfile(frame, profile, false);
      // A failed encode is tried again on the next tick rather than remembered.
      job.catch(() => this.cache.delete(key));
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, job);
    }
    return job;
  }

  /** The source is back: nothing needs these until it is lost again. */
  clear(): void {
    this.cache.clear();
  }
}
