/**
 * Annex-B splitting and access-unit assembly (src/codecs/h264/annexb.ts): hand-made streams, then property
 * tests over generated streams cut at arbitrary points, and the memory bound.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AccessUnitAssembler, accessUnitFromNals, NalSplitter, splitAnnexB, type AccessUnit, type NalSink } from '../../src/codecs/h264/annexb.js';
import { FramewireError } from '../../src/errors.js';
import { annexB, cutAt, escapeRbsp, makeAud, makePps, makeSei, makeSlice, makeSps } from '../helpers/h264.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Collect complete NAL units from a splitter fed the given chunks (no budget). */
function splitChunks(chunks: Buffer[]): Buffer[] {
  const s = new NalSplitter();
  const out: Buffer[] = [];
  const sink: NalSink = { begin: () => Number.MAX_SAFE_INTEGER, end: (parts) => out.push(Buffer.concat(parts!)) };
  for (const c of chunks) s.push(c, sink);
  s.end(sink);
  return out;
}

function assemble(chunks: Buffer[], options: ConstructorParameters<typeof AccessUnitAssembler>[0] = {}): { aus: AccessUnit[]; asm: AccessUnitAssembler; maxHeld: number } {
  const asm = new AccessUnitAssembler(options);
  const aus: AccessUnit[] = [];
  let maxHeld = 0;
  for (const c of chunks) {
    aus.push(...asm.push(c));
    maxHeld = Math.max(maxHeld, asm.heldBytes);
  }
  aus.push(...asm.end());
  return { aus, asm, maxHeld };
}

// ---- arbitraries ------------------------------------------------------------------------------------

/** A valid NAL unit body: header byte with forbidden bit 0, escaped payload, non-zero last byte. */
const nalArb = fc
  .record({ header: fc.integer({ min: 1, max: 0x7f }), payload: fc.uint8Array({ maxLength: 40 }), zeros: fc.integer({ min: 0, max: 6 }) })
  .map(({ header, payload, zeros }) => {
    // Runs of zeros make emulation prevention and start-code look-alikes likely.
    const rbsp = Uint8Array.from([...payload, ...new Array<number>(zeros).fill(0), 0x80]);
    return Buffer.concat([Uint8Array.of(header), escapeRbsp(rbsp)]);
  });

/** One access unit as the NAL units an encoder would write. */
const auArb = fc
  .record({
    aud: fc.boolean(),
    params: fc.boolean(),
    sei: fc.integer({ min: 0, max: 2 }),
    idr: fc.boolean(),
    slices: fc.integer({ min: 1, max: 4 }),
    body: fc.uint8Array({ minLength: 0, maxLength: 60 }),
  })
  .map(({ aud, params, sei, idr, slices, body }) => {
    const nals: Buffer[] = [];
    if (aud) nals.push(makeAud());
    if (params) nals.push(makeSps({ widthMbs: 20, heightMapUnits: 12 }), makePps(0, 0));
    for (let i = 0; i < sei; i++) nals.push(makeSei());
    for (let i = 0; i < slices; i++) nals.push(makeSlice({ idr, firstMb: i * 60, body }));
    return nals;
  });

// ---- splitting --------------------------------------------------------------------------------------

describe('NAL unit splitting', () => {
  test('3- and 4-byte start codes, leading garbage and trailing zeros are not part of any unit', { timeout: 5000 }, () => {
    const stream = Buffer.from('ff12' + '00000001' + '6742' + '000001' + '68ce' + '0000' + '000001' + '6588' + '000000', 'hex');
    assert.deepEqual(splitAnnexB(stream).map(hex), ['6742', '68ce', '6588']);
    assert.deepEqual(splitChunks([stream]).map(hex), ['6742', '68ce', '6588']);
  });

  test('00 00 03 inside a unit (emulation prevention) does not split it', { timeout: 5000 }, () => {
    const stream = Buffer.from('00000001' + '67' + '000003' + '01' + '000003' + '00' + '80', 'hex');
    assert.deepEqual(splitAnnexB(stream).map(hex), ['6700000301000003' + '0080']);
  });

  test('a start code split across chunks at every position', { timeout: 5000 }, () => {
    const stream = annexB([Buffer.from('6742c0', 'hex'), Buffer.from('68ce38', 'hex'), Buffer.from('65888400', 'hex').subarray(0, 3)], (i) => i !== 1);
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        assert.deepEqual(splitChunks(cutAt(stream, [a, b])).map(hex), ['6742c0', '68ce38', '658884'], `cuts ${a},${b}`);
      }
    }
  });

  test('property: any NAL units, any start codes and padding, any chunking → the same units', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ nal: nalArb, long: fc.boolean(), pad: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 12 }),
        fc.uint8Array({ maxLength: 8 }).map((g) => Buffer.from(g.map((b) => (b < 2 ? b + 2 : b)))),
        fc.array(fc.nat(), { maxLength: 10 }),
        (units, garbage, cuts) => {
          const parts: Uint8Array[] = [garbage];
          for (const u of units) parts.push(new Uint8Array(u.pad), u.long ? Uint8Array.of(0, 0, 0, 1) : Uint8Array.of(0, 0, 1), u.nal);
          const stream = Buffer.concat(parts);
          const expected = units.map((u) => hex(u.nal));
          assert.deepEqual(splitAnnexB(stream).map(hex), expected);
          assert.deepEqual(splitChunks(cutAt(stream, cuts.map((c) => c % (stream.length + 1)))).map(hex), expected);
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ---- access units -----------------------------------------------------------------------------------

describe('access unit assembly (§7.4.1.2.3)', () => {
  test('AUD, or parameter sets / SEI / a first_mb_in_slice = 0 slice after a slice, start a new access unit', { timeout: 5000 }, () => {
    const sps = makeSps({ widthMbs: 20, heightMapUnits: 12 });
    const pps = makePps(0, 0);
    const idr0 = makeSlice({ idr: true, firstMb: 0 });
    const idr1 = makeSlice({ idr: true, firstMb: 120 });
    const p0 = makeSlice({ idr: false, firstMb: 0 });
    const p1 = makeSlice({ idr: false, firstMb: 120 });
    const sei = makeSei();
    const stream = annexB([sps, pps, sei, idr0, idr1, p0, p1, sei, p0, makeAud(), p0, p1, sps, pps, idr0]);
    const { aus } = assemble([stream]);
    assert.deepEqual(
      aus.map((a) => a.nals.map((n) => n[0]! & 0x1f)),
      [[7, 8, 6, 5, 5], [1, 1], [6, 1], [9, 1, 1], [7, 8, 5]],
    );
    assert.deepEqual(aus.map((a) => a.keyframe), [true, false, false, false, true]);
    // Each access unit is its NAL units behind 4-byte start codes, nothing else.
    for (const a of aus) assert.equal(hex(a.data), hex(annexB(a.nals)));
  });

  test('a slice with first_mb_in_slice ≠ 0 starts a new picture when IdrPicFlag or nal_ref_idc = 0 differs (§7.4.1.2.4)', { timeout: 5000 }, () => {
    const stream = annexB([
      makeSlice({ idr: true, firstMb: 0 }),
      makeSlice({ idr: false, firstMb: 5 }),
      makeSlice({ idr: false, firstMb: 7, refIdc: 0 }),
      makeSlice({ idr: false, firstMb: 9, refIdc: 0 }),
    ]);
    assert.deepEqual(assemble([stream]).aus.map((a) => a.nals.length), [1, 1, 2]);
  });

  test('the last access unit comes out at end(), not before (its end is unknown until then)', { timeout: 5000 }, () => {
    const asm = new AccessUnitAssembler();
    assert.equal(asm.push(annexB([makeAud(), makeSlice({ idr: true, firstMb: 0 })])).length, 0);
    const last = asm.end();
    assert.equal(last.length, 1);
    assert.equal(last[0]!.keyframe, true);
  });

  test('units before any slice with nothing after them are not an access unit', { timeout: 5000 }, () => {
    const { aus, asm } = assemble([annexB([makeSps({ widthMbs: 4, heightMapUnits: 4 }), makePps(0, 0)])]);
    assert.equal(aus.length, 0);
    assert.equal(asm.stats.withoutPicture, 1);
  });

  test('a NAL unit with forbidden_zero_bit set is dropped with E_MALFORMED, the rest of its access unit kept', { timeout: 5000 }, () => {
    const errors: FramewireError[] = [];
    const bad = Buffer.from('e5aabb', 'hex');
    const stream = annexB([makeAud(), makeSlice({ idr: true, firstMb: 0 }), bad, makeAud(), makeSlice({ idr: false, firstMb: 0 })]);
    const { aus } = assemble([stream], { onError: (e) => errors.push(e) });
    assert.deepEqual(aus.map((a) => a.nals.length), [2, 2]);
    assert.deepEqual(errors.map((e) => e.code), ['E_MALFORMED']);
  });

  test('property: generated access units, any chunking → exactly those access units, keyframe = has an IDR slice', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.array(auArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (units, cuts, long) => {
        // Without an AUD, a unit that starts with a non-first slice cannot be told apart: the generator always
        // starts with first_mb_in_slice 0, which is what encoders do.
        const stream = annexB(units.flat(), () => long);
        const { aus } = assemble(cutAt(stream, cuts.map((c) => c % (stream.length + 1))));
        assert.deepEqual(
          aus.map((a) => a.nals.map(hex)),
          units.map((u) => u.map(hex)),
        );
        assert.deepEqual(
          aus.map((a) => a.keyframe),
          units.map((u) => u.some((n) => (n[0]! & 0x1f) === 5)),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('accessUnitFromNals puts a late AUD first (ffmpeg puts libx264\'s version SEI before it)', { timeout: 5000 }, () => {
    const au = accessUnitFromNals([makeSei(), makeAud(), makeSlice({ idr: true, firstMb: 0 })]);
    assert.deepEqual(au.nals.map((n) => n[0]! & 0x1f), [9, 6, 5]);
    assert.equal(au.keyframe, true);
    assert.equal(hex(au.data), hex(annexB(au.nals)));
  });
});

// ---- bounds ----------------------------------------------------------------------------------------

describe('access unit bounds', () => {
  test('an access unit over maxAccessUnitBytes is E_TOO_LARGE and dropped; its neighbours come through', { timeout: 5000 }, () => {
    const errors: FramewireError[] = [];
    const small = [makeAud(), makeSlice({ idr: true, firstMb: 0 })];
    const big = [makeAud(), makeSlice({ idr: false, firstMb: 0, body: new Uint8Array(5000).fill(0x55) })];
    const after = [makeAud(), makeSlice({ idr: false, firstMb: 0 })];
    const stream = annexB([...small, ...big, ...after]);
    const { aus, asm, maxHeld } = assemble(cutAt(stream, [10, 100, 1000, 2000, 3000, 4000]), { maxAccessUnitBytes: 1024, onError: (e) => errors.push(e) });
    assert.deepEqual(aus.map((a) => a.nals.map(hex)), [small.map(hex), after.map(hex)]);
    assert.deepEqual(errors.map((e) => e.code), ['E_TOO_LARGE']);
    assert.equal(asm.stats.oversize, 1);
    assert.ok(maxHeld <= 1024, `held ${maxHeld} bytes`);
  });

  test('an access unit of many small NAL units that add up past the bound is dropped too', { timeout: 5000 }, () => {
    const errors: FramewireError[] = [];
    const many = [makeAud(), ...Array.from({ length: 40 }, (_, i) => makeSlice({ idr: false, firstMb: i, body: new Uint8Array(40).fill(7) }))];
    const stream = annexB([...many, makeAud(), makeSlice({ idr: true, firstMb: 0 })]);
    const { aus, maxHeld } = assemble([stream], { maxAccessUnitBytes: 1000, onError: (e) => errors.push(e) });
    assert.equal(aus.length, 1);
    assert.equal(aus[0]!.keyframe, true);
    assert.deepEqual(errors.map((e) => e.code), ['E_TOO_LARGE']);
    assert.ok(maxHeld <= 1000);
  });

  test('more NAL units than maxNalUnits in one access unit is E_TOO_LARGE', { timeout: 5000 }, () => {
    const errors: FramewireError[] = [];
    const slices = Array.from({ length: 6 }, (_, i) => makeSlice({ idr: true, firstMb: i }));
    const { aus } = assemble([annexB([...slices, makeAud(), makeSlice({ idr: false, firstMb: 0 })])], { maxNalUnits: 5, onError: (e) => errors.push(e) });
    assert.equal(aus.length, 1);
    assert.deepEqual(errors.map((e) => e.code), ['E_TOO_LARGE']);
  });

  test('property: memory held never exceeds the bound; exactly the access units within it come out', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 0, max: 700 }), slices: fc.integer({ min: 1, max: 3 }), aud: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 64, max: 900 }),
        (spec, cuts, max) => {
          // Without an AUD a large first slice starts the next access unit: the previous one must be let go first.
          const units = spec.map(({ size, slices, aud }, k) => [
            ...(aud ? [makeAud()] : []),
            ...Array.from({ length: slices }, (_, i) => makeSlice({ idr: k % 3 === 0, firstMb: i * 10, body: new Uint8Array(size).fill(0x11 + i) })),
          ]);
          const stream = annexB(units.flat());
          let errors = 0;
          const { aus, maxHeld } = assemble(cutAt(stream, cuts.map((c) => c % (stream.length + 1))), { maxAccessUnitBytes: max, onError: () => errors++ });
          const fits = units.filter((u) => annexB(u).length <= max);
          assert.deepEqual(aus.map((a) => a.nals.map(hex)), fits.map((u) => u.map(hex)));
          assert.equal(errors, units.length - fits.length);
          assert.ok(maxHeld <= max, `held ${maxHeld} > ${max}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('garbage without start codes is not held', { timeout: 5000 }, () => {
    const asm = new AccessUnitAssembler({ maxAccessUnitBytes: 1024 });
    for (let i = 0; i < 100; i++) asm.push(Buffer.alloc(64 * 1024, 0xab));
    assert.equal(asm.heldBytes, 0);
    assert.equal(asm.garbageBytes, 100 * 64 * 1024);
  });

  test('a long run of zeros inside a unit (never valid H.264) is bounded like any other bytes', { timeout: 5000 }, () => {
    const errors: string[] = [];
    const asm = new AccessUnitAssembler({ maxAccessUnitBytes: 1024, onError: (e) => errors.push(e.code) });
    asm.push(annexB([makeAud(), Buffer.from('6588', 'hex')]));
    for (let i = 0; i < 50; i++) asm.push(Buffer.alloc(64 * 1024));
    asm.push(Buffer.from('77', 'hex'));
    assert.ok(asm.heldBytes <= 1024);
    asm.push(annexB([makeAud(), makeSlice({ idr: true, firstMb: 0 })]));
    assert.deepEqual(errors, ['E_TOO_LARGE']);
    assert.equal(asm.end().length, 1);
  });
});
