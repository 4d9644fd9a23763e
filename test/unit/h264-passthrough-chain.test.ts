/**
 * The passthrough chain (src/codecs/h264/passthrough-chain.ts) and the tolerant FLV readers under it
 * (src/codecs/flv.ts skipUnreadable, src/codecs/flv-h264.ts tolerant), fed FLV written here byte by byte:
 * whatever is dropped (over a bound, corrupt, a lost reference picture) is reported, nothing large is held,
 * and nothing is passed on until the next keyframe, which is marked as a restart (docs/h264.md, Passthrough).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlvTagReader } from '../../src/codecs/flv.js';
import { FlvH264Reader } from '../../src/codecs/flv-h264.js';
import { PassthroughChain, type ChainEvent } from '../../src/codecs/h264/passthrough-chain.js';
import { avcConfig, flvHeader, flvTag, lengthPrefixed, videoTag } from '../helpers/flv.js';
import { annexB, cutAt, makeAud, makePps, makeSei, makeSlice, makeSps } from '../helpers/h264.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const types = (nals: readonly Uint8Array[]): number[] => nals.map((n) => n[0]! & 0x1f);

const SPS = makeSps({ widthMbs: 40, heightMapUnits: 23, crop: { left: 0, right: 0, top: 0, bottom: 4 } }); // 640x360, log2_max_frame_num 4
const PPS = makePps(0, 0);
const CONFIG = videoTag(0, true, 0, avcConfig([SPS], [PPS]));

/** The NAL units of an IDR picture (frame_num 0) and of a P picture, each behind an AUD as libx264 and cameras send them. */
const idrNals = (): Buffer[] => [makeAud(), makeSlice({ idr: true, firstMb: 0, frameNum: 0 })];
const pNals = (frameNum: number, refIdc = 2): Buffer[] => [makeAud(), makeSlice({ idr: false, firstMb: 0, frameNum, refIdc })];
const keyTag = (nals: Buffer[] = idrNals()): Buffer => videoTag(0, true, 1, lengthPrefixed(nals));
const pTag = (frameNum: number, refIdc = 2): Buffer => videoTag(0, false, 1, lengthPrefixed(pNals(frameNum, refIdc)));

/** Events in a form assertions read: K/P for units (with R when marked restart), dropped:<code>, gap. */
function summary(events: readonly ChainEvent[]): string[] {
  return events.map((e) =>
    e.kind === 'unit' ? `${e.unit.keyframe ? 'K' : 'P'}${e.unit.restart ? 'R' : ''}` : e.kind === 'dropped' ? `dropped:${e.error.code}` : 'gap',
  );
}

function feed(chain: PassthroughChain, parts: readonly Buffer[]): ChainEvent[] {
  return parts.flatMap((p) => chain.push(p));
}

describe('passthrough chain: what is dropped', () => {
  test('an oversize FLV tag is reported from its header and passed over unheld; nothing until the next keyframe, a restart', { timeout: 5000 }, () => {
    const chain = new PassthroughChain({ maxAccessUnitBytes: 1000 });
    const events = feed(chain, [flvHeader(), CONFIG, keyTag(), pTag(1)]);
    assert.deepEqual(summary(events), ['KR', 'P']);

    const big = videoTag(0, false, 1, lengthPrefixed([makeAud(), makeSlice({ idr: false, firstMb: 0, frameNum: 2, body: new Uint8Array(50_000).fill(7) })]));
    // Its 11-byte header alone: the drop is known (and reported) before any of the body arrives.
    assert.deepEqual(summary(chain.push(big.subarray(0, 11))), ['dropped:E_TOO_LARGE']);
    for (const piece of cutAt(big.subarray(11), Array.from({ length: 500 }, (_, i) => i * 100))) {
      assert.deepEqual(chain.push(piece), []);
      assert.equal(chain.heldBytes, 0, 'an oversize tag is passed over as it arrives, never held');
    }
    // The P pictures after it refer to the lost one: not passed on. The keyframe restarts the chain.
    assert.deepEqual(summary(feed(chain, [pTag(3), pTag(4), keyTag(), pTag(1)])), ['KR', 'P']);
    assert.deepEqual(chain.stats, { units: 4, dropped: 1, gaps: 0, skipped: 2, completed: 2 });
  });

  test('an oversize access unit whose tag comes in one chunk with its neighbours: the same, and the others are kept', { timeout: 5000 }, () => {
    const chain = new PassthroughChain({ maxAccessUnitBytes: 1000 });
    const bigKey = keyTag([makeAud(), makeSlice({ idr: true, firstMb: 0, frameNum: 0, body: new Uint8Array(1200).fill(5) })]);
    const events = chain.push(Buffer.concat([flvHeader(), CONFIG, keyTag(), pTag(1), bigKey, pTag(1), keyTag(), pTag(1)]));
    assert.deepEqual(summary(events), ['KR', 'P', 'dropped:E_TOO_LARGE', 'KR', 'P']);
    assert.equal(chain.heldBytes, 0);
  });

  test('FLV tag bound: a tag of exactly maxTagBytes is read; one byte more is passed over (skipUnreadable) with its size', { timeout: 5000 }, () => {
    const r = new FlvTagReader({ maxTagBytes: 100, skipUnreadable: true });
    const fits = flvTag(9, 40, new Uint8Array(100).fill(1));
    const over = flvTag(9, 80, new Uint8Array(101).fill(2));
    const after = flvTag(9, 120, Uint8Array.of(3));
    const got = cutAt(Buffer.concat([flvHeader(), fits, over, after]), Array.from({ length: 300 }, (_, i) => i * 7)).flatMap((c) => {
      const tags = r.push(c);
      assert.ok(r.heldBytes <= 100 + 4, `held ${r.heldBytes}`);
      return tags;
    });
    assert.deepEqual(
      got.map((t) => [t.timestampMs, t.body.length, t.skippedBytes]),
      [
        [40, 100, undefined],
        [0, 0, 101],
        [120, 1, undefined],
      ],
    );
  });

  test('a video tag marked encrypted is passed over and dropped like the others (it used to throw out of the tolerant reader)', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    const encrypted = pTag(2);
    encrypted[0]! |= 0x20; // the tag header's filter bit
    const events = feed(chain, [flvHeader(), CONFIG, keyTag(), pTag(1), encrypted, pTag(3), keyTag()]);
    assert.deepEqual(summary(events), ['KR', 'P', 'dropped:E_UNSUPPORTED', 'KR']);
    assert.equal(chain.heldBytes, 0);
  });

  test('a NAL unit with forbidden_zero_bit set drops its access unit: reported, nothing until the next keyframe', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    const badSlice = makeSlice({ idr: false, firstMb: 0, frameNum: 2 });
    badSlice[0]! |= 0x80;
    const badSei = makeSei();
    badSei[0]! |= 0x80;
    const events = feed(chain, [
      flvHeader(),
      CONFIG,
      keyTag(),
      pTag(1),
      videoTag(0, false, 1, lengthPrefixed([makeAud(), badSlice])),
      pTag(3),
      keyTag(),
      pTag(1),
      // Any NAL unit of the access unit counts, not only its slices, and a keyframe is dropped like any other.
      keyTag([makeAud(), badSei, makeSlice({ idr: true, firstMb: 0, frameNum: 0 })]),
      pTag(1),
      keyTag(),
    ]);
    assert.deepEqual(summary(events), ['KR', 'P', 'dropped:E_MALFORMED', 'KR', 'P', 'dropped:E_MALFORMED', 'KR']);
    assert.equal(chain.stats.skipped, 2);
  });

  test('an access unit of more NAL units than maxNalUnits is dropped the same way; one of exactly that many passes', { timeout: 5000 }, () => {
    const chain = new PassthroughChain({ maxNalUnits: 4 });
    const slices = (frameNum: number, n: number): Buffer[] => Array.from({ length: n }, (_, i) => makeSlice({ idr: false, firstMb: i * 10, frameNum }));
    const events = feed(chain, [
      flvHeader(),
      CONFIG,
      keyTag(),
      videoTag(0, false, 1, lengthPrefixed([makeAud(), ...slices(1, 3)])), // 4 NAL units
      videoTag(0, false, 1, lengthPrefixed([makeAud(), ...slices(2, 4)])), // 5
      pTag(3),
      keyTag(),
    ]);
    assert.deepEqual(summary(events), ['KR', 'P', 'dropped:E_TOO_LARGE', 'KR']);
    assert.equal(chain.stats.skipped, 1);
  });

  test('a frame_num gap (a reference picture lost upstream) makes the chain wait for the next keyframe', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    // P picture 3 never arrives.
    const events = feed(chain, [flvHeader(), CONFIG, keyTag(), pTag(1), pTag(2), pTag(4), pTag(5), keyTag(), pTag(1)]);
    assert.deepEqual(summary(events), ['KR', 'P', 'P', 'gap', 'KR', 'P']);
    const gap = events.find((e) => e.kind === 'gap');
    assert.match(gap?.kind === 'gap' ? gap.detail : '', /frame_num 4 after 2/);
    assert.deepEqual(chain.stats, { units: 5, dropped: 0, gaps: 1, skipped: 2, completed: 2 });
  });

  test('the first P picture after a keyframe lost: a gap too', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    assert.deepEqual(summary(feed(chain, [flvHeader(), CONFIG, keyTag(), pTag(2), pTag(3), keyTag()])), ['KR', 'gap', 'KR']);
  });

  test('no false gaps: non-reference pictures, a second field repeating frame_num, frame_num wrapping, an SPS that allows gaps', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    // A non-reference picture takes PrevRefFrameNum + 1 and does not advance it; the second field of a
    // reference field pair (its own access unit) repeats its frame_num (§7.4.3).
    const parts = [flvHeader(), CONFIG, keyTag(), pTag(1, 0), pTag(1, 0), pTag(1), pTag(1)];
    for (let n = 2; n <= 20; n++) parts.push(pTag(n % 16)); // MaxFrameNum 16: 15 is followed by 0
    const events = feed(chain, parts);
    assert.deepEqual(summary(events), ['KR', ...Array<string>(23).fill('P')]);

    const spsGaps = makeSps({ widthMbs: 40, heightMapUnits: 23, gapsInFrameNumAllowed: true });
    const allowed = new PassthroughChain();
    const ev = feed(allowed, [flvHeader(), videoTag(0, true, 0, avcConfig([spsGaps], [PPS])), keyTag(), pTag(1), pTag(5), pTag(9)]);
    assert.deepEqual(summary(ev), ['KR', 'P', 'P', 'P']);
  });
});

describe('passthrough chain: keyframes completed', () => {
  test('a keyframe without SPS/PPS gets the cached ones in front: AUD, SPS, PPS, then its own SEI and slices', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    const sei = makeSei();
    const s0 = makeSlice({ idr: true, firstMb: 0, frameNum: 0 });
    const s1 = makeSlice({ idr: true, firstMb: 20, frameNum: 0 });
    // Out of band (the FLV decoder configuration, as from an MP4 file), the keyframe itself bare.
    const events = feed(chain, [flvHeader(), CONFIG, keyTag([makeAud(), sei, s0, s1]), pTag(1)]);
    assert.deepEqual(summary(events), ['KR', 'P']);
    const [k, p] = events.map((e) => (e.kind === 'unit' ? e.unit : null));
    assert.equal(hex(k!.data), hex(annexB([makeAud(), SPS, PPS, sei, s0, s1])));
    assert.deepEqual([k!.width, k!.height], [640, 360]);
    // Nothing is added to pictures that are not keyframes.
    assert.equal(hex(p!.data), hex(annexB(pNals(1))));
    assert.equal(chain.stats.completed, 1);
  });

  test('in band: the first keyframe carries them and is passed as it is; a later bare keyframe gets them (no AUD: first)', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    const own = [makeAud(), SPS, PPS, makeSei(), makeSlice({ idr: true, firstMb: 0, frameNum: 0 })];
    const bare = [makeSei(), makeSlice({ idr: true, firstMb: 0, frameNum: 0 })];
    // Annex-B samples (no decoder configuration), as ffmpeg writes an encoder's packets without one.
    const events = feed(chain, [flvHeader(), videoTag(0, true, 1, annexB(own)), videoTag(0, false, 1, annexB(pNals(1))), videoTag(0, true, 1, annexB(bare))]);
    assert.deepEqual(summary(events), ['KR', 'P', 'K']);
    const units = events.flatMap((e) => (e.kind === 'unit' ? [e.unit] : []));
    assert.equal(hex(units[0]!.data), hex(annexB(own)));
    assert.equal(hex(units[2]!.data), hex(annexB([SPS, PPS, ...bare])));
    assert.deepEqual(types(splitNals(units[2]!.data)), [7, 8, 6, 5]);
    assert.equal(chain.stats.completed, 1);
  });

  test('a keyframe whose parameter sets never came is dropped, and the chain waits for one that has them', { timeout: 5000 }, () => {
    const chain = new PassthroughChain();
    // No decoder configuration: samples are Annex B.
    const tag = (key: boolean, nals: Buffer[]): Buffer => videoTag(0, key, 1, annexB(nals));
    const events = feed(chain, [flvHeader(), tag(true, idrNals()), tag(true, [makeAud(), SPS, PPS, makeSlice({ idr: true, firstMb: 0, frameNum: 0 })]), tag(false, pNals(1))]);
    assert.deepEqual(summary(events), ['dropped:E_MALFORMED', 'KR', 'P']);
  });
});

/** NAL units of data made here (4-byte start codes only). */
function splitNals(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const next = data.indexOf(Buffer.of(0, 0, 0, 1), at + 4);
    out.push(data.subarray(at + 4, next < 0 ? data.length : next));
    at = next < 0 ? data.length : next;
  }
  return out;
}

describe('passthrough chain: garbage', () => {
  const MAX_AU = 1000;
  // The tag bound is the access-unit bound + 16; a tag being read is held with its PreviousTagSize.
  const HELD_BOUND = MAX_AU + 16 + 4;

  /** Feeds every chunk to a chain and a bare tolerant reader: neither may throw or hold more than the bound. */
  function feedBoth(chunks: readonly Buffer[]): ChainEvent[] {
    const chain = new PassthroughChain({ maxAccessUnitBytes: MAX_AU });
    const reader = new FlvH264Reader({ maxAccessUnitBytes: MAX_AU, tolerant: true });
    const events: ChainEvent[] = [];
    for (const c of chunks) {
      events.push(...chain.push(c));
      reader.push(c);
      assert.ok(chain.heldBytes <= HELD_BOUND, `chain held ${chain.heldBytes}`);
      assert.ok(reader.heldBytes <= HELD_BOUND, `reader held ${reader.heldBytes}`);
    }
    return events;
  }

  /** Every unit passed on follows the reference chain: the first is a keyframe restart, as is the first after any drop or gap. */
  function assertChainWhole(events: readonly ChainEvent[]): void {
    let waiting = true;
    for (const e of events) {
      if (e.kind !== 'unit') waiting = true;
      else {
        if (waiting) assert.ok(e.unit.keyframe && e.unit.restart, 'the first unit after a drop is a keyframe marked restart');
        else assert.equal(e.unit.restart, false);
        waiting = false;
      }
    }
  }

  test('property: random bytes after the FLV header, cut anywhere: never a throw, never more held than the bound', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000, size: 'max' }), fc.array(fc.nat(), { maxLength: 30, size: 'max' }), (garbage, cuts) => {
        const stream = Buffer.concat([flvHeader(), garbage]);
        assertChainWhole(feedBoth(cutAt(stream, cuts.map((c) => c % (stream.length + 1)))));
      }),
      { numRuns: 500, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true },
    );
  });

  test('property: good pictures and FLV tags of random content mixed, cut anywhere: no throw, bounded, the reference chain whole', { timeout: 60_000 }, () => {
    const piece = fc.oneof(
      fc.constant(CONFIG),
      fc.constant(keyTag()),
      fc.integer({ min: 0, max: 15 }).map((n) => pTag(n)),
      // A video tag of H.264 whose sample is random (length-prefixed or Annex B, whichever the reader expects).
      fc.record({ key: fc.boolean(), type: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ maxLength: 200, size: 'max' }) }).map((t) => videoTag(0, t.key, t.type, t.data)),
      // Random NAL units in a well-formed sample.
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 6 }).map((nals) => videoTag(0, false, 1, lengthPrefixed(nals))),
      // Random tag bodies of any tag type, sizes around the bound.
      fc.record({ type: fc.integer({ min: 0, max: 31 }), body: fc.uint8Array({ maxLength: 1100, size: 'max' }) }).map((t) => flvTag(t.type, 0, t.body)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 25, size: 'max' }), fc.array(fc.nat(), { maxLength: 30, size: 'max' }), (pieces, cuts) => {
        const stream = Buffer.concat([flvHeader(), ...pieces]);
        assertChainWhole(feedBoth(cutAt(stream, cuts.map((c) => c % (stream.length + 1)))));
      }),
      { numRuns: 500, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true },
    );
  });
});
