/**
 * The same bytes get the same answer over TCP and over WebSocket (docs/protocol.md §4.1, §6.1): every vector
 * with an `opening` in test/vectors/index.json is sent as the first thing on a fresh connection of each.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import type { Message } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { RunningServer } from '../../src/server/server.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';
import { loadIndex, readVectorBytes } from '../vectors/vectors.js';

/** The server's first framewire/1 message on a TCP connection opened with `bytes`. */
async function firstOverTcp(port: number, bytes: Uint8Array): Promise<Message> {
  const s = await rawConnect(port);
  const decoder = new MessageDecoder();
  try {
    return await within(
      new Promise<Message>((resolve, reject) => {
        s.on('data', (c: Buffer) => {
          const { messages, error } = decoder.push(c);
          if (messages[0]) resolve(messages[0]);
          else if (error) reject(error);
        });
        s.on('error', () => {});
        s.once('close', () => reject(new Error('closed without an answer')));
        s.write(bytes);
      }),
      5000,
      'first answer over TCP',
    );
  } finally {
    s.destroy();
  }
}

/** The server's first framewire/1 message on a WebSocket whose first message is `bytes`. */
async function firstOverWs(url: string, bytes: Uint8Array): Promise<Message> {
  const ws = new WebSocket(url);
  const decoder = new MessageDecoder();
  try {
    return await within(
      new Promise<Message>((resolve, reject) => {
        ws.on('message', (data: Buffer) => {
          const { messages, error } = decoder.push(data);
          if (messages[0]) resolve(messages[0]);
          else if (error) reject(error);
        });
        ws.on('error', reject);
        ws.once('close', () => reject(new Error('closed without an answer')));
        ws.once('open', () => ws.send(bytes));
      }),
      5000,
      'first answer over WebSocket',
    );
  } finally {
    ws.terminate();
  }
}

function answer(m: Message): string {
  if (m.type === 'accept') return 'accept';
  assert.equal(m.type, 'reject', `a refusal before ACCEPT is a REJECT, got ${m.type}`);
  return m.code;
}

describe('opening bytes: TCP and WebSocket agree', () => {
  let server: RunningServer;
  let wsUrl: string;
  before(async () => {
    server = await startTestServer({ httpPort: 0, defaults: { width: 160, height: 90, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
    wsUrl = `ws://127.0.0.1:${server.extras[0]!.port}/ws`;
  });
  after(() => server.close());

  const cases = loadIndex().filter((v) => v.opening !== undefined);
  test('the index has opening expectations for HELLOs, other messages and garbage', () => {
    assert.ok(cases.length >= 25);
    for (const want of ['accept', 'E_UNEXPECTED', 'E_BAD_MAGIC', 'E_MALFORMED', 'E_TOO_LARGE', 'E_VERSION']) {
      assert.ok(cases.some((v) => v.opening === want), want);
    }
  });
  for (const v of cases) {
    test(`${v.file} → ${v.opening} over TCP and over WebSocket`, { timeout: 20_000 }, async () => {
      const bytes = readVectorBytes(v.file);
      const [tcp, ws] = await Promise.all([firstOverTcp(server.tcp.port, bytes), firstOverWs(wsUrl, bytes)]);
      assert.equal(answer(tcp), v.opening, 'TCP');
      assert.equal(answer(ws), v.opening, 'WebSocket');
    });
  }
});
