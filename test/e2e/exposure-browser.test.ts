/**
 * What a browser can and cannot reach, in a real Chromium. Cross-site WebSocket hijacking: a page from another
 * origin (served from 127.0.0.2, as any site a viewer happens to open) tries to open the camera's WebSocket on
 * 127.0.0.1 and read frames; before, the server took any Origin, and such a page watched the camera. And the
 * URL a fresh `serve` prints, token included, opens the viewer at once.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_SERVER_CONFIG, startServer, TestPatternSource, type ServerConfig } from '../../src/index.js';
import { describeEndpoints, parseServeArgs } from '../../src/cli/serve.js';
import { silentLogger } from '../../src/log.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { requireTool } from '../helpers/tools.js';
import { CHROMIUM, LAUNCH } from '../helpers/browser.js';

const TIMEOUT = 20_000;

/** The attacker's page: open the camera's WebSocket, say hello, count what comes back. */
function evilPage(wsUrl: string): string {
  const hello = JSON.stringify([...encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 10, quality: 50, token: '' })]);
  return `<!doctype html><title>a page somewhere else</title><script>
    window.result = { opened: false, messages: 0, closed: false };
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { window.result.opened = true; ws.send(new Uint8Array(${hello})); };
    ws.onmessage = () => { window.result.messages++; };
    ws.onclose = () => { window.result.closed = true; };
  </script>`;
}

test('a page from another origin cannot open the camera WebSocket; the viewer page itself streams', async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
  // `serve --host 127.0.0.1`: loopback, so no token: the Origin check is all that stands in the way.
  const config: ServerConfig = Object.freeze({ ...DEFAULT_SERVER_CONFIG, host: '127.0.0.1', port: 0, httpPort: 0, log: silentLogger, defaults: { width: 320, height: 180, fps: 30, quality: 70 } });
  const server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
  const port = server.extras[0]!.port;
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(evilPage(`ws://127.0.0.1:${port}/ws`));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    const attacker = await browser.newPage();
    await attacker.goto(`http://127.0.0.2:${(evil.address() as net.AddressInfo).port}/`);
    await attacker.waitForFunction(() => (window as unknown as { result: { closed: boolean } }).result.closed, null, { timeout: TIMEOUT });
    const result = (await attacker.evaluate('window.result')) as { opened: boolean; messages: number };
    assert.deepEqual(result, { opened: false, messages: 0, closed: true }, 'the handshake was refused: nothing opened, nothing read');
    assert.equal(server.registry.list().filter((c) => c.protocol === 'websocket').length, 0);

    const viewer = await browser.newPage();
    await viewer.goto(`http://127.0.0.1:${port}/`);
    await viewer.waitForFunction(() => window.framewireStats?.state === 'streaming' && window.framewireStats.frames > 3, null, { timeout: TIMEOUT });
    assert.equal(server.registry.list().filter((c) => c.protocol === 'websocket').length, 1, 'the same-origin viewer is the one WebSocket client');
  } finally {
    await browser?.close();
    await new Promise((r) => evil.close(r));
    await server.close();
  }
});

test('the URL a fresh serve prints opens the viewer without asking, and the token leaves the address bar', async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
  // What `serve` builds with no flags (beyond loopback: a generated token), served on loopback for the test.
  const { config, token } = parseServeArgs(['--width', '320', '--height', '180'], {})!;
  const server = await startServer({ ...config, host: '127.0.0.1', port: 0, httpPort: 0, log: silentLogger }, new TestPatternSource(config.defaults), {
    extras: [httpTransport()],
  });
  let browser: Browser | null = null;
  try {
    const url = new RegExp(`browser: +(http://127\\.0\\.0\\.1:\\d+/\\?token=\\S+)`).exec(describeEndpoints(server, null, token))?.[1];
    assert.ok(url);
    browser = await chromium.launch(LAUNCH);
    const page = await browser.newPage();
    const prompts: string[] = [];
    page.on('dialog', (d) => {
      prompts.push(d.message());
      void d.dismiss();
    });
    await page.goto(url);
    await page.waitForFunction(() => window.framewireStats?.state === 'streaming' && window.framewireStats.frames > 3, null, { timeout: TIMEOUT });
    assert.deepEqual(prompts, []);
    assert.equal(new URL(page.url()).search, '', 'the token is no longer in the address bar');
    await page.reload();
    await page.waitForFunction(() => window.framewireStats?.state === 'streaming' && window.framewireStats.frames > 3, null, { timeout: TIMEOUT });
    assert.deepEqual(prompts, [], 'a reload keeps it for the tab');
  } finally {
    await browser?.close();
    await server.close();
  }
});
