/**
 * framewire/1 conversation rules of docs/protocol.md §4 at the edges: several messages in one WebSocket
 * message, oversized messages, ACKs that were not due, shutdown, half-close, and closing without an RST.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { MessageDecoder, parseSupportedVersions } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { RunningServer } from '../../src/server/server.js';
import { rawConnect, readUntilClose, startTestServer, waitUntil, within } from '../helpers/server.js';
import { readVectorBytes } from '../vectors/vectors.js';

const HELLO = encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, width: 160, height: 90, fps: 30, quality: 70, token: '' });

function decodeAll(bytes: Uint8Array): Message[] {
  const { messages, error } = new MessageDecoder().push(bytes);
  assert.equal(error, null);
  return messages;
}

/** A raw WebSocket peer: every message it got, and how the server closed. */
function wsPeer(url: string): Promise<{ ws: WebSocket; got: Message[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: Message[] = [];
    const decoder = new MessageDecoder();
    ws.on('message', (data: Buffer) => got.push(...decoder.push(data).messages));
    const closed = new Promise<number>((res) => ws.once('close', (code: number) => res(code)));
    ws.once('open', () => resolve({ ws, got, closed }));
    ws.once('error', reject);
  });
}

describe('framewire/1 conversation edges', () => {
  let server: RunningServer;
  let wsUrl: string;
  before(async () => {
    server = await startTestServer({ httpPort: 0, defaults: { width: 160, height: 90, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
    wsUrl = `ws://127.0.0.1:${server.extras[0]!.port}/ws`;
  });
  after(() => server.close());

  test('a WebSocket message holding HELLO+PING is refused (REJECT E_MALFORMED) before either is acted on', { timeout: 20_000 }, async () => {
    const peer = await wsPeer(wsUrl);
    const ping = encodeMessage({ type: 'ping', id: 1, t1: 1 });
    peer.ws.send(Buffer.concat([HELLO, ping]));
    await within(peer.closed, 5000, 'close');
    assert.deepEqual(peer.got.map((m) => m.type), ['reject'], 'no ACCEPT, no PONG: only the refusal');
    assert.equal(peer.got[0]!.type === 'reject' && peer.got[0]!.code, 'E_MALFORMED');
  });

  test('an oversized WebSocket message gets E_TOO_LARGE in framewire/1 terms (as on TCP), then close 1009', { timeout: 20_000 }, async () => {
    // A FRAME envelope (as a client may not send) with a body over the server's --max-message.
    const body = server.config.maxClientMessageBytes + 56;
    const big = Buffer.alloc(8 + body);
    big.writeUInt8(0x10, 0);
    big.writeUInt32BE(body, 4);
    // Before the hello: a REJECT, as TCP answers an oversized first message.
    const early = await wsPeer(wsUrl);
    early.ws.send(big);
    assert.equal(await within(early.closed, 5000, 'close'), 1009);
    assert.deepEqual(early.got.map((m) => (m.type === 'reject' ? m.code : m.type)), ['E_TOO_LARGE']);
    const tcp = await rawConnect(server.tcp.port);
    const closing = readUntilClose(tcp);
    tcp.write(big);
    const tcpAnswer = decodeAll(await closing);
    assert.deepEqual(tcpAnswer.map((m) => (m.type === 'reject' ? m.code : m.type)), ['E_TOO_LARGE'], 'TCP says the same');
    // While streaming: an ERROR.
    const late = await wsPeer(wsUrl);
    late.ws.send(HELLO);
    await waitUntil(() => late.got.some((m) => m.type === 'accept'), 5000, 'accept');
    late.ws.send(big);
    assert.equal(await within(late.closed, 5000, 'close'), 1009);
    const last = late.got.filter((m) => m.type !== 'frame' && m.type !== 'ping').at(-1)!;
    assert.equal(last.type === 'error' && last.code, 'E_TOO_LARGE');
  });

  test('an ACK past the newest frame sent is ERROR E_UNEXPECTED; a repeated (old) ACK changes nothing', { timeout: 20_000 }, async () => {
    const s = await rawConnect(server.tcp.port);
    const decoder = new MessageDecoder();
    const got: Message[] = [];
    let onMessage = (): void => {};
    s.on('data', (c: Buffer) => {
      got.push(...decoder.push(c).messages);
      onMessage();
    });
    const closed = readUntilClose(s, 10_000);
    const frames = (): number[] => got.flatMap((m) => (m.type === 'frame' ? [m.seq] : []));
    s.write(HELLO);
    await waitUntil(() => frames().length >= 1, 5000, 'a first frame');
    const firstSeq = frames()[0]!;
    // Acknowledge each frame, and the first one again every time: the stream goes on.
    let acked = 0;
    onMessage = () => {
      for (const seq of frames().slice(acked)) {
        s.write(encodeMessage({ type: 'ack', seq }));
        s.write(encodeMessage({ type: 'ack', seq: firstSeq }));
      }
      acked = frames().length;
    };
    onMessage();
    await waitUntil(() => frames().length >= 10, 5000, '10 frames with repeated old ACKs');
    const newest = frames().at(-1)!;
    s.write(encodeMessage({ type: 'ack', seq: (newest + 1000) >>> 0 }));
    await closed;
    const err = got.find((m) => m.type === 'error');
    assert.equal(err?.type === 'error' && err.code, 'E_UNEXPECTED');
  });

  test('server shutdown: GOODBYE E_SHUTDOWN on TCP and WebSocket (code 0 is a peer just leaving)', { timeout: 20_000 }, async () => {
    const own = await startTestServer({ httpPort: 0, defaults: { width: 160, height: 90, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
    const s = await rawConnect(own.tcp.port);
    const tcpBytes = readUntilClose(s, 10_000);
    s.write(HELLO);
    const peer = await wsPeer(`ws://127.0.0.1:${own.extras[0]!.port}/ws`);
    peer.ws.send(HELLO);
    await waitUntil(() => own.registry.size === 2, 5000, 'both streaming');
    await own.close();
    const tcpBye = decodeAll(await tcpBytes).find((m) => m.type === 'goodbye');
    await within(peer.closed, 5000, 'WebSocket close');
    const wsBye = peer.got.find((m) => m.type === 'goodbye');
    assert.equal(tcpBye?.type === 'goodbye' && tcpBye.code, 'E_SHUTDOWN');
    assert.equal(wsBye?.type === 'goodbye' && wsBye.code, 'E_SHUTDOWN');
  });

  test('a client that half-closes (FIN) after its HELLO ends the conversation: the server closes too', { timeout: 20_000 }, async () => {
    const s = await rawConnect(server.tcp.port);
    const closed = readUntilClose(s, 5000);
    s.write(HELLO);
    await waitUntil(() => server.registry.size === 1, 5000, 'streaming');
    s.end();
    await closed;
    await waitUntil(() => server.registry.size === 0, 5000, 'the client removed');
  });

  test('a refusal is not destroyed by an RST: the server reads what the peer still sends until it closes', { timeout: 20_000 }, async () => {
    const s: net.Socket = await rawConnect(server.tcp.port);
    let reset: Error | null = null;
    s.on('error', (e) => (reset = e));
    // Garbage, then more of it than the kernel buffers hold, and only then start reading: a server that
    // stopped reading and closed would leave data unread, and its RST would take the REJECT with it (EPIPE here).
    s.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02]), Buffer.alloc(4 * 1024 * 1024, 0x55)]));
    s.pause();
    await new Promise((r) => setTimeout(r, 1500)); // past the server's 1 s grace
    const bytes = await readUntilClose(s.resume(), 5000);
    assert.equal(reset, null, `no connection reset: ${String(reset)}`);
    assert.deepEqual(decodeAll(bytes).map((m) => (m.type === 'reject' ? m.code : m.type)), ['E_BAD_MAGIC']);
  });

  test('E_VERSION names the versions the server speaks in a defined place (§4.7)', { timeout: 20_000 }, async () => {
    const s = await rawConnect(server.tcp.port);
    const closed = readUntilClose(s);
    s.write(readVectorBytes('invalid-version.hex'));
    const [reject] = decodeAll(await closed);
    assert.ok(reject?.type === 'reject' && reject.code === 'E_VERSION');
    assert.deepEqual(parseSupportedVersions(reject.text), [PROTOCOL_VERSION]);
    const vector = decodeAll(readVectorBytes('reject-version.hex'))[0]!;
    assert.deepEqual(reject, vector, 'the server sends exactly reject-version.hex');
  });
});
