/** The stream worker's outbox to the page (src/web/picture-outbox.ts): one picture on its way, newest wins. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PictureOutbox } from '../../src/web/picture-outbox.js';
import type { Picture } from '../../src/web/jpeg-decoder.js';

function picture(n: number, closed: number[]): Picture {
  return { image: { close: () => closed.push(n) } as unknown as VideoFrame, captureUs: n };
}

test('a picture goes at once; those decoded before the page takes it wait, and only the newest is sent', { timeout: 5_000 }, () => {
  const sent: number[] = [];
  const closed: number[] = [];
  const box = new PictureOutbox((p) => sent.push(p.captureUs));
  box.offer(picture(1, closed));
  box.offer(picture(2, closed));
  box.offer(picture(3, closed));
  assert.deepEqual(sent, [1], 'nothing more until the page took the first');
  assert.deepEqual(closed, [2], 'the one replaced while waiting is closed, never sent');
  assert.equal(box.dropped, 1);
  box.taken();
  assert.deepEqual(sent, [1, 3]);
  box.taken();
  box.offer(picture(4, closed));
  assert.deepEqual(sent, [1, 3, 4], 'with nothing on its way the next goes at once');
});

test('a page that never takes holds the outbox at one waiting picture', { timeout: 5_000 }, () => {
  const closed: number[] = [];
  const box = new PictureOutbox(() => {});
  for (let i = 0; i < 1000; i++) box.offer(picture(i, closed));
  assert.equal(closed.length, 998, 'all but the one sent and the newest are closed');
  assert.equal(box.dropped, 998);
  box.clear();
  assert.equal(closed.at(-1), 999, 'clear() closes the waiting one');
});

test('a picture that cannot be sent is closed, and the next one goes', { timeout: 5_000 }, () => {
  const sent: number[] = [];
  const closed: number[] = [];
  let fail = true;
  const box = new PictureOutbox((p) => {
    if (fail) throw new Error('DataCloneError');
    sent.push(p.captureUs);
  });
  box.offer(picture(1, closed));
  assert.deepEqual(closed, [1]);
  fail = false;
  box.offer(picture(2, closed));
  assert.deepEqual(sent, [2], 'the outbox did not stay stuck waiting for a take that will never come');
});
