/**
 * The RBSP bit reader (Exp-Golomb, emulation prevention) and SPS/PPS/slice-header parsing
 * (src/codecs/h264/bit-reader.ts, sps.ts): real libx264 parameter sets, generated ones with every field
 * chosen by the test, and corrupt input, which must be E_MALFORMED and nothing else.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RbspReader, unescapeRbsp } from '../../src/codecs/h264/bit-reader.js';
import { codecString, parsePpsIds, parseSps, slicePpsId } from '../../src/codecs/h264/sps.js';
import { FramewireError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';
import { BitWriter, escapeRbsp, HIGH_PROFILE_IDCS, makePps, makeSlice, makeSps, nal, type SpsFields } from '../helpers/h264.js';

/** libx264 (ultrafast, 640x360): SPS and PPS as it wrote them; the SPS holds two emulation-prevention bytes. */
const X264_SPS_640x360 = Buffer.from('6742c01eda0280bfe5c04400000300040000030 0f23c58ba80'.replace(/ /g, ''), 'hex');
const X264_PPS = Buffer.from('68ce0fc8', 'hex');

type Op = { kind: 'u'; bits: number; v: number } | { kind: 'ue'; v: number } | { kind: 'se'; v: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 1, max: 32 }).chain((bits) => fc.record({ kind: fc.constant('u' as const), bits: fc.constant(bits), v: fc.integer({ min: 0, max: 2 ** bits - 1 }) })),
  // Zero bytes in a row: the writer must escape them and the reader unescape them.
  fc.record({ kind: fc.constant('u' as const), bits: fc.constant(24), v: fc.constant(0) }),
  fc.record({ kind: fc.constant('ue' as const), v: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 2 })) }),
  fc.record({ kind: fc.constant('se' as const), v: fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }) }),
);

describe('RBSP bit reader', () => {
  test('property: u(n), ue(v), se(v) written, escaped, then read back', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const w = new BitWriter();
        for (const op of ops) {
          if (op.kind === 'u') w.u(op.bits, op.v);
          else if (op.kind === 'ue') w.ue(op.v);
          else w.se(op.v);
        }
        const unit = nal(7, 3, w.trailing().done());
        const r = new RbspReader(unit);
        for (const op of ops) {
          const got = op.kind === 'u' ? r.bits(op.bits) : op.kind === 'ue' ? r.ue() : r.se();
          assert.equal(got, op.v);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('emulation-prevention bytes are skipped, and only after two zero bytes', { timeout: 5000 }, () => {
    // 00 00 03 01 → RBSP 00 00 01; a 03 not after two zeros is data.
    const r = new RbspReader(Buffer.from('67' + '000003' + '01' + '03' + '000003' + '03', 'hex'));
    assert.equal(r.bits(24), 0x000001);
    assert.equal(r.bits(8), 0x03);
    assert.equal(r.bits(24), 0x000003);
    assert.equal(Buffer.from(unescapeRbsp(Buffer.from('67000003000003', 'hex'))).toString('hex'), '00000000');
  });

  test('reading past the end is E_MALFORMED', { timeout: 5000 }, () => {
    const r = new RbspReader(Buffer.from('67ff', 'hex'));
    r.bits(8);
    assert.equal(codeOf(() => r.bit()), 'E_MALFORMED');
    assert.equal(codeOf(() => new RbspReader(Buffer.from('67', 'hex')).ue()), 'E_MALFORMED');
  });

  test('an Exp-Golomb code with more than 31 leading zeros is E_MALFORMED (values stay below 2^32)', { timeout: 5000 }, () => {
    assert.equal(new RbspReader(nal(7, 0, new BitWriter().ue(2 ** 32 - 2).trailing().done())).ue(), 2 ** 32 - 2);
    const tooLong = nal(7, 0, new BitWriter().u(32, 0).bit(1).u(32, 0).trailing().done());
    assert.equal(codeOf(() => new RbspReader(tooLong).ue()), 'E_MALFORMED');
  });
});

/** Size after cropping per §7.4.2.1.1 (written out again here, independently of the parser). */
function expectedSize(f: SpsFields): { width: number; height: number } {
  const high = HIGH_PROFILE_IDCS.includes(f.profileIdc ?? 66);
  const chroma = high ? (f.chromaFormatIdc ?? 1) : 1;
  const arrayType = chroma === 3 && f.separateColourPlane ? 0 : chroma;
  const frameMbsOnly = f.frameMbsOnly ?? true;
  const [subW, subH] = arrayType === 1 ? [2, 2] : arrayType === 2 ? [2, 1] : [1, 1];
  const unitX = arrayType === 0 ? 1 : subW;
  const unitY = (arrayType === 0 ? 1 : subH) * (frameMbsOnly ? 1 : 2);
  const c = f.crop ?? { left: 0, right: 0, top: 0, bottom: 0 };
  return {
    width: f.widthMbs * 16 - unitX * (c.left + c.right),
    height: (frameMbsOnly ? 1 : 2) * f.heightMapUnits * 16 - unitY * (c.top + c.bottom),
  };
}

const spsArb: fc.Arbitrary<SpsFields> = fc
  .record({
    id: fc.integer({ min: 0, max: 31 }),
    profileIdc: fc.constantFrom(66, 77, 88, ...HIGH_PROFILE_IDCS),
    constraintFlags: fc.integer({ min: 0, max: 255 }),
    levelIdc: fc.constantFrom(10, 11, 21, 30, 31, 40, 42, 51, 62),
    chromaFormatIdc: fc.integer({ min: 0, max: 3 }),
    separateColourPlane: fc.boolean(),
    bitDepthLuma: fc.integer({ min: 8, max: 14 }),
    scaling: fc.option(fc.array(fc.option(fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 64 }), { nil: undefined }), { minLength: 12, maxLength: 12 }), { nil: undefined }),
    log2MaxFrameNum: fc.integer({ min: 4, max: 16 }),
    pocType: fc.integer({ min: 0, max: 2 }),
    pocCycle: fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 5 }),
    widthMbs: fc.integer({ min: 1, max: 240 }),
    heightMapUnits: fc.integer({ min: 1, max: 68 }),
    frameMbsOnly: fc.boolean(),
    cropFraction: fc.option(fc.tuple(fc.nat(7), fc.nat(7), fc.nat(7), fc.nat(7)), { nil: undefined }),
    vui: fc.boolean(),
  })
  .map((r) => {
    const f: SpsFields = { ...r, scalingLists: r.scaling };
    // Scaling lists: a delta that makes nextScale 0 ends the list early, so keep the generated deltas short
    // of a full list and never summing to a zero scale; the parser must still consume exactly what was written.
    if (f.scalingLists) f.scalingLists = f.scalingLists.map((l, i) => (l ? validDeltas(l, i < 6 ? 16 : 64) : undefined));
    if (r.cropFraction) {
      const size = expectedSize({ ...f, crop: undefined });
      const high = HIGH_PROFILE_IDCS.includes(f.profileIdc!);
      const chroma = high ? f.chromaFormatIdc! : 1;
      const arrayType = chroma === 3 && f.separateColourPlane ? 0 : chroma;
      const unitX = arrayType === 0 ? 1 : arrayType === 3 ? 1 : 2;
      const unitY = (arrayType === 1 ? 2 : 1) * (f.frameMbsOnly ? 1 : 2);
      const [l, rr, t, b] = r.cropFraction;
      // Crop at most a little under half on each side, so something is left.
      const maxX = Math.floor((size.width - 1) / unitX / 2);
      const maxY = Math.floor((size.height - 1) / unitY / 2);
      f.crop = { left: Math.min(l, maxX), right: Math.min(rr, maxX), top: Math.min(t, maxY), bottom: Math.min(b, maxY) };
    }
    return f;
  });

/** Deltas as the spec reads them: a list ends after `size` deltas, or at the delta that makes the next scale 0. */
function validDeltas(deltas: number[], size: number): number[] {
  const out: number[] = [];
  let last = 8;
  for (const d of deltas.slice(0, size)) {
    out.push(d);
    const next = (last + d + 256) % 256;
    if (next === 0) return out;
    last = next;
  }
  if (out.length < size) out.push(last <= 128 ? -last : 256 - last);
  return out;
}

describe('SPS', () => {
  test('libx264\'s SPS: 640x360 (368 coded, 8 rows cropped), Constrained Baseline, level 3.0', { timeout: 5000 }, () => {
    const sps = parseSps(X264_SPS_640x360);
    assert.equal(sps.width, 640);
    assert.equal(sps.height, 360);
    assert.equal(sps.codedHeight, 368);
    assert.equal(sps.profileIdc, 66);
    assert.equal(sps.levelIdc, 30);
    assert.equal(sps.codec, 'avc1.42C01E');
    assert.deepEqual(parsePpsIds(X264_PPS), { id: 0, spsId: 0 });
  });

  test('codec string is avc1.PPCCLL in hex', { timeout: 5000 }, () => {
    assert.equal(codecString(100, 0, 31), 'avc1.64001F');
    assert.equal(codecString(66, 0xe0, 10), 'avc1.42E00A');
  });

  test('property: generated SPS (every profile, chroma format, scaling lists, POC type, field coding, cropping) → its fields and cropped size', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(spsArb, (f) => {
        const sps = parseSps(makeSps(f));
        const want = expectedSize(f);
        assert.equal(sps.width, want.width);
        assert.equal(sps.height, want.height);
        assert.equal(sps.id, f.id);
        assert.equal(sps.profileIdc, f.profileIdc);
        assert.equal(sps.levelIdc, f.levelIdc);
        assert.equal(sps.log2MaxFrameNum, f.log2MaxFrameNum);
        assert.equal(sps.frameMbsOnly, f.frameMbsOnly);
        assert.equal(sps.codec, codecString(f.profileIdc!, f.constraintFlags!, f.levelIdc!));
      }),
      { numRuns: 500 },
    );
  });

  test('every truncation of a valid SPS is E_MALFORMED, never a wrong size or another error', { timeout: 10_000 }, () => {
    const full = makeSps({ profileIdc: 100, widthMbs: 120, heightMapUnits: 68, crop: { left: 0, right: 0, top: 0, bottom: 4 }, scalingLists: [[1, 2, 3]] });
    for (let n = 0; n < full.length - 1; n++) {
      const code = codeOf(() => parseSps(full.subarray(0, n)));
      assert.equal(code, 'E_MALFORMED', `truncated to ${n} bytes`);
    }
  });

  test('property: random bytes after an SPS header parse or fail with E_MALFORMED, and a parsed size is sane', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        const unit = Buffer.concat([Uint8Array.of(0x67), escapeRbsp(bytes)]);
        try {
          const sps = parseSps(unit);
          assert.ok(sps.width >= 1 && sps.height >= 1 && sps.width * sps.height <= 139_264 * 256);
        } catch (e) {
          assert.ok(e instanceof FramewireError && e.code === 'E_MALFORMED', String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('out-of-range fields and over-cropping are E_MALFORMED', { timeout: 5000 }, () => {
    assert.equal(codeOf(() => parseSps(makeSps({ widthMbs: 10, heightMapUnits: 10, id: 32 }))), 'E_MALFORMED');
    assert.equal(codeOf(() => parseSps(makeSps({ widthMbs: 10, heightMapUnits: 10, crop: { left: 40, right: 40, top: 0, bottom: 0 } }))), 'E_MALFORMED');
    assert.equal(codeOf(() => parseSps(makeSps({ widthMbs: 1000, heightMapUnits: 1000 }))), 'E_MALFORMED');
    assert.equal(codeOf(() => parseSps(X264_PPS)), 'E_MALFORMED');
  });
});

describe('PPS and slice header', () => {
  test('PPS ids and the PPS a slice uses', { timeout: 5000 }, () => {
    assert.deepEqual(parsePpsIds(makePps(17, 3)), { id: 17, spsId: 3 });
    assert.equal(slicePpsId(makeSlice({ idr: true, firstMb: 0, ppsId: 42 })), 42);
    assert.equal(slicePpsId(makeSlice({ idr: false, firstMb: 8159, ppsId: 255 })), 255);
    assert.equal(codeOf(() => parsePpsIds(makePps(256, 0))), 'E_MALFORMED');
    assert.equal(codeOf(() => slicePpsId(Buffer.from('65', 'hex'))), 'E_MALFORMED');
  });
});
