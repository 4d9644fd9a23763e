/**
 * The optional native JPEG encoder: libjpeg-turbo's TurboJPEG through a small Node-API addon
 * (native/src/framewire_jpeg.c, built by scripts/build-native.mjs at install/build time when the library is there).
 * It skips sharp's per-call libvips pipeline set-up, which dominates at video frame sizes. It also converts
 * RGB24 to I420 for the H.264 encoder (its ffmpeg child then skips swscale's slower conversion).
 *
 * `nativeJpeg` is null when the addon is not built, does not load, or FRAMEWIRE_NATIVE_JPEG=0;
 * `nativeJpegStatus()` says which, for logs. Callers fall back to sharp. See docs/native-encoder.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeJpeg {
  /**
   * Baseline JPEG, 4:2:0, accurate DCT, from packed RGB24 (`rgb.length === width * height * 3`).
   * Runs on libuv's thread pool. Rejects with a TypeError/RangeError for bad arguments, an Error for
   * TurboJPEG failures. The caller must not modify `rgb` until the promise settles.
   */
  encodeRgb(rgb: Buffer, width: number, height: number, quality: number): Promise<Buffer>;
  /**
   * Planar I420 (ffmpeg's yuv420p) from packed RGB24: BT.601, limited range (Y 16..235, Cb/Cr 16..240),
   * chroma the mean of each 2x2 block (centre-sited). Y plane, then U, then V (width/2 x height/2 each),
   * rows unpadded: `i420Size(width, height)` bytes. Width and height must be even (RangeError otherwise).
   * TurboJPEG's SIMD colour conversion, on libuv's thread pool; other errors as for encodeRgb. Don't modify
   * `rgb` until it settles. `out` (exactly that size, not overlapping `rgb`) is written and returned instead
   * of a new Buffer: reusing a few spares V8's GC the pressure of a large new Buffer per frame; don't touch
   * it until the promise settles.
   */
  rgbToI420(rgb: Buffer, width: number, height: number, out?: Buffer): Promise<Buffer>;
}

/** Bytes of an I420 picture of this (even) size. */
export function i420Size(width: number, height: number): number {
  return (width * height * 3) / 2;
}

interface Addon {
  encodeRgb(rgb: Buffer, width: number, height: number, quality: number, callback: (err: Error | null, jpeg?: Buffer) => void): void;
  rgbToI420(rgb: Buffer, width: number, height: number, callback: (err: Error | null, yuv?: Buffer) => void): void;
  rgbToI420(rgb: Buffer, width: number, height: number, out: Buffer, callback: (err: Error | null, yuv?: Buffer) => void): void;
}

/** Calls one of the addon's callback functions as a promise; argument errors are thrown synchronously. */
function promised(call: (cb: (err: Error | null, out?: Buffer) => void) => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    try {
      call((err, out) => (err || !out ? reject(err ?? new Error('no output')) : resolve(out)));
    } catch (e) {
      reject(e as Error);
    }
  });
}

/** Path of the built addon, relative to the package root. */
export const NATIVE_JPEG_ADDON = join('native', 'build', 'Release', 'framewire_jpeg.node');

/** The directory holding framewire's package.json, from src/ (tsx) or dist/ alike; null if not found. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'framewire') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function load(): { addon: NativeJpeg | null; status: string } {
  if (process.env.FRAMEWIRE_NATIVE_JPEG === '0') return { addon: null, status: 'disabled by FRAMEWIRE_NATIVE_JPEG=0' };
  const root = packageRoot();
  if (root === null) return { addon: null, status: 'framewire package root not found' };
  const file = join(root, NATIVE_JPEG_ADDON);
  if (!existsSync(file)) {
    return { addon: null, status: `not built (${NATIVE_JPEG_ADDON} missing; install libturbojpeg0-dev, then npm run build)` };
  }
  let raw: Addon;
  try {
    raw = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { addon: null, status: `failed to load ${NATIVE_JPEG_ADDON}: ${msg}` };
  }
  for (const fn of ['encodeRgb', 'rgbToI420'] as const) {
    if (typeof raw?.[fn] !== 'function') return { addon: null, status: `${NATIVE_JPEG_ADDON} has no ${fn} (an old build? npm run build)` };
  }
  const addon: NativeJpeg = {
    encodeRgb: (rgb, width, height, quality) => promised((cb) => raw.encodeRgb(rgb, width, height, quality, cb)),
    rgbToI420: (rgb, width, height, out) =>
      promised((cb) => (out === undefined ? raw.rgbToI420(rgb, width, height, cb) : raw.rgbToI420(rgb, width, height, out, cb))),
  };
  return { addon, status: 'native libjpeg-turbo' };
}

const loaded = load();

export const nativeJpeg: NativeJpeg | null = loaded.addon;

/** 'native libjpeg-turbo' when loaded, otherwise why not (for the server's start-up log). */
export function nativeJpegStatus(): string {
  return loaded.status;
}
