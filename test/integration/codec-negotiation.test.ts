/**
 * Codec negotiation against the reference server (docs/protocol.md §4.1.1): it encodes JPEG only, so a client
 * offering H.264 is granted JPEG, told so in ACCEPT, and sent JPEG FRAMEs byte for byte as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { connect } from '../../src/client/client.js';
import { Codec, ENVELOPE_SIZE } from '../../src/protocol/constants.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import type { Message } from '../../src/protocol/messages.js';
import { take } from '../helpers/client.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';
import { readVectorBytes } from '../vectors/vectors.js';

/** Open with `hello`, and collect the raw bytes until an ACCEPT and `frames` FRAMEs have arrived. */
function openRaw(sock: net.Socket, hello: Uint8Array, frames: number): Promise<{ raw: Buffer; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // A decoder that offered nothing but JPEG: an H.264 grant or FRAME would fail it (E_UNSUPPORTED).
    const decoder = new MessageDecoder();
    const messages: Message[] = [];
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const r = decoder.push(c);
      if (r.error) return reject(r.error);
      messages.push(...r.messages);
      if (messages.filter((m) => m.type === 'frame').length >= frames) resolve({ raw: Buffer.concat(chunks), messages });
    });
    sock.once('close', () => reject(new Error('closed before the frames arrived')));
    sock.write(hello);
  });
}

test('a client offering H.264 is granted JPEG (ACCEPT codec 1) and gets JPEG frames', { timeout: 20_000 }, async () => {
  const server = await startTestServer();
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 320, height: 180, codecs: ['jpeg', 'h264'] });
    assert.equal(c.accepted.codec, 'jpeg');
    const frames = await within(take(c, 3), 10_000, 'frames');
    for (const f of frames) {
      assert.deepEqual([f.codec, f.keyframe, f.catchUp], ['jpeg', true, false]);
      assert.deepEqual([f.jpeg[0], f.jpeg[1]], [0xff, 0xd8], 'a JPEG');
    }
    assert.equal(c.stats.decodeErrors, 0);
    await c.close();
  } finally {
    await server.close();
  }
});

test('on the wire: hello-codecs.hex and hello-no-token.hex get the same ACCEPT codec 1 and FRAMEs with codec 1, flags 0', { timeout: 20_000 }, async () => {
  const server = await startTestServer();
  const socks: net.Socket[] = [];
  try {
    for (const file of ['hello-codecs.hex', 'hello-no-token.hex']) {
      const sock = await rawConnect(server.tcp.port);
      socks.push(sock);
      const { raw, messages } = await within(openRaw(sock, readVectorBytes(file), 2), 10_000, `frames after ${file}`);
      const accept = messages[0];
      assert.ok(accept?.type === 'accept', file);
      assert.equal(accept.codec, Codec.JPEG, file);
      // ACCEPT body byte 9 is the codec; the first FRAME's body bytes 16..19 are codec 1, flags 0, reserved 0.
      assert.equal(raw[ENVELOPE_SIZE + 9], Codec.JPEG);
      const frameAt = raw.indexOf(Buffer.from([0x10, 0, 0, 0]), ENVELOPE_SIZE + 24);
      assert.ok(frameAt > 0, 'a FRAME follows');
      assert.deepEqual([...raw.subarray(frameAt + ENVELOPE_SIZE + 16, frameAt + ENVELOPE_SIZE + 20)], [1, 0, 0, 0], file);
      for (const m of messages.filter((x) => x.type === 'frame')) {
        assert.ok(m.type === 'frame');
        assert.deepEqual([m.codec, m.keyframe, m.catchUp], [Codec.JPEG, undefined, undefined], file);
      }
    }
  } finally {
    for (const s of socks) s.destroy();
    await server.close();
  }
});
