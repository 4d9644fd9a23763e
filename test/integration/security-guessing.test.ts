/**
 * Token guessing and lock-out, scripted on loopback: several 127.x addresses stand in for an attacker's many
 * hosts, with an honest client alongside. The owner is never locked out by someone else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/client.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { RunningServer } from '../../src/server/server.js';
import type { ServerConfig } from '../../src/server/config.js';
import type { AuthLimits } from '../../src/server/auth-limiter.js';
import { take } from '../helpers/client.js';
import { helloFrom, hostAddress, httpFrom, recordingLogger } from '../helpers/peers.js';
import { startTestServer, within } from '../helpers/server.js';

const TOKEN = 'Zq3v9Xw2Lk8Rt5Yp1Nm7Bc4Hd6Jf0Gs';

async function start(overrides: Partial<ServerConfig> = {}, authLimits: Partial<AuthLimits> = {}): Promise<{ server: RunningServer; http: number; lines: string[] }> {
  const { lines, log } = recordingLogger();
  const server = await startTestServer({ token: TOKEN, httpPort: 0, log, ...overrides }, { extras: [httpTransport()], authLimits });
  return { server, http: server.extras[0]!.port, lines };
}

const authLines = (lines: string[]): string[] => lines.filter((l) => /E_AUTH|E_RATE_LIMITED/.test(l));

test('requests without a token are not failed logins: many of them from the owner\'s address, then the owner gets in at once', async () => {
  // Behind a reverse proxy every user shares the proxy's address; before, 5 anonymous requests a minute kept
  // everyone there, the owner included, at 429.
  const { server, http } = await start();
  try {
    for (let i = 0; i < 20; i++) assert.equal((await httpFrom(http, '/api/status')).status, 401);
    for (let i = 0; i < 10; i++) assert.equal((await helloFrom(server.tcp.port, '127.0.0.1', '')).result, 'E_AUTH');
    const owner = await httpFrom(http, `/api/status?token=${TOKEN}`);
    assert.equal(owner.status, 200, owner.body);
    assert.ok(owner.ms < 1000, `not slowed (${Math.round(owner.ms)} ms)`);
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { token: TOKEN, width: 160, height: 90 });
    assert.equal((await take(c, 2)).length, 2);
    await c.close();
  } finally {
    await server.close();
  }
});

test('behind a proxy with trustProxy, wrong tokens slow only their sender; without it, X-Forwarded-For is ignored', async () => {
  const slow: Partial<AuthLimits> = { perNetworkIntervalMs: 60_000, maxWaitMs: 300 };
  const trusting = await start({ trustProxy: true }, slow);
  try {
    const guess = (i: number) => httpFrom(trusting.http, `/api/status?token=guess${i}`, '127.0.0.1', { 'X-Forwarded-For': '10.9.9.9, 203.0.113.7' });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await guess(i)).status);
    assert.deepEqual(answers, [401, 401, 401, 401, 401, 429, 429, 429], 'five at once, then refused after waiting the most it may');
    assert.equal(trusting.server.auth.limiter.isSuspect('203.0.113.7'), true, 'charged to the last hop (the address the proxy saw)');
    assert.equal(trusting.server.auth.limiter.isSuspect('10.9.9.9'), false, 'not to what the client claimed');
    assert.equal(trusting.server.auth.limiter.isSuspect('127.0.0.1'), false, 'not to the proxy');
    const owner = await httpFrom(trusting.http, `/api/status?token=${TOKEN}`, '127.0.0.1', { 'X-Forwarded-For': '198.51.100.9' });
    assert.equal(owner.status, 200);
    assert.ok(owner.ms < 1000, `the owner is not slowed by someone else (${Math.round(owner.ms)} ms)`);
  } finally {
    await trusting.server.close();
  }
  const plain = await start({}, slow);
  try {
    for (let i = 0; i < 5; i++) {
      const r = await httpFrom(plain.http, `/api/status?token=guess${i}`, '127.0.0.1', { 'X-Forwarded-For': `10.0.0.${i}` });
      assert.equal(r.status, 401);
    }
    assert.equal(plain.server.auth.limiter.isSuspect('127.0.0.1'), true, 'a forged header does not move the charge elsewhere');
    assert.equal(plain.server.auth.limiter.isSuspect('10.0.0.0'), false);
    assert.equal((await httpFrom(plain.http, '/api/status?token=guess9', '127.0.0.1', { 'X-Forwarded-For': '10.0.0.77' })).status, 429);
  } finally {
    await plain.server.close();
  }
});

/** Guess from `hosts` addresses, `perHost` connections each, for `seconds`; counts answers by kind. */
async function flood(send: (host: string, i: number) => Promise<string>, hosts: number, perHost: number, seconds: number): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: hosts * perHost }, async (_, k) => {
      const host = hostAddress(k % hosts);
      while (performance.now() < end) {
        const r = await send(host, n++);
        tally[r] = (tally[r] ?? 0) + 1;
      }
    }),
  );
  return tally;
}

for (const kind of ['TCP', 'HTTP'] as const) {
  test(`a ${kind} guessing flood from 10 addresses: checks stay within the global budget, an honest viewer gets in at once, the log stays short`, async () => {
    const { server, http, lines } = await start();
    try {
      const t0 = performance.now();
      const attack =
        kind === 'TCP'
          ? flood(async (host, i) => (await helloFrom(server.tcp.port, host, `guess${i}`)).result, 10, 4, 2)
          : flood(async (host, i) => String((await httpFrom(http, `/api/status?token=guess${i}`, host)).status), 10, 4, 2);
      // The honest viewer arrives in the middle of it, from its own address.
      await new Promise((r) => setTimeout(r, 500));
      const tc = performance.now();
      const c = await within(connect(`tcp://127.0.0.1:${server.tcp.port}`, { token: TOKEN, width: 160, height: 90 }), 5000, 'honest viewer');
      const acceptMs = performance.now() - tc;
      assert.equal((await within(take(c, 5), 10_000, 'honest frames')).length, 5);
      await c.close();
      const tally = await attack;
      const seconds = (performance.now() - t0) / 1000;
      const checked = (tally.E_AUTH ?? 0) + (tally['401'] ?? 0);
      const limits = server.auth.limiter.limits;
      const budget = limits.globalBurst + limits.globalPerSecond * seconds;
      assert.ok(checked > 0, JSON.stringify(tally));
      assert.ok(checked <= budget, `${checked} wrong tokens checked in ${seconds.toFixed(1)} s; the global budget allows ${Math.floor(budget)} (${JSON.stringify(tally)})`);
      assert.equal(tally.accept ?? tally['200'] ?? 0, 0);
      assert.ok(acceptMs < 2000, `the honest viewer was not held up by the guessing (${Math.round(acceptMs)} ms)`);
      const logged = authLines(lines);
      assert.ok(logged.length <= 12, `${logged.length} log lines for ${Object.values(tally).reduce((a, b) => a + b, 0)} attempts:\n${logged.join('\n')}`);
      server.auth.dispose(); // flushes the pending summary
      assert.ok(authLines(lines).some((l) => /not logged one by one/.test(l)), 'the rest is summarised, not dropped');
    } finally {
      await server.close();
    }
  });
}

test('a flood from a thousand fresh addresses: the owner, known from an earlier visit, gets in at once', async () => {
  const { server, http } = await start();
  try {
    const before = await httpFrom(http, `/api/status?token=${TOKEN}`);
    assert.equal(before.status, 200, 'the owner watched from this network before');
    let n = 0;
    const attack = flood(async (host) => (await helloFrom(server.tcp.port, host, `guess${n}`)).result, 1000, 1, 2);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(server.auth.limiter.globallyLimited, true, 'the global budget is spent: fresh networks wait in line');
    const t0 = performance.now();
    const c = await within(connect(`tcp://127.0.0.1:${server.tcp.port}`, { token: TOKEN, width: 160, height: 90 }), 5000, 'owner');
    const ms = performance.now() - t0;
    assert.equal((await take(c, 2)).length, 2);
    await c.close();
    const tally = await attack;
    assert.ok(ms < 2000, `the owner was not held up (${Math.round(ms)} ms; attack ${JSON.stringify(tally)})`);
  } finally {
    await server.close();
  }
});
