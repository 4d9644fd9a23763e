/** framewire/1 over WebSocket (/ws) with a Node WebSocket client: hello, frames, acks, renegotiate, token. */
import assert from 'node:assert/strict';
import { testConfig } from '../helpers/server.js';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startServer, TestPatternSource, type RunningServer, type ServerConfig } from '../../src/index.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message, StreamParams } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';

async function startHttp(overrides: Partial<ServerConfig> = {}): Promise<{ server: RunningServer; wsUrl: string }> {
  const config: ServerConfig = testConfig({ httpPort: 0, ...overrides });
  const server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
  return { server, wsUrl: `ws://127.0.0.1:${server.extras[0]!.port}/ws` };
}

/** A framewire/1 peer over WebSocket: every binary message decoded, waited on with a timeout. */
class WsPeer {
  private readonly decoder = new MessageDecoder();
  private readonly inbox: Message[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      assert.ok(isBinary, 'server sends binary messages only');
      const { messages, error } = this.decoder.push(data);
      assert.equal(error, null);
      assert.equal(messages.length, 1, 'one framewire/1 message per WebSocket message');
      this.inbox.push(...messages);
      this.waiter?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(url: string): Promise<WsPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new WsPeer(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  send(m: Message): void {
    this.ws.send(encodeMessage(m));
  }

  hello(p: Partial<StreamParams> = {}, token = ''): void {
    this.send({ type: 'hello', version: PROTOCOL_VERSION, width: 0, height: 0, fps: 0, quality: 0, ...p, token });
  }

  /** The next message matching pred (others are skipped; frames are acked as a client must). */
  async next<T extends Message['type']>(type: T, ms = 10_000): Promise<Extract<Message, { type: T }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.inbox.shift();
      if (m) {
        if (m.type === 'frame') this.send({ type: 'ack', seq: m.seq });
        if (m.type === type) return m as Extract<Message, { type: T }>;
        continue;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('no token', () => {
  let server: RunningServer;
  let wsUrl: string;
  before(async () => ({ server, wsUrl } = await startHttp()));
  after(() => server.close());

  test('hello → accept → FRAME messages carrying JPEGs of the granted size; listed as a websocket client', async () => {
    const peer = await WsPeer.open(wsUrl);
    try {
      peer.hello({ width: 320, height: 180, fps: 30, quality: 60 });
      const a = await peer.next('accept');
      assert.deepEqual([a.width, a.height, a.fps, a.quality, a.version], [320, 180, 30, 60, PROTOCOL_VERSION]);
      assert.equal(a.source, 'testpattern 640x360@30');
      let lastSeq = -1;
      for (let i = 0; i < 10; i++) {
        const f = await peer.next('frame');
        assert.deepEqual([f.width, f.height], [320, 180]);
        assert.ok(f.seq > lastSeq, 'frames in order');
        lastSeq = f.seq;
        if (i === 0) {
          const meta = await sharp(Buffer.from(f.payload)).metadata();
          assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 320, 180]);
        }
      }
      const ws = server.registry.list().filter((c) => c.protocol === 'websocket');
      assert.equal(ws.length, 1);
      assert.ok(ws[0]!.sent >= 10);
    } finally {
      peer.close();
    }
  });

  test('ping → pong, renegotiate → accept and frames of the new size', async () => {
    const peer = await WsPeer.open(wsUrl);
    try {
      peer.hello({ width: 320, height: 180 });
      await peer.next('accept');
      peer.send({ type: 'ping', id: 7, t1: 1234 });
      const pong = await peer.next('pong');
      assert.deepEqual([pong.id, pong.t1], [7, 1234]);
      peer.send({ type: 'renegotiate', width: 160, height: 96, fps: 10, quality: 50 });
      const a = await peer.next('accept');
      assert.deepEqual([a.width, a.height, a.fps, a.quality], [160, 96, 10, 50]);
      // Frames of the old profile may still be in flight; the new size arrives within a few frames.
      let f = await peer.next('frame');
      for (let i = 0; i < 5 && f.width !== 160; i++) f = await peer.next('frame');
      assert.deepEqual([f.width, f.height], [160, 96]);
    } finally {
      peer.close();
    }
  });

  test('a text message or a message that is not framewire/1 ends the session with an error', async () => {
    const peer = await WsPeer.open(wsUrl);
    peer.ws.send('hello?');
    const e = await peer.next('reject');
    assert.equal(e.code, 'E_MALFORMED');
    const peer2 = await WsPeer.open(wsUrl);
    peer2.ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const e2 = await peer2.next('reject');
    assert.ok(['E_BAD_MAGIC', 'E_MALFORMED', 'E_UNEXPECTED', 'E_TOO_LARGE'].includes(e2.code), e2.code);
    peer.close();
    peer2.close();
  });

  test('upgrades elsewhere than /ws are refused', async () => {
    await assert.rejects(WsPeer.open(wsUrl.replace('/ws', '/other')), /upgrade refused: 404/);
  });

  test('server shutdown says goodbye to WebSocket clients', async () => {
    const { server: s2, wsUrl: u2 } = await startHttp();
    const peer = await WsPeer.open(u2);
    peer.hello();
    await peer.next('accept');
    const closing = s2.close();
    const bye = await peer.next('goodbye');
    assert.equal(bye.code, 'E_SHUTDOWN');
    await closing;
  });
});

describe('with a token', () => {
  let server: RunningServer;
  let wsUrl: string;
  before(async () => ({ server, wsUrl } = await startHttp({ token: 'tok' })));
  after(() => server.close());

  test('the token travels in the hello, as on TCP', async () => {
    const bad = await WsPeer.open(wsUrl);
    bad.hello({}, 'wrong');
    const r = await bad.next('reject');
    assert.equal(r.code, 'E_AUTH');
    bad.close();
    const none = await WsPeer.open(wsUrl);
    none.hello();
    assert.equal((await none.next('reject')).code, 'E_AUTH');
    none.close();
    const good = await WsPeer.open(wsUrl);
    good.hello({ width: 160, height: 96 }, 'tok');
    assert.equal((await good.next('accept')).width, 160);
    await good.next('frame');
    good.close();
  });

  test('?token= on the upgrade is accepted too; a wrong one is refused with 401', async () => {
    const peer = await WsPeer.open(`${wsUrl}?token=tok`);
    peer.hello();
    await peer.next('accept');
    await peer.next('frame');
    peer.close();
    await assert.rejects(WsPeer.open(`${wsUrl}?token=bad`), /upgrade refused: 401/);
  });
});
