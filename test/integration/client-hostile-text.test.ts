/**
 * A hostile server's text reaching a terminal: STATUS, GOODBYE, REJECT and the source name are the server's
 * to choose. Before, `view` printed them raw, and escape sequences retitled the window, cleared the screen and
 * (OSC 52) wrote the clipboard. Now every control character is shown as U+FFFD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { runCli } from '../helpers/cli.js';
import { within } from '../helpers/server.js';

const NASTY = '\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m\u202eevil';

/** A server that answers a hello with `answer(…)`'s messages, then closes. */
async function fakeServer(answer: () => Message[]): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    const d = new MessageDecoder();
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      if (d.push(c).messages.some((m) => m.type === 'hello')) {
        for (const m of answer()) s.write(encodeMessage(m));
        s.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

const accept = (source: string): Message => ({ type: 'accept', version: 1, width: 160, height: 90, fps: 10, quality: 50, codec: 1, window: 2, serverTimeUs: Date.now() * 1000, source });
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/;

test('the client library hands on server text without control characters', async () => {
  const srv = await fakeServer(() => [accept(`cam ${NASTY}`), { type: 'status', status: 1, text: NASTY }, { type: 'goodbye', code: 'OK', text: NASTY }]);
  try {
    const texts: string[] = [];
    const c = await connect(`tcp://127.0.0.1:${srv.port}`, { onStatus: (t) => texts.push(t) });
    for await (const _ of c) void _;
    assert.ok(!CONTROL.test(c.accepted.source), JSON.stringify(c.accepted.source));
    assert.equal(texts.length, 2, JSON.stringify(texts));
    for (const t of texts) {
      assert.ok(!CONTROL.test(t), JSON.stringify(t));
      assert.match(t, /\uFFFD\]0;pwned\uFFFD/, 'shown, not executed');
    }
  } finally {
    await srv.close();
  }
  const refusing = await fakeServer(() => [{ type: 'reject', code: 'E_AUTH', text: NASTY }]);
  try {
    const e = await connect(`tcp://127.0.0.1:${refusing.port}`).then(
      () => null,
      (err: Error) => err,
    );
    assert.ok(e && !CONTROL.test(e.message), JSON.stringify(e?.message));
  } finally {
    await refusing.close();
  }
});

test('`view` prints a hostile STATUS, GOODBYE and REJECT with no escape sequence reaching the terminal', async () => {
  const srv = await fakeServer(() => [accept('cam'), { type: 'status', status: 1, text: NASTY }, { type: 'goodbye', code: 'OK', text: NASTY }]);
  try {
    const v = runCli(['view', `tcp://127.0.0.1:${srv.port}`, '--display', 'none', '--frames', '1']);
    await within(v.exited, 20_000, 'view exit');
    assert.match(v.stderr(), /pwned/, 'the text is shown');
    assert.ok(!/[\x1b\x07\x9b\u202e]/.test(v.stderr()), JSON.stringify(v.stderr()));
  } finally {
    await srv.close();
  }
  const refusing = await fakeServer(() => [{ type: 'reject', code: 'E_AUTH', text: NASTY }]);
  try {
    const v = runCli(['view', `tcp://127.0.0.1:${refusing.port}`, '--display', 'none', '--frames', '1']);
    assert.equal(await within(v.exited, 20_000, 'view exit'), 1);
    assert.match(v.stderr(), /^framewire: E_AUTH: server refused: .*pwned/m);
    assert.ok(!/[\x1b\x07\x9b\u202e]/.test(v.stderr()), JSON.stringify(v.stderr()));
  } finally {
    await refusing.close();
  }
});
