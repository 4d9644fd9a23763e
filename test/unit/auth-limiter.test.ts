import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, isLoopback } from '../../src/server/address-key.js';
import { AuthLimiter, OVERFLOW_KEY, type Turn } from '../../src/server/auth-limiter.js';
import { LogThrottle } from '../../src/log-throttle.js';
import { tokenMatches, weakTokenReason } from '../../src/server/token.js';

/** A limiter on a clock the test moves. */
function limiter(limits: ConstructorParameters<typeof AuthLimiter>[0] = {}) {
  const clock = { now: 1_000_000 };
  const l = new AuthLimiter(limits, () => clock.now);
  const advance = (ms: number): void => {
    clock.now += ms;
    l.poll();
  };
  return { l, clock, advance };
}

const open = (): boolean => true;

/** A turn that must be decided at once. */
function now(t: Turn | Promise<Turn>): Turn {
  assert.ok(!(t instanceof Promise), 'decided at once');
  return t as Turn;
}

/** Fail n times from key, each decided at once. */
function failNow(l: AuthLimiter, key: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = now(l.turn(key, open));
    assert.ok(t.granted);
    t.settle(false);
  }
}

/** Settle a pending turn and report whether it had resolved yet. */
function watch(p: Turn | Promise<Turn>): { done: () => Turn | null } {
  let got: Turn | null = p instanceof Promise ? null : p;
  if (p instanceof Promise) void p.then((t) => (got = t));
  return { done: () => got };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a network gets its burst of wrong tokens at once, then waits its turn instead of being refused', async () => {
  const { l, advance } = limiter({ perNetworkBurst: 3, perNetworkIntervalMs: 1000 });
  failNow(l, 'a', 3);
  const next = watch(l.turn('a', open));
  await flush();
  assert.equal(next.done(), null, 'the fourth check waits');
  const other = now(l.turn('b', open));
  assert.ok(other.granted, 'another network is not affected');
  other.settle(true);
  advance(999);
  await flush();
  assert.equal(next.done(), null, 'not before the interval');
  advance(1);
  await flush();
  const t = next.done();
  assert.ok(t?.granted, 'granted once the network has a turn again');
  t.settle(true);
  assert.ok(now(l.turn('a', open)).granted, 'a correct token gave the turn back');
});

test('the global budget rations wrong tokens from many networks together', async () => {
  const { l, advance } = limiter({ globalBurst: 10, globalPerSecond: 2 });
  for (let i = 0; i < 10; i++) failNow(l, `10.0.0.${i}`, 1);
  const late = watch(l.turn('10.0.1.1', open));
  await flush();
  assert.equal(late.done(), null, 'an eleventh network waits: the global budget is spent');
  assert.equal(l.globallyLimited, true);
  advance(500);
  await flush();
  assert.ok(late.done()?.granted, 'one more turn after 1/globalPerSecond');
});

test('networks without a wrong token are served before those with one', async () => {
  const { l, advance } = limiter({ globalBurst: 2, globalPerSecond: 1, perNetworkBurst: 5 });
  failNow(l, 'guesser', 2);
  const guess = watch(l.turn('guesser', open));
  const owner = watch(l.turn('owner', open));
  await flush();
  assert.equal(guess.done(), null);
  assert.equal(owner.done(), null);
  advance(1000);
  await flush();
  assert.ok(owner.done()?.granted, 'the clean network gets the first turn');
  assert.equal(guess.done(), null, 'the guesser, though it asked first, waits');
});

test('a network that presented the right token is known: it skips the global budget and the line, not its own budget', async () => {
  const { l } = limiter({ globalBurst: 2, globalPerSecond: 0.001, perNetworkBurst: 2 });
  const first = now(l.turn('owner', open));
  assert.ok(first.granted);
  first.settle(true);
  assert.equal(l.isKnown('owner'), true);
  // Fresh networks by the hundred spend the global budget and fill the line.
  for (let i = 0; i < 300; i++) {
    const t = l.turn(`fresh${i}`, open);
    if (!(t instanceof Promise) && t.granted) t.settle(false);
  }
  assert.equal(l.globallyLimited, true);
  const owner = now(l.turn('owner', open));
  assert.ok(owner.granted, 'the known network is checked at once');
  owner.settle(false); // even a typo...
  const again = now(l.turn('owner', open));
  assert.ok(again.granted, '...leaves it its own budget');
  again.settle(false);
  const third = watch(l.turn('owner', open));
  await flush();
  assert.equal(third.done(), null, 'but no more than its own budget');
});

test('a check waits at most maxWaitMs, and a network may have only so many waiting', async () => {
  const { l, advance } = limiter({ perNetworkBurst: 1, perNetworkIntervalMs: 60_000, maxWaitMs: 3000, maxWaitingPerNetwork: 2 });
  failNow(l, 'a', 1);
  const w1 = watch(l.turn('a', open));
  watch(l.turn('a', open));
  const third = now(l.turn('a', open));
  assert.equal(third.granted, false, 'a third waiting check is refused at once');
  assert.ok(!third.granted && third.retryAfterSeconds >= 1);
  advance(3000);
  await flush();
  const t = w1.done();
  assert.ok(t && !t.granted, 'refused with E_RATE_LIMITED after maxWaitMs');
  assert.ok(t.retryAfterSeconds > 0);
});

test('a client that leaves gives up its place', async () => {
  const { l, advance } = limiter({ perNetworkBurst: 1, perNetworkIntervalMs: 1000 });
  failNow(l, 'a', 1);
  let gone = false;
  const left = watch(l.turn('a', () => !gone));
  const stays = watch(l.turn('a', open));
  gone = true;
  advance(1000);
  await flush();
  assert.equal(left.done(), null, 'never answered: nobody to answer');
  assert.ok(stays.done()?.granted, 'the next in line got the turn');
});

test('memory is bounded without forgetting: 10 050 failures from other networks do not free a slowed one', async () => {
  // Before: an LRU of 10 000 addresses; a guesser flushed its own block by failing from 10 050 others.
  const { l } = limiter({ perNetworkBurst: 5, perNetworkIntervalMs: 60_000, globalBurst: 1e9, globalPerSecond: 1e9 });
  failNow(l, '192.0.2.1', 5);
  let atOnce = 0;
  for (let i = 0; i < 10_050; i++) {
    const t = l.turn(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, open);
    if (t instanceof Promise || !t.granted) continue; // the overflow budget is spent: these wait or are refused
    atOnce++;
    t.settle(false);
  }
  assert.equal(atOnce, 9_999 + 5, 'the table filled up, then the latecomers shared one burst');
  assert.ok(l.tracked <= 10_001, `at most maxNetworks (+ the shared overflow budget): ${l.tracked}`);
  assert.equal(l.isSuspect(OVERFLOW_KEY), true, 'the latecomers share one budget');
  const t = watch(l.turn('192.0.2.1', open));
  await flush();
  assert.equal(t.done(), null, 'the slowed network is still slowed');
});

test('a network is forgotten rememberMs after its last wrong token', () => {
  const { l, advance } = limiter({ rememberMs: 10_000 });
  failNow(l, 'a', 1);
  assert.equal(l.isSuspect('a'), true);
  advance(10_000);
  const t = now(l.turn('b', open));
  assert.ok(t.granted);
  t.settle(true);
  assert.equal(l.isSuspect('a'), false);
  assert.equal(l.tracked, 0);
});

test('address keys: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
  assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('::ffff:7f00:2'), '127.0.0.2');
  assert.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2:ffff:ee:dd:cc'), '2001:db8:1:2::/64', 'one host, any interface identifier');
  assert.equal(addressKey('2001:0db8:0001:0002:0:0:0:9'), '2001:db8:1:2::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'), 'another /64 is another network');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('unknown'), 'unknown');
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.8.9.10') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('::') && !isLoopback('192.168.1.2') && !isLoopback('2001:db8::1'));
});

test('token strength: under 16 characters or under 8 different ones is weak', () => {
  assert.match(weakTokenReason('a') ?? '', /1 characters/);
  assert.match(weakTokenReason('s3cret') ?? '', /at least 16/);
  assert.match(weakTokenReason('abababababababab') ?? '', /2 different/);
  assert.equal(weakTokenReason('correct horse battery staple'), null);
  assert.equal(weakTokenReason('Zq3v9Xw2Lk8Rt5Yp'), null);
});

test('token comparison: equal tokens match, anything else does not, and no token configured accepts all', () => {
  assert.equal(tokenMatches('s3cret', 's3cret'), true);
  assert.equal(tokenMatches('s3cret', 's3cre'), false);
  assert.equal(tokenMatches('s3cret', 's3cret '), false);
  assert.equal(tokenMatches('s3cret', ''), false);
  assert.equal(tokenMatches(null, 'anything'), true);
});

test('log lines a peer can cause are bounded: a few one by one, then one summary per window', () => {
  const lines: string[] = [];
  let t = 0;
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  const th = new LogThrottle(log, { perWindow: 5, windowMs: 10_000, prefix: 'E_AUTH:', now: () => t });
  for (let i = 0; i < 10_000; i++) th.line('warn', `E_AUTH: client 10.0.${i >> 8}.${i & 255} sent a wrong token`, 'wrong tokens', `10.0.${i >> 8}.${i & 255}`);
  th.line('info', 'E_AUTH: client 10.9.9.9 sent no token', 'without a token', '10.9.9.9');
  assert.equal(lines.length, 5);
  t = 10_000;
  th.line('warn', 'next window', 'wrong tokens');
  assert.equal(lines.length, 7, 'the summary, then the first line of the next window');
  assert.equal(lines[5], 'E_AUTH: 9995 wrong tokens, 1 without a token from 9996 addresses in the last 10 s (not logged one by one)');
  th.dispose();
});
