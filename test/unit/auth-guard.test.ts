import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthGuard } from '../../src/server/auth-guard.js';
import { tokenMatches } from '../../src/server/framewire-session.js';

test('an address is blocked after maxFailures within the window, and unblocked after blockMs', () => {
  let now = 1_000_000;
  const g = new AuthGuard({ maxFailures: 3, windowMs: 10_000, blockMs: 5_000, now: () => now });
  g.failed('a');
  g.failed('a');
  assert.equal(g.isBlocked('a'), false);
  g.failed('a');
  assert.equal(g.isBlocked('a'), true);
  assert.equal(g.isBlocked('b'), false, 'other addresses are not affected');
  now += 5_001;
  assert.equal(g.isBlocked('a'), false);
});

test('failures older than the window do not count', () => {
  let now = 0;
  const g = new AuthGuard({ maxFailures: 3, windowMs: 1_000, now: () => now });
  g.failed('a');
  g.failed('a');
  now += 1_500;
  g.failed('a');
  assert.equal(g.isBlocked('a'), false);
});

test('memory is bounded: at most maxTracked addresses, oldest forgotten first', () => {
  const g = new AuthGuard({ maxTracked: 100 });
  for (let i = 0; i < 10_000; i++) g.failed(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(g.tracked, 100);
});

test('token comparison: equal tokens match, anything else does not, and no token configured accepts all', () => {
  assert.equal(tokenMatches('s3cret', 's3cret'), true);
  assert.equal(tokenMatches('s3cret', 's3cre'), false);
  assert.equal(tokenMatches('s3cret', 's3cret '), false);
  assert.equal(tokenMatches('s3cret', ''), false);
  assert.equal(tokenMatches(null, 'anything'), true);
});
