import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { i420Size, nativeJpeg, nativeJpegStatus, type NativeJpeg } from '../../src/pipeline/native-jpeg.js';
import { TestPatternRenderer } from '../../src/sources/testpattern.js';

const CAPTURE_US = Date.UTC(2024, 0, 2, 3, 4, 5, 678) * 1000;

/**
 * The addon, or null after skipping loudly. Like requireTool (test/helpers/tools.ts): CI installs
 * libturbojpeg0-dev, so there an unbuilt addon fails the run instead of hiding a broken install step.
 */
function requireNative(t: TestContext): NativeJpeg | null {
  if (nativeJpeg) return nativeJpeg;
  const why = `native JPEG encoder not available: ${nativeJpegStatus()}`;
  if (process.env.CI === 'true' && process.env.FRAMEWIRE_NATIVE_JPEG !== '0') {
    throw new Error(`${why}: CI must build it (apt-get install libturbojpeg0-dev, then npm install)`);
  }
  console.warn(`\n*** SKIPPED: ${why} ***\n`);
  t.skip(why);
  return null;
}

function frame(w: number, h: number, n = 0): Buffer {
  return new TestPatternRenderer(w, h).render(n, CAPTURE_US);
}

function assertJpegMarkers(jpeg: Buffer): void {
  assert.ok(jpeg.length > 4, 'JPEG too short');
  assert.equal(jpeg.readUInt16BE(0), 0xffd8, 'starts with SOI (FFD8)');
  assert.equal(jpeg.readUInt16BE(jpeg.length - 2), 0xffd9, 'ends with EOI (FFD9)');
}

async function decodeRgb(jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

for (const [w, h] of [
  [640, 480],
  [1280, 720],
] as const) {
  test(`native JPEG: ${w}x${h} test pattern round-trips through sharp's decoder`, async (t) => {
    const enc = requireNative(t);
    if (!enc) return;
    const rgb = frame(w, h, 42);
    const jpeg = await enc.encodeRgb(rgb, w, h, 90);
    assert.ok(Buffer.isBuffer(jpeg));
    assertJpegMarkers(jpeg);
    const meta = await sharp(jpeg).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.chromaSubsampling, '4:2:0');
    const dec = await decodeRgb(jpeg);
    assert.deepEqual([dec.width, dec.height, dec.channels], [w, h, 3]);
    const mad = meanAbsDiff(dec.data, rgb);
    assert.ok(mad < 6, `mean absolute difference ${mad.toFixed(2)} should be < 6 at quality 90`);
    // The input is not modified.
    assert.ok(rgb.equals(frame(w, h, 42)), 'input buffer untouched');
  });
}

test('native JPEG: quality changes the size; odd and tiny sizes work', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const rgb = frame(640, 480, 7);
  const [lo, hi] = await Promise.all([enc.encodeRgb(rgb, 640, 480, 20), enc.encodeRgb(rgb, 640, 480, 95)]);
  assert.ok(lo.length < hi.length, `q20 (${lo.length} B) should be smaller than q95 (${hi.length} B)`);
  for (const [w, h] of [
    [1, 1],
    [33, 17],
    [17, 33],
  ] as const) {
    const px = Buffer.alloc(w * h * 3, 0x80);
    const jpeg = await enc.encodeRgb(px, w, h, 80);
    assertJpegMarkers(jpeg);
    const dec = await decodeRgb(jpeg);
    assert.deepEqual([dec.width, dec.height], [w, h]);
  }
});

test('native JPEG: bad arguments reject with clear messages and the process keeps working', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const rgb = frame(64, 48);
  const cases: [string, () => Promise<Buffer>, new (...a: never[]) => Error, RegExp][] = [
    ['wrong buffer length', () => enc.encodeRgb(rgb.subarray(1), 64, 48, 80), RangeError, /rgb Buffer is 9215 bytes but 64x48 RGB24 needs 9216/],
    ['buffer too long', () => enc.encodeRgb(Buffer.concat([rgb, Buffer.alloc(3)]), 64, 48, 80), RangeError, /width\*height\*3/],
    ['quality 0', () => enc.encodeRgb(rgb, 64, 48, 0), RangeError, /quality must be an integer in 1\.\.100 \(got 0\)/],
    ['quality 101', () => enc.encodeRgb(rgb, 64, 48, 101), RangeError, /quality must be an integer in 1\.\.100/],
    ['quality 80.5', () => enc.encodeRgb(rgb, 64, 48, 80.5), RangeError, /quality must be an integer/],
    ['width 0', () => enc.encodeRgb(rgb, 0, 48, 80), RangeError, /width must be an integer in 1\.\.65535 \(got 0\)/],
    ['height 65536', () => enc.encodeRgb(rgb, 64, 65536, 80), RangeError, /height must be an integer in 1\.\.65535/],
    ['width NaN', () => enc.encodeRgb(rgb, NaN, 48, 80), RangeError, /width must be an integer/],
    ['width as a string', () => enc.encodeRgb(rgb, '64' as unknown as number, 48, 80), TypeError, /width must be a number/],
    ['not a Buffer', () => enc.encodeRgb(new Array(9216).fill(0) as unknown as Buffer, 64, 48, 80), TypeError, /rgb must be a Buffer/],
    ['null buffer', () => enc.encodeRgb(null as unknown as Buffer, 64, 48, 80), TypeError, /rgb must be a Buffer/],
  ];
  for (const [name, call, type, message] of cases) {
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof type, `${name}: expected ${type.name}, got ${String(e)}`);
      assert.match((e as Error).message, message, name);
      return true;
    });
  }
  assertJpegMarkers(await enc.encodeRgb(rgb, 64, 48, 80));
});

test('native JPEG: 8 concurrent encodes all resolve, each identical to its serial encode', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const r = new TestPatternRenderer(1280, 720);
  const frames = Array.from({ length: 8 }, (_, n) => r.render(n * 13, CAPTURE_US + n * 33_333));
  const together = await Promise.all(frames.map((f) => enc.encodeRgb(f, 1280, 720, 80)));
  for (let i = 0; i < frames.length; i++) {
    const alone = await enc.encodeRgb(frames[i]!, 1280, 720, 80);
    assertJpegMarkers(together[i]!);
    assert.ok(together[i]!.equals(alone), `frame ${i}: concurrent output differs from the serial one`);
  }
});

test('native JPEG: 400 encodes do not grow RSS by more than a few MB', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    return process.memoryUsage.rss();
  };
  const rgb = frame(1280, 720, 3);
  // Warm up: pool threads, their compressors and malloc arenas reach their steady size (~300 encodes).
  for (let i = 0; i < 150; i++) await Promise.all([enc.encodeRgb(rgb, 1280, 720, 80), enc.encodeRgb(rgb, 1280, 720, 80)]);
  const before = await settle();
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const [a, b] = await Promise.all([enc.encodeRgb(rgb, 1280, 720, 80), enc.encodeRgb(rgb, 1280, 720, 80)]);
    bytes += a.length + b.length;
  }
  const after = await settle();
  const grewMb = (after - before) / 2 ** 20;
  t.diagnostic(`RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MB after 400 encodes (${(bytes / 2 ** 20).toFixed(1)} MB of JPEG)`);
  // Leaking the outputs alone would be ~33 MB; steady state measures ~0-4 MB, and up to ~9 MB when a busy
  // machine spreads the encodes over more pool threads (each with its own malloc arena).
  assert.ok(grewMb < 14, `RSS grew ${grewMb.toFixed(1)} MB over 400 encodes`);
});

/**
 * I420 computed here, independently: BT.601 limited range straight from RGB (Y 16..235, Cb/Cr 16..240),
 * chroma the mean of each 2x2 block.
 */
function referenceI420(rgb: Buffer, w: number, h: number): Buffer {
  const cw = w / 2;
  const ch = h / 2;
  const out = Buffer.alloc(w * h + 2 * cw * ch);
  const px = (x: number, y: number): [number, number, number] => {
    const o = (y * w + x) * 3;
    return [rgb[o]!, rgb[o + 1]!, rgb[o + 2]!];
  };
  const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      out[y * w + x] = clamp(16 + (219 / 255) * (0.299 * r + 0.587 * g + 0.114 * b));
    }
  }
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      let cb = 0;
      let cr = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const [r, g, b] = px(2 * x + dx, 2 * y + dy);
        cb += -0.168736 * r - 0.331264 * g + 0.5 * b;
        cr += 0.5 * r - 0.418688 * g - 0.081312 * b;
      }
      out[w * h + y * cw + x] = clamp(128 + (224 / 255) * (cb / 4));
      out[w * h + cw * ch + y * cw + x] = clamp(128 + (224 / 255) * (cr / 4));
    }
  }
  return out;
}

function maxAbsDiff(a: Buffer, b: Buffer): { max: number; at: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > max) [max, at] = [d, i];
  }
  return { max, at };
}

test('native I420: matches BT.601 limited range computed independently (within 2), large and tiny sizes', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const noise = (w: number, h: number): Buffer => {
    const b = Buffer.alloc(w * h * 3);
    let x = 12345;
    for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    return b;
  };
  for (const [w, h, rgb] of [
    [640, 480, frame(640, 480, 5)],
    [1280, 720, frame(1280, 720, 9)],
    [34, 18, noise(34, 18)],
    [18, 34, noise(18, 34)],
    [2, 2, Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 99, 199])],
    [6, 2, noise(6, 2)],
  ] as const) {
    const copy = Buffer.from(rgb);
    const yuv = await enc.rgbToI420(rgb, w, h);
    assert.ok(Buffer.isBuffer(yuv));
    assert.equal(yuv.length, i420Size(w, h), `${w}x${h}: Y, then U and V of w/2 x h/2`);
    const { max, at } = maxAbsDiff(yuv, referenceI420(rgb, w, h));
    assert.ok(max <= 2, `${w}x${h}: off by ${max} at byte ${at} of ${yuv.length}`);
    assert.ok(rgb.equals(copy), 'input buffer untouched');
  }
  // The extremes land on the limits of the limited range.
  const bw = Buffer.from([0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255]); // 2x2: a black row over a white one
  assert.deepEqual([...(await enc.rgbToI420(bw, 2, 2))], [16, 16, 235, 235, 128, 128]);
});

test('native I420: a given out Buffer is written and returned, every byte, the same as a new one', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const out = Buffer.alloc(i420Size(640, 480), 0xa5);
  for (const n of [1, 2]) {
    const rgb = frame(640, 480, n);
    const got = await enc.rgbToI420(rgb, 640, 480, out);
    assert.equal(got, out, 'the same Buffer back');
    assert.ok(out.equals(await enc.rgbToI420(rgb, 640, 480)), `frame ${n}: equal to a fresh conversion`);
  }
});

test('native I420: bad arguments reject with TypeError/RangeError and the process keeps working', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const rgb = frame(64, 48);
  const cases: [string, () => Promise<Buffer>, new (...a: never[]) => Error, RegExp][] = [
    ['wrong buffer length', () => enc.rgbToI420(rgb.subarray(1), 64, 48), RangeError, /rgb Buffer is 9215 bytes but 64x48 RGB24 needs 9216/],
    ['odd width', () => enc.rgbToI420(frame(33, 18), 33, 18), RangeError, /I420 needs an even width and height \(got 33x18\)/],
    ['odd height', () => enc.rgbToI420(frame(34, 17), 34, 17), RangeError, /even width and height \(got 34x17\)/],
    ['width 0', () => enc.rgbToI420(rgb, 0, 48), RangeError, /width must be an integer in 1\.\.65535 \(got 0\)/],
    ['height 65536', () => enc.rgbToI420(rgb, 64, 65536), RangeError, /height must be an integer in 1\.\.65535/],
    ['width 64.5', () => enc.rgbToI420(rgb, 64.5, 48), RangeError, /width must be an integer/],
    ['height as a string', () => enc.rgbToI420(rgb, 64, '48' as unknown as number), TypeError, /height must be a number/],
    ['not a Buffer', () => enc.rgbToI420(new Array(9216).fill(0) as unknown as Buffer, 64, 48), TypeError, /rgb must be a Buffer/],
    ['out too short', () => enc.rgbToI420(rgb, 64, 48, Buffer.alloc(4607)), RangeError, /out Buffer is 4607 bytes but 64x48 I420 needs 4608/],
    ['out not a Buffer', () => enc.rgbToI420(rgb, 64, 48, 'x'.repeat(4608) as unknown as Buffer), TypeError, /out must be a Buffer/],
    ['out inside rgb', () => enc.rgbToI420(rgb, 64, 48, rgb.subarray(100, 100 + 4608)), RangeError, /out must not overlap rgb/],
  ];
  for (const [name, call, type, message] of cases) {
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof type, `${name}: expected ${type.name}, got ${String(e)}`);
      assert.match((e as Error).message, message, name);
      return true;
    });
  }
  // The raw binding checks its callback too (the wrapper always passes one).
  const raw = (await import('node:module')).createRequire(import.meta.url)('../../native/build/Release/framewire_jpeg.node') as {
    rgbToI420: (...a: unknown[]) => void;
  };
  assert.throws(() => raw.rgbToI420(rgb, 64, 48), (e: unknown) => e instanceof TypeError && /needs 4 or 5 arguments/.test(e.message));
  assert.throws(() => raw.rgbToI420(rgb, 64, 48, 'cb'), (e: unknown) => e instanceof TypeError && /callback must be a function/.test(e.message));
  assert.equal((await enc.rgbToI420(rgb, 64, 48)).length, i420Size(64, 48));
});

test('native I420: 8 concurrent conversions each equal their serial one; 300 do not grow RSS by more than a few MB', async (t) => {
  const enc = requireNative(t);
  if (!enc) return;
  const r = new TestPatternRenderer(1280, 720);
  const frames = Array.from({ length: 8 }, (_, n) => r.render(n * 13, CAPTURE_US + n * 33_333));
  const together = await Promise.all(frames.map((f) => enc.rgbToI420(f, 1280, 720)));
  for (let i = 0; i < frames.length; i++) {
    assert.ok(together[i]!.equals(await enc.rgbToI420(frames[i]!, 1280, 720)), `frame ${i}: concurrent output differs from the serial one`);
  }
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((res) => setImmediate(res));
    }
    return process.memoryUsage.rss();
  };
  for (let i = 0; i < 50; i++) await Promise.all([enc.rgbToI420(frames[0]!, 1280, 720), enc.rgbToI420(frames[1]!, 1280, 720)]);
  const before = await settle();
  for (let i = 0; i < 150; i++) await Promise.all([enc.rgbToI420(frames[0]!, 1280, 720), enc.rgbToI420(frames[1]!, 1280, 720)]);
  const after = await settle();
  const grewMb = (after - before) / 2 ** 20;
  t.diagnostic(`RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MB after 300 conversions (${((300 * i420Size(1280, 720)) / 2 ** 20).toFixed(0)} MB of I420)`);
  // Keeping the outputs (or the inputs' references) would be ~400 MB.
  assert.ok(grewMb < 14, `RSS grew ${grewMb.toFixed(1)} MB over 300 conversions`);
});

test('native JPEG: FRAMEWIRE_NATIVE_JPEG=0 forces the sharp fallback', () => {
  const code =
    "const m = await import('./src/pipeline/native-jpeg.ts'); console.log(JSON.stringify([m.nativeJpeg === null, m.nativeJpegStatus()]));";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, FRAMEWIRE_NATIVE_JPEG: '0' },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), [true, 'disabled by FRAMEWIRE_NATIVE_JPEG=0']);
});
