/**
 * The viewer page's codec decision (src/web/codec-choice.ts) and its SPS finder (src/web/h264-decoder.ts),
 * outside a browser: cases a loopback Chromium cannot reach (not a secure context, no VideoDecoder).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseCodec } from '../../src/web/codec-choice.js';
import { findSps } from '../../src/web/h264-decoder.js';

const OK = { forced: null, secureContext: true, hasVideoDecoder: true, configSupported: true };

test('H.264 only in a secure context with a VideoDecoder that takes avc1; otherwise JPEG and why', { timeout: 5_000 }, () => {
  assert.deepEqual(chooseCodec(OK).h264, true);
  const insecure = chooseCodec({ ...OK, secureContext: false, hasVideoDecoder: false, configSupported: null });
  assert.equal(insecure.h264, false);
  assert.match(insecure.reason, /secure context/);
  const noDecoder = chooseCodec({ ...OK, hasVideoDecoder: false, configSupported: null });
  assert.equal(noDecoder.h264, false);
  assert.match(noDecoder.reason, /VideoDecoder/);
  const unsupported = chooseCodec({ ...OK, configSupported: false });
  assert.equal(unsupported.h264, false);
  assert.match(unsupported.reason, /cannot decode H\.264/);
  const forced = chooseCodec({ ...OK, forced: 'jpeg' });
  assert.equal(forced.h264, false);
  assert.match(forced.reason, /codec=jpeg/);
  assert.equal(chooseCodec({ ...OK, forced: 'h264' }).h264, true);
});

test('findSps finds the SPS of an Annex-B access unit, with 3- and 4-byte start codes', { timeout: 5_000 }, () => {
  const sps = [0x67, 0x42, 0xc0, 0x1e, 0xda];
  const au = Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, ...sps, 0, 0, 1, 0x68, 0xce, 0x0f, 0xc8, 0, 0, 0, 1, 0x65, 0x88]);
  assert.deepEqual([...findSps(au)!], sps);
  assert.deepEqual([...findSps(Uint8Array.from([0, 0, 1, ...sps]))!], sps);
  assert.equal(findSps(Uint8Array.from([0, 0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0x41, 0x9b])), null);
});
