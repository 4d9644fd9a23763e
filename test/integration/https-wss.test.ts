import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { WebSocket } from 'ws';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { Message } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, headers }, (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), fingerprint: peer }));
    });
    req.on('error', reject);
  });
}

test('HTTPS and WSS with the same certificate; the token is still required', async () => {
  const tls = await selfSignedTlsMaterial();
  const server = await startTestServer({ httpPort: 0, token: 'tok' }, { extras: [httpTransport({ tls: { cert: tls.cert, key: tls.key } })] });
  try {
    const base = `https://127.0.0.1:${server.extras[0]!.port}`;
    const denied = await get(`${base}/snapshot.jpg`);
    assert.equal(denied.status, 401);
    assert.equal(denied.fingerprint, tls.fingerprint256, 'served with our certificate');
    const snap = await get(`${base}/snapshot.jpg?width=160&height=90`, { authorization: 'Bearer tok' });
    assert.equal(snap.status, 200);
    assert.deepEqual([...snap.body.subarray(0, 2)], [0xff, 0xd8]);

    // WSS: a framewire/1 conversation over the TLS WebSocket.
    const ws = new WebSocket(`wss://127.0.0.1:${server.extras[0]!.port}/ws`, { rejectUnauthorized: false });
    const decoder = new MessageDecoder();
    const got: Message[] = [];
    const frames = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const { messages, error } = decoder.push(data);
        if (error) reject(error);
        for (const m of messages) {
          got.push(m);
          if (m.type === 'frame') ws.send(encodeMessage({ type: 'ack', seq: m.seq }));
        }
        if (got.filter((m) => m.type === 'frame').length >= 3) resolve();
      });
      ws.on('error', reject);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 30, quality: 50, token: 'tok' }));
    await within(frames, 10_000, 'frames over WSS');
    assert.equal(got[0]?.type, 'accept');
    ws.close();
  } finally {
    await server.close();
  }
});

test('view --reconnect rides out a server restart on the same port', async () => {
  const first = await startTestServer();
  const port = first.tcp.port;
  const v = runCli(['view', `tcp://127.0.0.1:${port}`, '--frames', '60', '--json', '--display', 'none', '--reconnect', '--width', '160', '--height', '90']);
  try {
    // Wait until the viewer has received some frames from the first server, then restart it under it.
    await waitUntil(() => first.registry.list().some((c) => c.sent >= 10), 20_000, 'viewer streaming from the first server');
    await first.close();
    const second = await startTestServer({ port });
    try {
      assert.equal(await within(v.exited, 30_000, 'viewer exit'), 0, v.stderr());
      assert.equal(JSON.parse(v.stdout().trim()).frames, 60, 'it kept counting after the restart');
    } finally {
      await second.close();
    }
  } finally {
    v.child.kill('SIGKILL');
  }
});
