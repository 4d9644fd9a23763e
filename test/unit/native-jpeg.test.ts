import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { nativeJpeg, nativeJpegStatus, type NativeJpeg } from '../../src/pipeline/native-jpeg.js';
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
