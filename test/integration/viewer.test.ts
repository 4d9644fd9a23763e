/**
 * The viewer lifecycle every transport shares (src/server/viewer.ts), against a real hub and registry: what an
 * open that fails leaves behind, what a close folds into the totals, and how a stalled wire ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramewireError } from '../../src/errors.js';
import type { EncodedFrame } from '../../src/pipeline/encoded-frame.js';
import type { RunningServer } from '../../src/server/server.js';
import { Viewer, type Grant, type ViewerWire } from '../../src/server/viewer.js';
import { startTestServer, waitUntil } from '../helpers/server.js';

const PEER = { address: '127.0.0.9', protocol: 'mjpeg' } as const;
const ctx = (s: RunningServer) => ({ config: s.config, hub: s.hub, registry: s.registry, auth: s.auth });

/** A wire that takes every frame at once (or never, when stalled) and remembers what it was told. */
function wire(stalled = false): ViewerWire & { frames: EncodedFrame[]; begun: Grant[]; ended: FramewireError[] } {
  const w = {
    frames: [] as EncodedFrame[],
    begun: [] as Grant[],
    ended: [] as FramewireError[],
    ready: () => true,
    write: (f: EncodedFrame, done: () => void) => {
      w.frames.push(f);
      if (!stalled) done();
    },
    begin: (g: Grant) => void w.begun.push(g),
    end: (e: FramewireError) => void w.ended.push(e),
  };
  return w;
}

const subscribers = (s: RunningServer): number => s.hub.profileStats().reduce((n, p) => n + p.subscribers, 0);

test('an open refused for capacity leaves no client, no subscription and no counters behind', async () => {
  const server = await startTestServer({ maxProfiles: 1 });
  try {
    const first = Viewer.open(ctx(server), PEER, { width: 0, height: 0, fps: 0, quality: 0 }, wire());
    assert.equal(server.registry.size, 1);
    const w = wire();
    assert.throws(
      () => Viewer.open(ctx(server), PEER, { width: 160, height: 90, fps: 10, quality: 50 }, w),
      (e: unknown) => e instanceof FramewireError && e.code === 'E_TOO_MANY_CLIENTS',
    );
    assert.equal(server.registry.size, 1, 'the refused viewer was admitted and then removed');
    assert.equal(subscribers(server), 1);
    assert.deepEqual(w.begun, [], 'never told yes');
    first.close();
    assert.equal(server.registry.size, 0);
  } finally {
    await server.close();
  }
});

test('open says yes once with what the hub granted; close is idempotent and folds the counters into the totals once', async () => {
  const server = await startTestServer();
  try {
    const w = wire();
    const v = Viewer.open(ctx(server), PEER, { width: 320, height: 0, fps: 10, quality: 60 }, w);
    assert.deepEqual(w.begun, [{ width: 320, height: 180, fps: 10, quality: 60 }]);
    assert.deepEqual(v.grant, w.begun[0]);
    assert.deepEqual(server.registry.list()[0]!.width, 320);
    await waitUntil(() => w.frames.length >= 5, 10_000, 'frames');
    v.close();
    const counted = v.counters();
    v.close();
    assert.equal(server.registry.size, 0);
    assert.equal(subscribers(server), 0, 'the hub encodes nothing more for it');
    assert.deepEqual(server.registry.totals(), counted, 'folded once');
    assert.equal(counted.sent, w.frames.length);
  } finally {
    await server.close();
  }
});

test('a wire that never finishes a write ends the viewer once, with E_TIMEOUT, and frees its slot', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ idleTimeoutMs: 1000 });
  try {
    const w = wire(true);
    const v = Viewer.open(ctx(server), PEER, { width: 160, height: 90, fps: 30, quality: 50 }, w);
    await waitUntil(() => w.ended.length > 0, 10_000, 'the stalled viewer to end');
    assert.equal(w.ended.length, 1);
    assert.equal(w.ended[0]!.code, 'E_TIMEOUT');
    assert.equal(w.frames.length, 1, 'one write, never finished; the rest waited or were dropped');
    assert.ok(v.counters().dropped > 0);
    assert.equal(v.isClosed, true);
    assert.equal(server.registry.size, 0);
    assert.equal(subscribers(server), 0);
  } finally {
    await server.close();
  }
});
