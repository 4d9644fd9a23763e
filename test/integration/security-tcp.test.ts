import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from '../../src/client/client.js';
import { selfSignedTlsMaterial } from '../../src/server/tls-material.js';
import { take } from '../helpers/client.js';
import { requireTool } from '../helpers/tools.js';
import { startTestServer, within } from '../helpers/server.js';

const hasCode = (code: string) => (e: { code?: string }) => e.code === code;

test('with --token, a missing or wrong token is refused with E_AUTH and the right one streams', async () => {
  const server = await startTestServer({ token: 's3cret' });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    await assert.rejects(connect(url), hasCode('E_AUTH'));
    await assert.rejects(connect(url, { token: 'wrong' }), hasCode('E_AUTH'));
    const c = await connect(url, { token: 's3cret', width: 160, height: 90 });
    assert.equal((await take(c, 3)).length, 3);
    await c.close();
  } finally {
    await server.close();
  }
});

test('repeated wrong tokens from one address are slowed down, and the right token still gets in', async () => {
  const server = await startTestServer({ token: 's3cret' }, { authLimits: { perNetworkIntervalMs: 500 } });
  try {
    const url = `tcp://127.0.0.1:${server.tcp.port}`;
    for (let i = 0; i < 5; i++) await assert.rejects(connect(url, { token: `guess${i}` }), hasCode('E_AUTH'));
    const t0 = performance.now();
    await assert.rejects(connect(url, { token: 'guess5' }), hasCode('E_AUTH'));
    assert.ok(performance.now() - t0 >= 400, `the sixth guess waited for the address's next turn (${Math.round(performance.now() - t0)} ms)`);
    const c = await connect(url, { token: 's3cret', width: 160, height: 90 });
    assert.equal((await take(c, 3)).length, 3);
    await c.close();
  } finally {
    await server.close();
  }
});

test('tutorial-format clients cannot send a token: refused when one is set, unless allowed', async () => {
  const strict = await startTestServer({ token: 's3cret' });
  try {
    const c = await connect(`seed://127.0.0.1:${strict.tcp.port}`, { width: 160, height: 120, fps: 10 });
    const it = c[Symbol.asyncIterator]();
    // The tutorial format has no error message: the server closes without sending a frame.
    await within(assert.rejects(it.next(), hasCode('E_CLOSED')), 5000, 'refused tutorial client');
    assert.equal(c.stats.frames, 0);
  } finally {
    await strict.close();
  }
  const lenient = await startTestServer({ token: 's3cret', allowSeedClients: true });
  try {
    const c = await connect(`seed://127.0.0.1:${lenient.tcp.port}`, { width: 160, height: 120, fps: 10 });
    const frames = await within(take(c, 3), 5000, 'tutorial frames');
    assert.deepEqual([frames[0]!.width, frames[0]!.height], [160, 120]);
    await c.close();
  } finally {
    await lenient.close();
  }
});

test('TLS: a pinned client streams, a wrong pin is refused with E_TLS, and openssl s_client sees the certificate', async (t) => {
  const tls = await selfSignedTlsMaterial();
  const server = await startTestServer({ token: 'tok' }, { tcp: { tls: { cert: tls.cert, key: tls.key } } });
  try {
    const url = `tls://127.0.0.1:${server.tcp.port}`;
    const c = await connect(url, { token: 'tok', tls: { fingerprint: tls.fingerprint256 }, width: 160, height: 90 });
    assert.equal((await take(c, 3)).length, 3);
    await c.close();
    const wrongPin = tls.fingerprint256.replace(/^../, tls.fingerprint256.startsWith('00') ? '11' : '00');
    await assert.rejects(connect(url, { token: 'tok', tls: { fingerprint: wrongPin } }), hasCode('E_TLS'));
    await assert.rejects(connect(url, { token: 'tok' }), hasCode('E_TLS'), 'an unpinned, unverifiable self-signed certificate is refused');
    await assert.rejects(connect(url, { token: 'bad', tls: { fingerprint: tls.fingerprint256 } }), hasCode('E_AUTH'), 'TLS does not replace the token');
    await assert.rejects(connect(`tcp://127.0.0.1:${server.tcp.port}`, { token: 'tok', connectTimeoutMs: 2000 }), 'plain TCP to a TLS port fails');

    if (!requireTool(t, 'openssl', ['version'], 'apt-get install openssl')) return;
    const out = await within(
      new Promise<string>((resolve) => {
        const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${server.tcp.port}`, '-brief'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let text = '';
        p.stdout.on('data', (d: Buffer) => (text += d.toString()));
        p.stderr.on('data', (d: Buffer) => (text += d.toString()));
        p.on('close', () => resolve(text));
        p.stdin.end();
      }),
      10_000,
      'openssl s_client',
    );
    assert.match(out, /CONNECTION ESTABLISHED|Protocol version/i, out);
    assert.match(out, /CN ?= ?framewire/, 'the peer certificate is ours');
  } finally {
    await server.close();
  }
});
