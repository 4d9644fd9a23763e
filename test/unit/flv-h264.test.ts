/**
 * FLV tags and the H.264 inside them (src/codecs/flv.ts, flv-h264.ts, h264/avcc.ts): streams written here
 * byte by byte, cut anywhere; corrupt and oversized input is a coded error before anything large is held.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlvTagReader, parseFlvAvcPacket } from '../../src/codecs/flv.js';
import { FlvH264Reader, type FlvH264Event } from '../../src/codecs/flv-h264.js';
import { parseAvcDecoderConfig, splitLengthPrefixed } from '../../src/codecs/h264/avcc.js';
import { codeOf } from '../helpers/errors.js';
import { avcConfig, flvHeader, flvTag, lengthPrefixed, videoTag } from '../helpers/flv.js';
import { annexB, cutAt, makeAud, makePps, makeSei, makeSlice, makeSps } from '../helpers/h264.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const SPS = makeSps({ widthMbs: 40, heightMapUnits: 23, crop: { left: 0, right: 0, top: 0, bottom: 4 } });
const PPS = makePps(0, 0);

describe('FLV tags', () => {
  test('property: any tags, cut anywhere → the same tags with their 32-bit timestamps', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(8, 9, 18), ts: fc.integer({ min: 0, max: 2 ** 32 - 1 }), body: fc.uint8Array({ maxLength: 100 }) }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (tags, cuts) => {
          const stream = Buffer.concat([flvHeader(), ...tags.map((t) => flvTag(t.type, t.ts, t.body))]);
          const r = new FlvTagReader();
          const got = cutAt(stream, cuts.map((c) => c % (stream.length + 1))).flatMap((c) => r.push(c));
          assert.deepEqual(
            got.map((t) => [t.type, t.timestampMs, hex(t.body)]),
            tags.map((t) => [t.type, t.ts, hex(t.body)]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('not FLV is E_MALFORMED', { timeout: 5000 }, () => {
    assert.equal(codeOf(() => new FlvTagReader().push(Buffer.from('0000000167420000000168ce3880', 'hex'))), 'E_MALFORMED');
  });

  test('a tag over the limit is E_TOO_LARGE from its header, before its body is held', { timeout: 5000 }, () => {
    const r = new FlvTagReader({ maxTagBytes: 1000 });
    const header = flvTag(9, 0, new Uint8Array(5000)).subarray(0, 11);
    r.push(flvHeader());
    assert.equal(codeOf(() => r.push(header)), 'E_TOO_LARGE');
    assert.ok(r.heldBytes <= 11);
  });

  test('an H.264 video tag: frame type, packet type, signed composition time', { timeout: 5000 }, () => {
    const body = Buffer.from([0x17, 1, 0xff, 0xff, 0xfe, 0xaa]);
    assert.deepEqual({ ...parseFlvAvcPacket(body), data: hex(parseFlvAvcPacket(body).data) }, { keyframe: true, packetType: 1, compositionTimeMs: -2, data: 'aa' });
    assert.equal(codeOf(() => parseFlvAvcPacket(Buffer.from([0x22, 1, 0, 0, 0]))), 'E_UNSUPPORTED');
    assert.equal(codeOf(() => parseFlvAvcPacket(Buffer.from([0x17, 1]))), 'E_MALFORMED');
  });
});

describe('length-prefixed H.264', () => {
  test('decoder configuration: SPS and PPS, length size', { timeout: 5000 }, () => {
    const c = parseAvcDecoderConfig(avcConfig([SPS], [PPS, makePps(1, 0)], 2));
    assert.equal(c.lengthSize, 2);
    assert.deepEqual(c.sps.map(hex), [hex(SPS)]);
    assert.deepEqual(c.pps.map(hex), [hex(PPS), hex(makePps(1, 0))]);
  });

  test('every truncation of a decoder configuration is E_MALFORMED', { timeout: 5000 }, () => {
    const full = avcConfig([SPS], [PPS]);
    for (let n = 0; n < full.length; n++) assert.equal(codeOf(() => parseAvcDecoderConfig(full.subarray(0, n))), 'E_MALFORMED', `${n} bytes`);
  });

  test('property: length-prefixed units split back; any cut short of the end is E_MALFORMED', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 6 }), fc.constantFrom(1, 2, 4), fc.nat(), (units, ls, cut) => {
        const fit = units.map((u) => Buffer.from(u.subarray(0, ls === 1 ? 255 : u.length)));
        const buf = lengthPrefixed(fit, ls);
        assert.deepEqual(splitLengthPrefixed(buf, ls).map(hex), fit.map(hex));
        const at = cut % buf.length;
        const code = codeOf(() => splitLengthPrefixed(buf.subarray(0, at), ls));
        // A cut can fall exactly between units; then the prefix is a valid shorter sample.
        assert.ok(code === 'E_MALFORMED' || code === 'no error');
      }),
      { numRuns: 300 },
    );
  });
});

describe('H.264 out of FLV', () => {
  test('configuration first, then one access unit per tag with its presentation time; AUD moved first', { timeout: 5000 }, () => {
    const key = [makeSei(), makeAud(), SPS, PPS, makeSlice({ idr: true, firstMb: 0 })];
    const p = [makeAud(), makeSlice({ idr: false, firstMb: 0 })];
    const stream = Buffer.concat([
      flvHeader(),
      flvTag(18, 0, Buffer.from('onMetaData')),
      videoTag(0, true, 0, avcConfig([SPS], [PPS])),
      videoTag(0, true, 1, lengthPrefixed(key)),
      videoTag(33, false, 1, lengthPrefixed(p), 0),
      videoTag(66, false, 2, Buffer.alloc(0)),
    ]);
    for (const cuts of [[], [1, 2, 3, 50, 51, 52, 100], Array.from({ length: stream.length }, (_, i) => i)]) {
      const r = new FlvH264Reader();
      const events: FlvH264Event[] = cutAt(stream, cuts).flatMap((c) => r.push(c));
      assert.equal(events.length, 3);
      assert.deepEqual(events[0], { kind: 'config', sps: [SPS], pps: [PPS] });
      const [a, b] = events.slice(1) as Extract<FlvH264Event, { kind: 'access-unit' }>[];
      assert.deepEqual(a!.au.nals.map((n) => n[0]! & 0x1f), [9, 6, 7, 8, 5]);
      assert.equal(a!.au.keyframe, true);
      assert.equal(a!.ptsMs, 0);
      assert.equal(hex(b!.au.data), hex(annexB(p)));
      assert.equal(b!.ptsMs, 33);
    }
  });

  test('without a configuration, samples are Annex B as the encoder wrote them', { timeout: 5000 }, () => {
    const key = [makeAud(), SPS, PPS, makeSlice({ idr: true, firstMb: 0 })];
    const r = new FlvH264Reader();
    const events = r.push(Buffer.concat([flvHeader(), videoTag(40, true, 1, annexB(key))]));
    assert.equal(events.length, 1);
    const e = events[0] as Extract<FlvH264Event, { kind: 'access-unit' }>;
    assert.deepEqual(e.au.nals.map(hex), key.map(hex));
    assert.equal(e.ptsMs, 40);
  });

  test('a sample whose lengths overrun it is E_MALFORMED', { timeout: 5000 }, () => {
    const r = new FlvH264Reader();
    const bad = Buffer.from('00000010' + '0988', 'hex');
    const stream = Buffer.concat([flvHeader(), videoTag(0, true, 0, avcConfig([SPS], [PPS])), videoTag(0, true, 1, bad)]);
    assert.equal(codeOf(() => r.push(stream)), 'E_MALFORMED');
  });

  test('a tag larger than the access-unit bound is E_TOO_LARGE', { timeout: 5000 }, () => {
    const r = new FlvH264Reader({ maxAccessUnitBytes: 1000 });
    const big = lengthPrefixed([makeAud(), makeSlice({ idr: true, firstMb: 0, body: new Uint8Array(2000).fill(9) })]);
    assert.equal(codeOf(() => r.push(Buffer.concat([flvHeader(), videoTag(0, true, 1, big)]))), 'E_TOO_LARGE');
  });
});
