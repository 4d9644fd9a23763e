/** The one timer each client adapter keeps for its conversation's next deadline (src/client/deadline-timer.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nowUs } from '../../src/clock.js';
import { DeadlineTimer } from '../../src/client/deadline-timer.js';
import { within } from '../helpers/server.js';

function fired(): { timer: DeadlineTimer; when: Promise<number> } {
  let resolve: (t: number) => void = () => {};
  const when = new Promise<number>((r) => (resolve = r));
  return { timer: new DeadlineTimer(() => resolve(nowUs())), when };
}

test('fires at its deadline, not before', async () => {
  const { timer, when } = fired();
  const at = nowUs() + 30_000;
  timer.set(at);
  assert.ok((await within(when, 5000, 'the timer')) >= at);
});

test('an earlier deadline moves it; a later one leaves it where it is (the conversation names the next when it fires)', async () => {
  const earlier = fired();
  earlier.timer.set(nowUs() + 60_000_000);
  earlier.timer.set(nowUs() + 20_000);
  await within(earlier.when, 5000, 'the earlier deadline');

  const later = fired();
  const first = nowUs() + 20_000;
  later.timer.set(first);
  later.timer.set(nowUs() + 60_000_000);
  assert.ok((await within(later.when, 5000, 'the first deadline')) >= first);
});

test('clear() and set(null) stop it', async () => {
  const a = fired();
  const b = fired();
  let aFired = false;
  void a.when.then(() => (aFired = true));
  a.timer.set(nowUs() + 10_000);
  a.timer.clear();
  const c = fired();
  let cFired = false;
  void c.when.then(() => (cFired = true));
  c.timer.set(nowUs() + 10_000);
  c.timer.set(null);
  b.timer.set(nowUs() + 50_000);
  await within(b.when, 5000, 'the later timer');
  assert.equal(aFired, false);
  assert.equal(cFired, false);
});
