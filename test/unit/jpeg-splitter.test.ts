import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp, { type JpegOptions } from 'sharp';
import fc from 'fast-check';
import { JpegSplitter } from '../../src/sources/jpeg-splitter.js';
import { jpegSize } from '../../src/sources/jpeg-size.js';

/** Deterministic pseudo-random bytes (noise makes lots of FF00 stuffing in the entropy data). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

async function makeJpeg(width: number, height: number, seed: number, opts: JpegOptions = {}): Promise<Buffer> {
  const raw = noise(width * height * 3, seed);
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg(opts).toBuffer();
}

/** Insert an APP1 segment right after SOI whose payload holds a whole JPEG (with its own SOI/EOI). */
function withThumbnail(jpeg: Buffer, thumb: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumb]);
  const len = payload.length + 2;
  assert.ok(len < 0x10000);
  const header = Buffer.from([0xff, 0xe1, len >> 8, len & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

/** A structurally valid JPEG-like stream exercising RST markers, fill bytes and stuffing. */
function synthetic(): Buffer {
  const seg = (m: number, payload: number[]): number[] => [0xff, m, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];
  return Buffer.from([
    0xff, 0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 0xff, 0xd9, 0xff, 0xd8]), // FFD9/FFD8 inside a segment
    0xff, 0xff, // fill bytes before a marker
    ...seg(0xc0, [8, 0, 16, 0, 32, 1, 1, 0x11, 0]),
    ...seg(0xda, [1, 1, 0, 0, 63, 0]),
    0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0x00, 0xff, 0xd7, 0x78, 0xff, 0xff, 0xd1, 0x9a,
    0xff, 0xd9,
  ]);
}

function split(stream: Buffer, cuts: number[], max?: number): { frames: Buffer[]; s: JpegSplitter } {
  const s = new JpegSplitter(max === undefined ? {} : { maxFrameBytes: max });
  const frames: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    frames.push(...s.push(stream.subarray(prev, c)));
    prev = c;
  }
  return { frames, s };
}

let fixtures: Buffer[] = [];

test('setup: real JPEGs from sharp', async () => {
  fixtures = [
    await makeJpeg(64, 48, 1),
    await makeJpeg(33, 17, 2, { quality: 95, chromaSubsampling: '4:4:4' }),
    await makeJpeg(80, 60, 3, { progressive: true }),
    withThumbnail(await makeJpeg(40, 30, 4), await makeJpeg(8, 8, 5)),
    synthetic(),
    await makeJpeg(1, 1, 6, { quality: 10 }),
  ];
  // The thumbnail-carrying JPEG still decodes.
  const meta = await sharp(fixtures[3]!).metadata();
  assert.equal(meta.width, 40);
});

test('jpegSize reads SOF dimensions', () => {
  assert.deepEqual(jpegSize(fixtures[0]!), { width: 64, height: 48 });
  assert.deepEqual(jpegSize(fixtures[1]!), { width: 33, height: 17 });
  assert.deepEqual(jpegSize(fixtures[2]!), { width: 80, height: 60 });
  assert.deepEqual(jpegSize(fixtures[3]!), { width: 40, height: 30 }); // not the thumbnail's 8x8
  assert.deepEqual(jpegSize(fixtures[4]!), { width: 32, height: 16 });
  assert.equal(jpegSize(Buffer.from([1, 2, 3, 4])), null);
  assert.equal(jpegSize(fixtures[0]!.subarray(0, 10)), null);
});

test('whole stream in one chunk and in 1-byte chunks', () => {
  const stream = Buffer.concat(fixtures);
  const one = split(stream, []);
  assert.deepEqual(one.frames, fixtures);
  const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
  const tiny = split(stream, cuts);
  assert.deepEqual(tiny.frames, fixtures);
  assert.equal(tiny.s.stats.frames, fixtures.length);
  assert.equal(tiny.s.stats.garbageBytes, 0);
  assert.equal(tiny.s.inFrame, false);
});

test('property: output is identical for any chunking, with garbage between frames counted', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ idx: fc.nat(100), garbage: fc.uint8Array({ maxLength: 20 }).map((g) => g.map((x) => (x === 0xff ? 0xfe : x))) }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }),
      (items, cutFractions) => {
        const frames = items.map((it) => fixtures[it.idx % fixtures.length]!);
        const pieces: Buffer[] = [];
        let garbage = 0;
        items.forEach((it, k) => {
          pieces.push(Buffer.from(it.garbage), frames[k]!);
          garbage += it.garbage.length;
        });
        const stream = Buffer.concat(pieces);
        const cuts = [...new Set(cutFractions.map((f) => Math.floor(f * stream.length)))].sort((a, b) => a - b);
        const { frames: got, s } = split(stream, cuts);
        assert.deepEqual(got, frames);
        assert.equal(s.stats.garbageBytes, garbage);
      },
    ),
    { numRuns: 300 },
  );
});

test('a frame over maxFrameBytes is dropped, counted, and the splitter resyncs', () => {
  const small = fixtures[0]!;
  const big = fixtures[2]!;
  const max = Math.max(small.length, fixtures[1]!.length) + 1;
  assert.ok(big.length > max);
  const stream = Buffer.concat([small, big, fixtures[1]!, big, small]);
  for (const chunk of [1, 7, 64, 4096, stream.length]) {
    const cuts: number[] = [];
    for (let c = chunk; c < stream.length; c += chunk) cuts.push(c);
    const { frames, s } = split(stream, cuts, max);
    assert.deepEqual(frames, [small, fixtures[1]!, small], `chunk ${chunk}`);
    assert.equal(s.stats.oversize, 2);
  }
});

test('a truncated frame followed by a new SOI is abandoned; corrupt structure resyncs', () => {
  const a = fixtures[0]!;
  const b = fixtures[1]!;
  const truncated = split(Buffer.concat([a.subarray(0, Math.floor(a.length / 2)), b]), [5, 100]);
  assert.deepEqual(truncated.frames, [b]);
  assert.equal(truncated.s.stats.truncated, 1);

  // Break the marker chain: overwrite the FF of the second segment marker.
  const broken = Buffer.from(a);
  const firstLen = (broken[4]! << 8) | broken[5]!;
  broken[4 + firstLen] = 0x00;
  const corrupt = split(Buffer.concat([broken, b]), []);
  assert.deepEqual(corrupt.frames, [b]);
  assert.equal(corrupt.s.stats.corrupt, 1);

  const s = new JpegSplitter();
  s.push(a.subarray(0, 10));
  assert.equal(s.inFrame, true);
  s.end();
  assert.equal(s.stats.truncated, 1);
  assert.deepEqual(s.push(b), [b]);
});

test('output buffers are independent copies of the input chunks', () => {
  const a = Buffer.from(fixtures[0]!);
  const s = new JpegSplitter();
  const [frame] = s.push(a);
  assert.ok(frame);
  a.fill(0);
  assert.deepEqual(frame, fixtures[0]);
});
