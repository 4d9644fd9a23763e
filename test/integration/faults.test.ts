import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { take } from '../helpers/client.js';
import { runCli, waitForOutput } from '../helpers/cli.js';
import { rawConnect, readUntilClose, startTestServer, waitUntil, within } from '../helpers/server.js';

const hello = encodeMessage({ type: 'hello', version: 1, width: 320, height: 180, fps: 30, quality: 75, token: '' });

test('per-address client limit: the next client from the same address is refused with a reason', async () => {
  const server = await startTestServer({ maxClientsPerAddress: 2 });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    const a = await connect(url);
    const b = await connect(url);
    await assert.rejects(connect(url), (e: { code?: string; message: string }) => e.code === 'E_TOO_MANY_CLIENTS' && /127\.0\.0\.1/.test(e.message));
    await a.close();
    const c = await connect(url); // a slot is free again
    await Promise.all([b.close(), c.close()]);
  } finally {
    await server.close();
  }
});

test('a half-open peer (says hello, then never acks or answers pings) is closed after the idle timeout', async () => {
  const server = await startTestServer({ idleTimeoutMs: 1000 });
  try {
    const s = await rawConnect(server.tcp.port);
    s.write(hello); // and then silence, while still reading
    const t0 = performance.now();
    const bytes = await readUntilClose(s, 5000);
    const elapsed = performance.now() - t0;
    const { messages } = new MessageDecoder().push(bytes);
    assert.ok(messages.some((m) => m.type === 'ping'), 'the server pinged first');
    const err = messages.find((m) => m.type === 'error');
    assert.equal(err?.type === 'error' && err.code, 'E_TIMEOUT');
    assert.ok(elapsed >= 900, `not before the timeout (${elapsed.toFixed(0)} ms)`);
    assert.equal(server.registry.size, 0);
  } finally {
    await server.close();
  }
});

test('a client that answers pings stays connected past the idle timeout', async () => {
  const server = await startTestServer({ idleTimeoutMs: 1000 });
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90, fps: 30 });
    const frames = await within(take(c, 75), 10_000, '2.5 s of frames');
    assert.equal(frames.length, 75);
    assert.equal(server.registry.size, 1);
    await c.close();
  } finally {
    await server.close();
  }
});

test('a client that vanishes mid-frame costs the server nothing', async () => {
  const server = await startTestServer();
  try {
    const live = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90 });
    for (let i = 0; i < 10; i++) {
      const s = await rawConnect(server.tcp.port);
      s.write(hello);
      // Read until we are inside a frame's payload, then drop the connection without a goodbye.
      await new Promise<void>((resolve) => {
        let got = 0;
        s.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 100) {
            s.resetAndDestroy();
            resolve();
          }
        });
      });
    }
    assert.equal((await within(take(live, 10), 5000, 'live frames')).length, 10);
    // Closed sockets leave the registry as soon as the server sees the close.
    await waitUntil(() => server.registry.size === 1, 5000, 'registry back to one client');
    await live.close();
  } finally {
    await server.close();
  }
});

test('the library reconnects by itself when the server restarts on the same port', async () => {
  const first = await startTestServer();
  const port = first.tcp.port;
  const notes: string[] = [];
  const c = await connect(`tcp://127.0.0.1:${port}`, {
    width: 160,
    height: 90,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    onStatus: (t) => notes.push(t),
  });
  await take(c, 3);
  await first.close();
  const second = await startTestServer({ port });
  try {
    const frames = await within(take(c, 5), 15_000, 'frames from the restarted server');
    assert.equal(frames.length, 5);
    assert.equal(c.stats.reconnects, 1);
    assert.ok(notes.some((n) => /reconnecting/.test(n)) && notes.includes('reconnected'), notes.join(' | '));
    await c.close();
  } finally {
    await second.close();
  }
});

test('SIGTERM under load: every client gets a goodbye and the server exits 0', async () => {
  // 30 clients from one address: above the per-address default (20), so lifted for this test.
  const p = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '320', '--height', '180', '--max-clients-per-address', '30']);
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => connect(`tcp://127.0.0.1:${m[1]}`, { width: 80 + (i % 3) * 80, height: 90 })));
    await Promise.all(clients.map((c) => take(c, 2)));
    p.child.kill('SIGTERM');
    // Each iteration ends normally (done), which only a goodbye produces; a bare close would reject with E_CLOSED.
    await within(
      Promise.all(
        clients.map(async (c) => {
          const it = c[Symbol.asyncIterator]();
          for (let r = await it.next(); !r.done; r = await it.next());
        }),
      ),
      10_000,
      'all streams ended',
    );
    assert.equal(await within(p.exited, 10_000, 'exit'), 0);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('a tutorial-format client that stops reading is closed once a write stalls past the idle timeout', async () => {
  const server = await startTestServer({ idleTimeoutMs: 1000, defaults: { width: 640, height: 360, fps: 30, quality: 90 } });
  try {
    const s = await rawConnect(server.tcp.port);
    s.on('error', () => {});
    s.write(Buffer.from([0x87, 0x03, 0, 0, 0x80, 0x02, 0x68, 0x01])); // 888+15 fps, 640x360
    s.pause(); // never read: the kernel buffers fill, then the server's write stalls
    const registered = () => server.registry.list().some((c) => c.protocol === 'tutorial');
    await waitUntil(registered, 5000, 'tutorial client streaming');
    // A paused socket never reads up to the server's FIN, so watch the server side.
    await waitUntil(() => !registered(), 30_000, 'stalled tutorial client dropped by the server');
    s.destroy();
  } finally {
    await server.close();
  }
});

test('the library gives up on a server that goes silent (idle timeout), instead of waiting forever', async () => {
  // A "server" that completes the handshake and then says nothing, connection left open (a frozen or half-open peer).
  const silent = net.createServer((s) => {
    s.once('data', () => {
      s.write(encodeMessage({ type: 'accept', version: 1, width: 160, height: 90, fps: 30, quality: 50, codec: 1, window: 2, serverTimeUs: Date.now() * 1000, source: 'silent' }));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const c = await connect(`tcp://127.0.0.1:${port}`, { idleTimeoutMs: 500 });
    const t0 = performance.now();
    await within(assert.rejects(c[Symbol.asyncIterator]().next(), (e: { code?: string }) => e.code === 'E_TIMEOUT'), 5000, 'E_TIMEOUT');
    assert.ok(performance.now() - t0 >= 450, 'not before the timeout');
  } finally {
    silent.close();
  }
});
