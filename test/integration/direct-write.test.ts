import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { directWriteStats, writeFrame } from '../../src/server/direct-write.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import { waitUntil, within } from '../helpers/server.js';

/** A loopback pair: the accepted (server-side) socket and the client's. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  await new Promise<void>((r) => (client.readyState === 'open' ? r() : client.once('connect', () => r())));
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

/** Frame i: 4-byte index, then bytes derived from it, so any loss, duplication or reordering shows. */
function frame(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

test('a frame to an idle socket is written straight to the kernel and done() runs before writeFrame returns', { timeout: 10_000 }, async () => {
  const p = await pair();
  try {
    const data = frame(1, 36_000);
    const before = directWriteStats.direct;
    let done = false;
    writeFrame(p.server, data, () => (done = true));
    assert.equal(done, true, 'done() ran synchronously: the kernel took every byte');
    assert.equal(directWriteStats.direct, before + 1);
    const chunks: Buffer[] = [];
    p.client.on('data', (c: Buffer) => chunks.push(c));
    await waitUntil(() => chunks.reduce((n, c) => n + c.length, 0) >= data.length, 5000, 'the frame at the client');
    assert.deepEqual(Buffer.concat(chunks), data);
  } finally {
    p.close();
  }
});

test('a reader that stops reading loses nothing: what the kernel did not take is queued behind, in order', { timeout: 30_000 }, async () => {
  const p = await pair();
  try {
    p.client.pause();
    const size = 256 * 1024;
    const count = 40; // 10 MB: far more than the loopback socket buffers hold, so writes go partial, then queue
    const before = { ...directWriteStats };
    let sent = 0;
    let completed = 0;
    // Like the newest-frame slot: the next frame is written when the previous one is handed to the OS.
    const next = (): void => {
      if (sent === count) return;
      const i = sent++;
      writeFrame(p.server, frame(i, size), () => {
        completed++;
        setImmediate(next);
      });
    };
    next();
    await waitUntil(() => p.server.writableLength > 0, 10_000, 'the socket to back up');
    assert.ok(directWriteStats.partial + directWriteStats.stream > before.partial + before.stream, 'the kernel stopped taking bytes and the stream took over');
    const received: Buffer[] = [];
    let bytes = 0;
    p.client.on('data', (c: Buffer) => {
      received.push(c);
      bytes += c.length;
    });
    p.client.resume();
    await within(
      new Promise<void>((r) => {
        const check = (): void => (bytes >= size * count ? r() : void setTimeout(check, 10));
        check();
      }),
      20_000,
      'every byte at the client',
    );
    assert.equal(completed, count);
    const all = Buffer.concat(received);
    assert.equal(all.length, size * count);
    for (let i = 0; i < count; i++) assert.ok(all.subarray(i * size, (i + 1) * size).equals(frame(i, size)), `frame ${i} intact and in place`);
  } finally {
    p.close();
  }
});

test('a TLS socket always goes through the stream (its bytes must be encrypted)', { timeout: 20_000 }, async () => {
  const material = await selfSignedTlsMaterial(['localhost']);
  const listener = tls.createServer({ cert: material.cert, key: material.key });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<tls.TLSSocket>((r) => listener.once('secureConnection', r));
  const client = tls.connect({ port: (listener.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
  try {
    const server = await accepted;
    const data = frame(7, 50_000);
    const before = directWriteStats.direct;
    await new Promise<void>((r) => writeFrame(server, data, r));
    assert.equal(directWriteStats.direct, before, 'no direct write on a TLS socket');
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    await waitUntil(() => chunks.reduce((n, c) => n + c.length, 0) >= data.length, 5000, 'the frame, decrypted, at the client');
    assert.deepEqual(Buffer.concat(chunks), data);
    server.destroy();
  } finally {
    client.destroy();
    listener.close();
  }
});

test('writing to a socket whose peer has gone reports through the socket as before and never throws', { timeout: 10_000 }, async () => {
  const p = await pair();
  try {
    const closed = new Promise<void>((r) => p.server.once('close', () => r()));
    p.server.on('error', () => {});
    p.client.resetAndDestroy();
    const data = frame(2, 36_000);
    // Keep writing as the session would until the socket says it is gone.
    for (let i = 0; i < 200 && !p.server.destroyed; i++) {
      assert.doesNotThrow(() => writeFrame(p.server, data, () => {}));
      await new Promise((r) => setTimeout(r, 5));
    }
    await within(closed, 5000, "the server socket's close");
  } finally {
    p.close();
  }
});
