/** The newest-frame queue between the client's reader and a consumer that may be slower (src/client/frame-queue.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameQueue } from '../../src/client/frame-queue.js';

test('beyond its capacity the oldest frames go, counted as dropped; the consumer gets the newest', async () => {
  const q = new FrameQueue<number>(2);
  for (let i = 1; i <= 5; i++) q.push(i);
  assert.equal(q.dropped, 3);
  assert.deepEqual([(await q.next()).value, (await q.next()).value], [4, 5]);
});

test('a reader waiting for a frame gets the next one pushed, and nothing is dropped for it', async () => {
  const q = new FrameQueue<number>(1);
  const waiting = q.next();
  q.push(7);
  assert.deepEqual(await waiting, { value: 7, done: false });
  assert.equal(q.dropped, 0);
});

test('after end(), the frames still waiting come first, then done, or the error', async () => {
  const clean = new FrameQueue<number>(1);
  const waiting = clean.next();
  clean.end(null);
  assert.deepEqual(await waiting, { value: undefined, done: true });

  const failed = new FrameQueue<number>(1);
  failed.push(1);
  failed.end(new Error('lost'));
  failed.end(null);
  assert.deepEqual(await failed.next(), { value: 1, done: false });
  await assert.rejects(failed.next(), /lost/);
  await assert.rejects(failed.next(), /lost/, 'the error stays');
});
