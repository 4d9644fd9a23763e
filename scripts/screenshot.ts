/**
 * Regenerates docs/viewer.png: the browser viewer on the test pattern, in Chromium.
 * Usage: node scripts/build-web.mjs && npx tsx scripts/screenshot.ts [out.png] [WIDTHxHEIGHT viewport]
 * (CHROMIUM=/path/to/chromium to use another browser.)
 */
import { chromium } from 'playwright-core';
import { DEFAULT_SERVER_CONFIG, startServer, TestPatternSource, type ServerConfig } from '../src/index.js';
import { silentLogger } from '../src/log.js';
import { httpTransport } from '../src/server/http/http-transport.js';

const executablePath = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const out = process.argv[2] ?? 'docs/viewer.png';
const [vw, vh] = (process.argv[3] ?? '1280x820').split('x').map(Number);
const config: ServerConfig = Object.freeze({
  ...DEFAULT_SERVER_CONFIG,
  host: '127.0.0.1',
  port: 0,
  httpPort: 0,
  log: silentLogger,
  defaults: { width: 1280, height: 720, fps: 30, quality: 80 },
});
const server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: vw ?? 1280, height: vh ?? 820 }, deviceScaleFactor: 1 });
  await page.goto(`http://127.0.0.1:${server.extras[0]!.port}/`);
  // Long enough for the overlay to show settled numbers (rate over 2 s, latency median).
  await page.waitForFunction(() => window.framewireStats?.frames > 75 && window.framewireStats.latencyP50 !== null, null, { timeout: 30_000 });
  await page.locator('#stage').blur();
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
