/**
 * The H.264 drop rule (server/newest-frame-slot.ts SkipToKeyframe): a viewer that cannot take every frame
 * gets only runs that start at a keyframe and have no gap, and the frames skipped for that are counted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedFrame } from '../../src/pipeline/encoded-frame.js';
import { MAX_RESUME_US, NewestFrameSlot, SkipToKeyframe, replaceWaiting, slotPolicyFor, type FrameSink } from '../../src/server/newest-frame-slot.js';
import { FRAMEWIRE_FRAME } from '../../src/server/framewire/session.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { Codec } from '../../src/protocol/constants.js';

const profile = Object.freeze({ width: 64, height: 48, quality: 0 });
const GOP = 10;

function au(seq: number, gop = GOP): EncodedFrame {
  return new EncodedFrame(seq, seq * 33_333, profile, Buffer.from([0, 0, 0, 1, 9, seq & 0xff]), 0, false, { codec: 'h264', keyframe: seq % gop === 0 });
}

/** A viewer whose writes finish only when the test says so: `pending` holds their done callbacks. */
function slowSink(): FrameSink & { got: EncodedFrame[]; pending: (() => void)[] } {
  const s = {
    got: [] as EncodedFrame[],
    pending: [] as (() => void)[],
    ready: () => true,
    write(f: EncodedFrame, done: () => void) {
      s.got.push(f);
      s.pending.push(done);
    },
  };
  return s;
}

/** Every received frame is a keyframe or the very next frame after the one received before it. */
function assertDecodable(got: readonly EncodedFrame[]): void {
  assert.ok(got.length > 0);
  assert.equal(got[0]!.keyframe, true, `first frame ${got[0]!.seq} is not a keyframe`);
  for (let i = 1; i < got.length; i++) {
    const f = got[i]!;
    assert.ok(f.keyframe || f.seq === got[i - 1]!.seq + 1, `frame ${f.seq} follows ${got[i - 1]!.seq}: its reference is missing`);
  }
}

describe('H.264 slot policy: skip to the next keyframe', () => {
  it('a viewer that keeps up gets every frame from its first keyframe, nothing skipped after it', () => {
    const sink = slowSink();
    const slot = new NewestFrameSlot(sink, slotPolicyFor('h264'));
    for (let seq = 3; seq < 40; seq++) {
      slot.offer(au(seq));
      sink.pending.shift()?.();
    }
    assert.deepEqual(
      sink.got.map((f) => f.seq),
      Array.from({ length: 30 }, (_, i) => 10 + i),
      'joins at the first keyframe (seq 10), then every frame',
    );
    assert.equal(slot.skipped, 7, 'seq 3..9 were skipped waiting for the first keyframe');
    assertDecodable(sink.got);
  });

  it('a viewer taking one frame in three gets only gapless runs from keyframes, and skips are counted', () => {
    const sink = slowSink();
    const slot = new NewestFrameSlot(sink, slotPolicyFor('h264'));
    for (let seq = 0; seq < 100; seq++) {
      slot.offer(au(seq));
      if (seq % 3 === 2) sink.pending.shift()?.();
    }
    while (sink.pending.length > 0) sink.pending.shift()!();
    assertDecodable(sink.got);
    assert.ok(slot.skipped > 0, 'frames were skipped');
    assert.ok(slot.dropped >= slot.skipped, 'skips are among the drops');
    assert.equal(slot.sent + slot.dropped, 100, 'every frame is sent or counted as dropped');
    // Each GOP yields at least its keyframe: the viewer never waits more than one GOP for a picture.
    for (let k = 0; k < 100; k += GOP) assert.ok(sink.got.some((f) => f.seq === k), `keyframe ${k} reached the viewer`);
  });

  it('the same slow viewer on the JPEG rule would get gaps (why H.264 needs its own rule)', () => {
    const sink = slowSink();
    const slot = new NewestFrameSlot(sink, replaceWaiting);
    for (let seq = 0; seq < 100; seq++) {
      slot.offer(au(seq));
      if (seq % 3 === 2) sink.pending.shift()?.();
    }
    assert.throws(() => assertDecodable(sink.got));
  });

  it('after clear() (another profile) the viewer waits for a keyframe again', () => {
    const sink = slowSink();
    const slot = new NewestFrameSlot(sink, slotPolicyFor('h264'));
    for (let seq = 0; seq < 5; seq++) {
      slot.offer(au(seq));
      sink.pending.shift()?.();
    }
    slot.clear();
    for (let seq = 25; seq < 35; seq++) {
      slot.offer(au(seq));
      sink.pending.shift()?.();
    }
    assert.deepEqual(
      sink.got.map((f) => f.seq),
      [0, 1, 2, 3, 4, 30, 31, 32, 33, 34],
    );
  });

  /** A slot fed like the hub feeds it: each access unit goes into a GOP cache, then to the slot. */
  function withCache(sink: FrameSink): { slot: NewestFrameSlot; offer(seq: number): void } {
    let run: EncodedFrame[] = [];
    const slot = new NewestFrameSlot(sink, slotPolicyFor('h264'), () => run.slice());
    return {
      slot,
      offer(seq: number) {
        const f = au(seq, 1000);
        run = f.keyframe ? [f] : [...run, f];
        slot.offer(f);
      },
    };
  }

  it('a viewer ready again after a short stall gets the frames it missed as a catch-up run, not the next keyframe', () => {
    const sink = slowSink();
    const { slot, offer } = withCache(sink);
    for (let seq = 0; seq < 20; seq++) {
      offer(seq);
      sink.pending.shift()?.();
    }
    // Stalled for 6 frames: 20 is written and not done, 21 waits, 22..25 are dropped (skipping).
    for (let seq = 20; seq < 26; seq++) offer(seq);
    assert.ok(slot.dropped > 0);
    while (sink.pending.length > 0) sink.pending.shift()!();
    offer(26);
    const resumed = sink.got.filter((f) => f.seq > 21);
    assert.deepEqual(resumed.map((f) => [f.seq, f.catchUp]), [[22, true], [23, true], [24, true], [25, true], [26, false]]);
    assertDecodable(sink.got);
    assert.deepEqual([slot.dropped, slot.skipped, slot.sent], [0, 0, 27], 'the frames once dropped were sent after all');
  });

  it('the counts reported to /metrics never step back when a resume sends frames once dropped', () => {
    const sink = slowSink();
    const { slot, offer } = withCache(sink);
    const seen: number[][] = [];
    const note = (): void => {
      const s = slot.settled(false);
      seen.push([s.dropped, s.skipped]);
    };
    for (let seq = 0; seq < 1005; seq++) {
      offer(seq);
      // Stalls of 6 frames (resumed) and of 20 frames (past MAX_RESUME_US: waits for the keyframe at 1000).
      const stalled = (seq >= 20 && seq < 26) || (seq >= 35 && seq < 55);
      if (!stalled) while (sink.pending.length > 0) sink.pending.shift()!();
      note();
    }
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]![0]! >= seen[i - 1]![0]! && seen[i]![1]! >= seen[i - 1]![1]!, `step ${i}: ${seen[i - 1]} → ${seen[i]}`);
    }
    assert.ok(seen.at(-1)![0]! > 0, 'the long stall left drops that were never sent');
    assert.deepEqual(slot.settled(true), { dropped: slot.dropped, skipped: slot.skipped }, 'a closed viewer reports everything');
  });

  it('a stall longer than MAX_RESUME_US waits for the next keyframe; so does a viewer moved to another profile', () => {
    const sink = slowSink();
    const { slot, offer } = withCache(sink);
    offer(0);
    sink.pending.shift()!();
    const longStall = Math.ceil(MAX_RESUME_US / 33_333) + 3;
    for (let seq = 1; seq <= longStall; seq++) offer(seq);
    while (sink.pending.length > 0) sink.pending.shift()!();
    offer(longStall + 1);
    assert.deepEqual(sink.got.map((f) => f.seq), [0, 1, 2], 'no catch-up run: it would put the viewer too far behind');
    assert.ok(slot.skipped > 0);

    const sink2 = slowSink();
    const b = withCache(sink2);
    for (let seq = 0; seq < 5; seq++) {
      b.offer(seq);
      sink2.pending.shift()?.();
    }
    b.slot.clear();
    b.offer(5);
    assert.deepEqual(sink2.got.map((f) => f.seq), [0, 1, 2, 3, 4], 'after clear() the last frame sent is of another profile: no run from it');
  });

  it('each viewer has its own policy state', () => {
    assert.notEqual(slotPolicyFor('h264'), slotPolicyFor('h264'));
    assert.ok(slotPolicyFor('h264') instanceof SkipToKeyframe);
    assert.equal(slotPolicyFor('jpeg'), replaceWaiting);
  });
});

describe('framewire/1 FRAME of an H.264 access unit', () => {
  it('carries codec 2 and the keyframe flag; a JPEG frame carries codec 1', () => {
    const decode = (f: EncodedFrame) => {
      const r = new MessageDecoder({ codecs: 0x03 }).push(f.wire(FRAMEWIRE_FRAME));
      assert.equal(r.error, null);
      const m = r.messages[0]!;
      assert.equal(m.type, 'frame');
      return m;
    };
    const key = decode(au(0));
    const delta = decode(au(1));
    assert.equal(key.type === 'frame' && key.codec, Codec.H264);
    assert.equal(key.type === 'frame' && key.keyframe, true);
    assert.notEqual(delta.type === 'frame' && delta.keyframe, true);
    assert.deepEqual(delta.type === 'frame' && [...delta.payload], [0, 0, 0, 1, 9, 1]);
    const jpeg = decode(new EncodedFrame(7, 0, profile, Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 0));
    assert.equal(jpeg.type === 'frame' && jpeg.codec, Codec.JPEG);
    assert.notEqual(jpeg.type === 'frame' && jpeg.keyframe, true, 'JPEG frames carry no flags (§3.4.1)');
  });
});
