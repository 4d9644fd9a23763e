import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressGroup, PendingHandshakes, type DropReason } from '../../src/server/pending-handshakes.js';
import { RateLimit } from '../../src/server/peer-limits.js';
import { waitUntil } from '../helpers/server.js';

function pool(capacity: number, deadlineMs: number | null = null) {
  const p = new PendingHandshakes({ capacity, deadlineMs });
  const dropped: string[] = [];
  const add = (address: string, name: string) => p.add(address, (why: DropReason) => dropped.push(`${name}:${why}`));
  return { p, dropped, add };
}

test('a full pool admits the newcomer and drops the oldest handshake of the address holding the most', () => {
  const { p, dropped, add } = pool(4);
  add('10.0.0.9', 'x1');
  add('10.0.0.1', 'a1');
  add('10.0.0.9', 'x2');
  add('10.0.0.9', 'x3');
  assert.equal(p.size, 4);
  add('10.0.0.2', 'b1'); // full: 10.0.0.9 holds the most, its oldest goes
  assert.deepEqual(dropped, ['x1:evicted']);
  add('10.0.0.9', 'x4'); // the flooding address only pushes out its own
  add('10.0.0.9', 'x5');
  assert.deepEqual(dropped, ['x1:evicted', 'x2:evicted', 'x3:evicted']);
  assert.equal(p.countFor('10.0.0.1'), 1, 'the quiet address was never touched');
  assert.equal(p.countFor('10.0.0.2'), 1);
  assert.equal(p.size, 4);
  assert.equal(p.evicted, 3);
});

test('below capacity nobody is dropped, however many come from one address', () => {
  const { p, dropped, add } = pool(256);
  for (let i = 0; i < 200; i++) add('127.0.0.1', `c${i}`);
  assert.equal(p.size, 200);
  assert.deepEqual(dropped, []);
});

test('release frees a slot, is idempotent, and a released entry is never dropped', () => {
  const { p, dropped, add } = pool(2);
  const a = add('10.0.0.1', 'a');
  add('10.0.0.1', 'b');
  p.release(a);
  p.release(a);
  assert.equal(p.size, 1);
  add('10.0.0.2', 'c');
  assert.deepEqual(dropped, []);
  add('10.0.0.3', 'd');
  assert.deepEqual(dropped, ['b:evicted']);
});

test('every entry is dropped at its deadline unless released first', { timeout: 5000 }, async () => {
  const { p, dropped, add } = pool(10, 60);
  const done = add('10.0.0.1', 'done');
  add('10.0.0.1', 'late');
  p.release(done);
  // Both deadlines fall in the same timer pass: once one has fired, the other would have too.
  await waitUntil(() => dropped.length > 0, 2000, 'a deadline');
  assert.deepEqual(dropped, ['late:deadline']);
  assert.equal(p.size, 0);
});

test('IPv6 peers count by /64; IPv4-mapped addresses count as IPv4', () => {
  assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), addressGroup('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
  assert.notEqual(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:3::1'));
  assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressGroup('::1'), '0:0:0:0::/64');
  assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('192.0.2.7'), '192.0.2.7');
  const { p, add } = pool(8);
  add('2001:db8:1:2::1', 'a');
  add('2001:db8:1:2::2', 'b');
  assert.equal(p.countFor('2001:db8:1:2::ffff'), 2);
});

test('RateLimit: a burst at once, then the sustained rate', () => {
  let now = 0;
  const r = new RateLimit(5, 20, () => now);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (r.take()) ok++;
  assert.equal(ok, 20);
  now += 1000;
  ok = 0;
  for (let i = 0; i < 100; i++) if (r.take()) ok++;
  assert.equal(ok, 5);
  now += 60_000; // refills to the burst, not beyond
  ok = 0;
  for (let i = 0; i < 100; i++) if (r.take()) ok++;
  assert.equal(ok, 20);
});
