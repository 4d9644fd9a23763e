/** The MPEG-TS muxer: whole 188-byte packets, PAT/PMT before keyframes with valid CRCs, gapless continuity counters, PTS from the capture time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32Mpeg, TS_VIDEO_PID, TsMuxer } from '../../src/codecs/mpegts.js';

const pidOf = (p: Buffer): number => p.readUInt16BE(1) & 0x1fff;

function packets(b: Buffer): Buffer[] {
  assert.equal(b.length % 188, 0, 'whole packets');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 188) {
    const p = b.subarray(i, i + 188);
    assert.equal(p[0], 0x47, 'sync byte');
    out.push(p);
  }
  return out;
}

test('CRC-32/MPEG-2 of "123456789" is 0x0376e6e7', { timeout: 5000 }, () => {
  assert.equal(crc32Mpeg(Buffer.from('123456789')), 0x0376e6e7);
});

test('a keyframe gets PAT and PMT with valid CRCs; access units of any size fill whole packets with gapless counters and the PTS of the capture time', { timeout: 5000 }, () => {
  const mux = new TsMuxer();
  const ccs = new Map<number, number[]>();
  for (const [i, size] of [1, 100, 183, 184, 185, 1000, 70_000].entries()) {
    const au = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x65]), Buffer.alloc(size, 0xab)]);
    const ps = packets(mux.accessUnit(au, 1_000_000 + i * 33_333, i % 3 === 0));
    if (i % 3 === 0) {
      assert.deepEqual(ps.slice(0, 2).map(pidOf), [0, 0x1000]);
      for (const p of ps.slice(0, 2)) {
        const len = p.readUInt16BE(6) & 0x0fff;
        const section = p.subarray(5, 5 + 3 + len);
        assert.equal(crc32Mpeg(section.subarray(0, section.length - 4)), section.readUInt32BE(section.length - 4));
      }
    }
    const video = ps.filter((p) => pidOf(p) === TS_VIDEO_PID);
    // Reassemble the PES payload: what follows the adaptation field in each packet.
    const body = Buffer.concat(video.map((p) => p.subarray((p[3]! & 0x20) !== 0 ? 5 + p[4]! : 4)));
    assert.deepEqual([...body.subarray(0, 4)], [0, 0, 1, 0xe0]);
    const pts = body.subarray(9, 14);
    const v = (pts[0]! >> 1 & 7) * 2 ** 30 + (pts.readUInt16BE(1) >> 1) * 2 ** 15 + (pts.readUInt16BE(3) >> 1);
    assert.equal(v, Math.floor(((1_000_000 + i * 33_333) * 9) / 100));
    assert.deepEqual(body.subarray(14 + 6), au, 'the access unit follows the PES header and an AUD, byte for byte');
    for (const p of ps) ccs.set(pidOf(p), [...(ccs.get(pidOf(p)) ?? []), p[3]! & 0x0f]);
  }
  for (const [pid, list] of ccs) list.forEach((c, k) => assert.equal(c, k & 0x0f, `PID ${pid}: counter ${k}`));
});
