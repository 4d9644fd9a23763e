/**
 * The viewer page against hosts that never answer, in a real Chromium: a host that takes the WebSocket's
 * connection and never answers its upgrade, and one that opens the WebSocket and never answers HELLO. Each
 * page gives up after its handshake limit (10 s), says E_TIMEOUT and why in its message, and dials again,
 * instead of saying "connecting…" for as long as the browser's own limit (minutes) or forever. And a page
 * whose worker cannot load says so instead of "connecting…" for ever.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { findViewerDir, readViewerFile } from '../../src/server/http/viewer-files.js';
import { CHROMIUM, LAUNCH } from '../helpers/browser.js';
import { requireTool } from '../helpers/tools.js';

/** The viewer's handshake limit (src/web/viewer-connection.ts) plus room for a loaded machine. */
const GIVE_UP_MS = 25_000;

interface Host {
  url: string;
  /** Resolves once the host has taken n WebSocket connections. */
  dialled: (n: number) => Promise<void>;
  close: () => Promise<void>;
}

/** Serves the viewer's files; the WebSocket's upgrade is held unanswered ('hold') or accepted and left silent. */
async function startHost(mode: 'hold' | 'silent' | 'no-worker', dir: string): Promise<Host> {
  const held = new Set<Socket>();
  let dials = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (mode === 'no-worker' && pathname === '/stream-worker.js') return void res.writeHead(404).end();
    void readViewerFile(dir, pathname).then((f) => {
      if (!f) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': f.type }).end(f.body);
    });
  });
  server.on('upgrade', (req, socket: Socket, head) => {
    dials++;
    for (const w of waiting.filter((x) => x.n <= dials)) w.resolve();
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    // 'silent': an open WebSocket that never says a word.
    if (mode === 'silent') wss.handleUpgrade(req, socket, head, () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    dialled: (n) => (dials >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }))),
    close: async () => {
      for (const s of held) s.destroy();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('the viewer page gives up on a host that never answers, says why, and dials again', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  const dir = findViewerDir();
  assert.ok(dir, 'the viewer is built (dist/web)');
  const hosts = await Promise.all([startHost('hold', dir), startHost('silent', dir)]);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    const cases = [
      { host: hosts[0]!, why: /E_TIMEOUT: no WebSocket to 127\.0\.0\.1:\d+ within 10000 ms/ },
      { host: hosts[1]!, why: /E_TIMEOUT: no answer to hello within 10000 ms/ },
    ];
    await Promise.all(
      cases.map(async ({ host, why }) => {
        const page = await browser!.newPage();
        await page.goto(host.url);
        await page.waitForFunction(() => window.framewireStats?.state === 'reconnecting', null, { timeout: GIVE_UP_MS });
        assert.match((await page.textContent('#message')) ?? '', why);
        // It dials again on its own (the backoff's first wait is a fraction of a second).
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          host.dialled(2),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the page did not dial again within 10 s')), 10_000))),
        ]).finally(() => clearTimeout(timer));
        await page.close();
      }),
    );
  } finally {
    await browser?.close();
    await Promise.all(hosts.map((h) => h.close()));
  }
});

test("a page whose worker does not load says so instead of 'connecting…'", { timeout: 30_000 }, async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  const dir = findViewerDir();
  assert.ok(dir, 'the viewer is built (dist/web)');
  const host = await startHost('no-worker', dir);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    const page = await browser.newPage();
    await page.goto(host.url);
    await page.waitForFunction(() => window.framewireStats?.state === 'refused', null, { timeout: 15_000 });
    assert.match((await page.textContent('#message')) ?? '', /the viewer's worker failed/);
  } finally {
    await browser?.close();
    await host.close();
  }
});
