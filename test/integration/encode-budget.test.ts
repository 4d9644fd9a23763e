/**
 * Client-chosen work is bounded (docs/security.md): no upscaling by default, an encode budget across
 * profiles, and a full profile table never hands a client something larger than it asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { take } from '../helpers/client.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';

const HD = { width: 1280, height: 720, fps: 30, quality: 80 };

/** A hostile client: asks for a profile, reads the answer, then stops reading (its profile is still encoded). */
async function hostile(port: number, p: { width: number; height: number; quality: number }): Promise<{ socket: net.Socket; answer: Message }> {
  const socket = await rawConnect(port);
  const decoder = new MessageDecoder();
  const answer = await within(
    new Promise<Message>((resolve) => {
      socket.on('data', (c: Buffer) => {
        const [m] = decoder.push(c).messages;
        if (m) {
          socket.pause();
          resolve(m);
        }
      });
      socket.write(encodeMessage({ type: 'hello', version: 1, ...p, fps: 30, token: '' }));
    }),
    5000,
    'the answer to a hostile hello',
  );
  return { socket, answer };
}

async function fps(c: Awaited<ReturnType<typeof connect>>, n: number): Promise<number> {
  await take(c, 1);
  const t0 = performance.now();
  await within(take(c, n), 20_000, `${n} frames for the honest client`);
  return n / ((performance.now() - t0) / 1000);
}

test('16 clients asking 3840x2160 of a 720p source: none is upscaled, the encode budget holds, the honest 720p client keeps its rate', { timeout: 90_000 }, async () => {
  const server = await startTestServer({ defaults: HD });
  const hostiles: net.Socket[] = [];
  try {
    const honest = await connect(`tcp://127.0.0.1:${server.tcp.port}`);
    assert.deepEqual([honest.accepted.width, honest.accepted.height], [1280, 720]);
    const before = await fps(honest, 60);
    for (let i = 0; i < 16; i++) {
      const { socket, answer } = await hostile(server.tcp.port, { width: 3840, height: 2160, quality: 85 + i });
      hostiles.push(socket);
      assert.equal(answer.type, 'accept');
      if (answer.type !== 'accept') continue;
      assert.ok(answer.width <= 1280 && answer.height <= 720, `granted ${answer.width}x${answer.height}: never above the source`);
      assert.ok(answer.quality <= 85 + i, `granted q${answer.quality} of the q${85 + i} asked`);
    }
    const load = server.hub.encodeLoad();
    const defaultCost = server.hub.encodeCost(server.hub.defaultProfile!) * HD.fps;
    assert.ok(load <= Math.max(server.config.encodeBudget, defaultCost), `encode load ${(load / 1e6).toFixed(0)} Mpx/s within the budget of ${(server.config.encodeBudget / 1e6).toFixed(0)}`);
    for (const p of server.hub.profileStats()) assert.ok(p.width <= 1280 && p.height <= 720, `profile ${p.key} is no larger than the source`);
    const during = await fps(honest, 90);
    assert.ok(during >= 24, `honest client: ${before.toFixed(1)} fps alone, ${during.toFixed(1)} fps next to 16 hostile profiles`);
    await honest.close();
  } finally {
    for (const s of hostiles) s.destroy();
    await server.close();
  }
});

test('with the profile table full, a small request is never granted a bigger size', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ defaults: HD, maxProfiles: 4 });
  const hostiles: net.Socket[] = [];
  try {
    const honest = await connect(`tcp://127.0.0.1:${server.tcp.port}`);
    for (let i = 0; i < 3; i++) hostiles.push((await hostile(server.tcp.port, { width: 1280, height: 720, quality: 90 + i })).socket);
    assert.equal(server.hub.profileStats().length, 4, 'the table is full');
    const small = await hostile(server.tcp.port, { width: 320, height: 180, quality: 50 });
    hostiles.push(small.socket);
    const m = small.answer;
    if (m.type === 'accept') {
      assert.ok(m.width <= 320 && m.height <= 180 && m.quality <= 50, `granted ${m.width}x${m.height} q${m.quality} for 320x180 q50`);
    } else {
      assert.ok(m.type === 'reject' && m.code === 'E_TOO_MANY_CLIENTS', `refused with ${JSON.stringify(m)}`);
    }
    // Someone at a size already live below it shares that profile instead.
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 1920, height: 1080, quality: 91 });
    assert.deepEqual([c.accepted.width, c.accepted.height, c.accepted.quality], [1280, 720, 91]);
    await Promise.all([honest.close(), c.close()]);
  } finally {
    for (const s of hostiles) s.destroy();
    await server.close();
  }
});
