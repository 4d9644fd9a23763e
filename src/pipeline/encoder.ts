/**
 * JPEG through sharp (libvips + the JPEG library it ships). Runs on libuv's thread pool, off the event loop.
 * Tuned for latency: Huffman optimisation off, no progressive, sharp's operation cache off.
 */
import sharp from 'sharp';
import { FramewireError } from '../errors.js';
import type { RawFrame } from '../sources/source.js';
import { pictureSize, type Profile } from './profile.js';
import { nativeJpeg, nativeJpegStatus } from './native-jpeg.js';

sharp.cache(false);
// One thread per encode; parallelism comes from encoding several profiles at once on the pool.
sharp.concurrency(1);

/** True when the source's JPEG can go to clients of this profile byte for byte. */
export function canPassThrough(frame: RawFrame, profile: Profile): boolean {
  return frame.format === 'jpeg' && frame.width === profile.width && frame.height === profile.height;
}

/** Which JPEG encoder RGB frames at their own size go through, for the start-up log. */
export function encoderDescription(): string {
  return nativeJpeg ? `JPEG encoder: native libjpeg-turbo (sharp for resizing)` : `JPEG encoder: sharp (native encoder: ${nativeJpegStatus()})`;
}

export async function encodeForProfile(frame: RawFrame, profile: Profile, allowPassthrough = true): Promise<Buffer> {
  if (allowPassthrough && canPassThrough(frame, profile)) return frame.data;
  const sameSize = profile.width === frame.width && profile.height === frame.height;
  if (nativeJpeg && frame.format === 'rgb24' && sameSize) {
    // The system's libjpeg-turbo, called directly: no per-call pipeline set-up (docs/native-encoder.md).
    try {
      return await nativeJpeg.encodeRgb(frame.data, frame.width, frame.height, profile.quality);
    } catch (e) {
      throw new FramewireError('E_SOURCE', `could not encode frame ${frame.seq}: ${String(e)}`, { cause: e });
    }
  }
  try {
    let img =
      frame.format === 'rgb24'
        ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
        : sharp(frame.data, { failOn: 'error' });
    if (profile.width !== frame.width || profile.height !== frame.height) {
      // Never stretched: a frame of another shape than the source gets the whole picture with black bars
      // (docs/protocol.md §4.1), the same for every transport since they all encode here.
      const picture = pictureSize(profile, frame);
      const fit = picture.width === profile.width && picture.height === profile.height ? 'fill' : 'contain';
      img = img.resize(profile.width, profile.height, { fit, background: { r: 0, g: 0, b: 0 }, kernel: 'linear', fastShrinkOnLoad: true });
    }
    return await img
      .jpeg({ quality: profile.quality, optimiseCoding: false, progressive: false, chromaSubsampling: '4:2:0', mozjpeg: false })
      .toBuffer();
  } catch (e) {
    throw new FramewireError('E_SOURCE', `could not encode frame ${frame.seq} for ${profile.width}x${profile.height}: ${String(e)}`, { cause: e });
  }
}
