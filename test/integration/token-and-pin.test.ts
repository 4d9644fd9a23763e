/** docs/protocol.md §4.8: which token decides when the upgrade and the HELLO both carry one; the fingerprint format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import { take } from '../helpers/client.js';
import { startTestServer, within } from '../helpers/server.js';

/** The first answer to a HELLO carrying `helloToken`, over a WebSocket upgraded with `?token=urlToken`. */
async function answer(base: string, urlToken: string, helloToken: string): Promise<string> {
  const ws = new WebSocket(`${base}/ws?token=${urlToken}`);
  const decoder = new MessageDecoder();
  try {
    return await within(
      new Promise<string>((resolve) => {
        ws.on('message', (d: Buffer) => {
          const [m] = decoder.push(d).messages as Message[];
          if (m) resolve(m.type === 'reject' ? m.code : m.type);
        });
        ws.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
        ws.once('error', () => {});
        ws.once('open', () => ws.send(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 0, quality: 0, token: helloToken })));
      }),
      5000,
      'an answer',
    );
  } finally {
    ws.terminate();
  }
}

test('token on the upgrade and in the HELLO: a wrong one on the upgrade is refused there, and a non-empty HELLO token must be right too', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ token: 'sesame', httpPort: 0 }, { extras: [httpTransport()] });
  try {
    const base = `ws://127.0.0.1:${server.extras[0]!.port}`;
    assert.equal(await answer(base, 'sesame', ''), 'accept', 'proven on the upgrade, empty in the HELLO');
    assert.equal(await answer(base, 'sesame', 'sesame'), 'accept');
    assert.equal(await answer(base, 'sesame', 'wrong'), 'E_AUTH', 'the HELLO decides');
    assert.equal(await answer(base, 'wrong', 'sesame'), 'HTTP 401', 'a wrong upgrade token never reaches the HELLO');
  } finally {
    await server.close();
  }
});

test('the certificate fingerprint is SHA-256 in uppercase colon-separated pairs, and a pin matches ignoring case and separators', { timeout: 30_000 }, async () => {
  const tls = await selfSignedTlsMaterial();
  assert.match(tls.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const server = await startTestServer({}, { tcp: { tls: { cert: tls.cert, key: tls.key } } });
  try {
    const c = await connect(`tls://127.0.0.1:${server.tcp.port}`, { tls: { fingerprint: tls.fingerprint256.replace(/:/g, '').toLowerCase() }, width: 160, height: 90 });
    assert.equal((await within(take(c, 2), 10_000, 'frames')).length, 2);
    await c.close();
  } finally {
    await server.close();
  }
});
