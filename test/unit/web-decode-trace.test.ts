/** The viewer page's `?trace` record (src/web/decode-trace.ts): opt-in, bounded, emptied by take(). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeTrace, traceWanted, type DecodedPicture } from '../../src/web/decode-trace.js';

const pic = (seq: number): DecodedPicture => ({ seq, captureUs: seq, keyframe: false, catchUp: false, receivedUs: seq, decodeUs: seq, outputUs: seq, offsetUs: 0 });

test('only ?trace turns the record on', () => {
  assert.equal(traceWanted('?trace'), true);
  assert.equal(traceWanted('?codec=jpeg&trace=1'), true);
  assert.equal(traceWanted(''), false);
  assert.equal(traceWanted('?codec=jpeg'), false);
});

test('take() hands over what was recorded since the last take and empties the record', () => {
  const t = new DecodeTrace();
  t.record(pic(1));
  t.record(pic(2));
  assert.deepEqual(t.take().map((p) => p.seq), [1, 2]);
  t.record(pic(3));
  assert.deepEqual(t.take().map((p) => p.seq), [3]);
  assert.deepEqual(t.take(), []);
});

test('a page nobody reads keeps at most 4096 pictures and counts the rest', () => {
  const t = new DecodeTrace();
  for (let i = 0; i < 5000; i++) t.record(pic(i));
  assert.equal(t.pictures.length, 4096);
  assert.equal(t.overflow, 5000 - 4096);
  assert.equal(t.take().at(-1)!.seq, 4095);
  t.record(pic(9999));
  assert.equal(t.pictures.length, 1);
});
