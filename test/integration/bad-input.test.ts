import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { take } from '../helpers/client.js';
import { rawConnect, readUntilClose, startTestServer, within } from '../helpers/server.js';

function decodeAll(bytes: Buffer): Message[] {
  const { messages } = new MessageDecoder().push(bytes);
  return messages;
}

async function sendAndCollect(port: number, bytes: Uint8Array | string, thenEnd = false): Promise<Buffer> {
  const s = await rawConnect(port);
  const closed = readUntilClose(s);
  s.write(bytes);
  if (thenEnd) s.end();
  return closed;
}

test('bad input gets a clear error and a close, never a crash, while another client keeps streaming', async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 400 });
  try {
    const port = server.tcp.port;
    const live = await connect(`tcp://127.0.0.1:${port}`, { width: 160, height: 90 });

    // Garbage: the server answers in framewire/1 with E_BAD_MAGIC and closes.
    const garbage = decodeAll(await sendAndCollect(port, Buffer.from('\x00\xffnot a hello at all')));
    assert.deepEqual(garbage.map((m) => m.type === 'reject' && m.code), ['E_BAD_MAGIC']);

    // A hello with the right envelope but the wrong magic.
    const wrongMagic = Buffer.from(encodeMessage({ type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' }));
    wrongMagic.write('NOPE', 8, 'latin1');
    assert.equal((decodeAll(await sendAndCollect(port, wrongMagic))[0] as { code: string }).code, 'E_BAD_MAGIC');

    // A future protocol version.
    const v2 = Buffer.from(encodeMessage({ type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' }));
    v2.writeUInt16BE(2, 12);
    const version = decodeAll(await sendAndCollect(port, v2))[0];
    assert.equal(version?.type, 'reject');
    assert.equal((version as { code: string }).code, 'E_VERSION');

    // A declared length far above the client-message limit: refused from the 8-byte envelope alone.
    const huge = Buffer.from([0x01, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
    const tooLarge = decodeAll(await sendAndCollect(port, huge))[0] as { type: string; code: string };
    assert.equal(tooLarge.code, 'E_TOO_LARGE');

    // Truncated: half a hello, then silence → handshake timeout.
    const half = encodeMessage({ type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' }).subarray(0, 11);
    const timedOut = decodeAll(await sendAndCollect(port, half));
    assert.equal((timedOut[0] as { code: string }).code, 'E_TIMEOUT');

    // Truncated and closed: nothing to answer, nothing breaks.
    await sendAndCollect(port, half, true);

    // A client message of a type only servers send.
    const s = await rawConnect(port);
    const closed = readUntilClose(s);
    s.write(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 5, quality: 50, token: '' }));
    s.write(encodeMessage({ type: 'frame', seq: 1, captureUs: 1, width: 1, height: 1, codec: 1, payload: new Uint8Array(4) }));
    const answer = decodeAll(await closed);
    assert.equal(answer[0]?.type, 'accept');
    const err = answer.find((m) => m.type === 'error') as { code: string } | undefined;
    assert.equal(err?.code, 'E_UNEXPECTED');

    // Random bytes, many times.
    for (let i = 0; i < 20; i++) await sendAndCollect(port, randomBytes(1 + (i * 37) % 300));

    // The live client never noticed.
    const frames = await within(take(live, 10), 5000, 'live client frames after the abuse');
    assert.equal(frames.length, 10);
    assert.equal(server.registry.size, 1);
    await live.close();
  } finally {
    await server.close();
  }
});

test('a browser or curl knocking on the TCP port is told where HTTP is', async () => {
  const server = await startTestServer();
  try {
    const text = (await sendAndCollect(server.tcp.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toString('utf8');
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /framewire's TCP port/);
  } finally {
    await server.close();
  }
});

test('the client reports a refusal with its code: too many clients', async () => {
  const server = await startTestServer({ maxClients: 1 });
  try {
    const a = await connect(`tcp://127.0.0.1:${server.tcp.port}`);
    await assert.rejects(connect(`tcp://127.0.0.1:${server.tcp.port}`), (e: { code?: string }) => e.code === 'E_TOO_MANY_CLIENTS');
    await a.close();
  } finally {
    await server.close();
  }
});

test('connecting to a closed port fails with E_CONNECT', async () => {
  const server = await startTestServer();
  const port = server.tcp.port;
  await server.close();
  await assert.rejects(connect(`tcp://127.0.0.1:${port}`), (e: { code?: string }) => e.code === 'E_CONNECT');
});

test('server shutdown sends a goodbye: the iteration ends normally', async () => {
  const server = await startTestServer();
  const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90 });
  await take(c, 2);
  const closing = server.close();
  const it = c[Symbol.asyncIterator]();
  let r = await within(it.next(), 5000, 'iteration after shutdown');
  while (!r.done) r = await within(it.next(), 5000, 'iteration end');
  assert.equal(r.done, true);
  await closing;
});
