/**
 * The browser viewer in a real Chromium (playwright-core): video moves and shows the test pattern's bars,
 * the overlay counts, renegotiation resizes the canvas, Escape/Enter disconnect and reconnect, and a
 * restarted server is found again without anyone touching the page.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULT_SERVER_CONFIG, startServer, TestPatternSource, type RunningServer, type ServerConfig } from '../../src/index.js';
import { silentLogger } from '../../src/log.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { BAR_COLOURS } from '../../src/sources/testpattern.js';
import { requireTool } from '../helpers/tools.js';
import { CHROMIUM, LAUNCH } from '../helpers/browser.js';

const TIMEOUT = 20_000;


async function startHttp(httpPort: number, token: string | null = null): Promise<RunningServer> {
  const config: ServerConfig = Object.freeze({
    ...DEFAULT_SERVER_CONFIG,
    host: '127.0.0.1',
    port: 0,
    httpPort,
    log: silentLogger,
    defaults: { width: 640, height: 360, fps: 30, quality: 80 },
    token,
    allowWeakToken: true,
  });
  return startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
}

interface CanvasSample {
  width: number;
  height: number;
  /** RGB at the centre of each colour bar (top band). */
  bars: [number, number, number][];
  /** RGB samples over the moving part of the picture. */
  body: number[];
}

/**
 * Read pixels in the page: the bar centres, and a coarse grid below the bars. Passed as source text:
 * tsx compiles functions here with helpers (__name) that do not exist in the page.
 */
const SAMPLE_CANVAS = `(() => {
  const nBars = ${BAR_COLOURS.length};
  const c = document.getElementById('video');
  const ctx = c.getContext('2d');
  const w = c.width, h = c.height;
  function px(x, y) {
    const d = ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data;
    return [d[0], d[1], d[2]];
  }
  const bars = [];
  for (let i = 0; i < nBars; i++) bars.push(px(((i + 0.5) * w) / nBars, h / 12));
  const body = [];
  for (let gy = 1; gy <= 6; gy++) for (let gx = 1; gx <= 12; gx++) body.push(...px((gx * w) / 13, h / 6 + (gy * (h * 5) / 6) / 7));
  return { width: w, height: h, bars, body };
})()`;

function sampleCanvas(page: Page): Promise<CanvasSample> {
  return page.evaluate(SAMPLE_CANVAS) as Promise<CanvasSample>;
}

function stat<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate(`window.framewireStats && window.framewireStats.${expr}`) as Promise<T>;
}

test('the viewer page in Chromium', async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
  let server = await startHttp(0);
  const port = server.extras[0]!.port;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/`);

    await t.test('shows moving video with the test pattern bars', async () => {
      await page.waitForFunction(() => window.framewireStats?.frames > 3, null, { timeout: TIMEOUT });
      const a = await sampleCanvas(page);
      const framesA = await stat<number>(page, 'frames');
      await page.waitForFunction((n) => window.framewireStats.frames >= n + 5, framesA, { timeout: TIMEOUT });
      const b = await sampleCanvas(page);
      assert.deepEqual([a.width, a.height], [640, 360], 'canvas has the server default size');
      const changed = a.body.filter((v, i) => Math.abs(v - b.body[i]!) > 30).length;
      assert.ok(changed > 10, `the picture moves (${changed} samples changed)`);
      for (const s of [a, b]) {
        s.bars.forEach((got, i) => {
          const want = BAR_COLOURS[i]!;
          assert.ok(
            got.every((v, k) => Math.abs(v - want[k]!) <= 30),
            `bar ${i}: got rgb(${got.join(',')}), want rgb(${want.join(',')}) ±30`,
          );
        });
      }
    });

    await t.test('the overlay numbers update', async () => {
      const f0 = await stat<number>(page, 'frames');
      await page.waitForFunction(() => window.framewireStats.fps > 10, null, { timeout: TIMEOUT });
      await page.waitForFunction(() => window.framewireStats.latencyP50 !== null, null, { timeout: TIMEOUT });
      await page.waitForFunction((n) => window.framewireStats.frames > n + 10, f0, { timeout: TIMEOUT });
      const s = await page.evaluate(() => window.framewireStats);
      assert.equal(s.state, 'streaming');
      assert.ok(s.latencyP50! >= 0 && s.latencyP50! < 2000, `latency ${s.latencyP50} ms`);
      const fpsText = await page.textContent('#o-fps');
      assert.ok(Number(fpsText) > 10, `overlay fps ${fpsText}`);
      assert.equal(await page.textContent('#o-size'), '640×360');
      assert.ok(Number(await page.textContent('#o-kbps')) > 0);
    });

    await t.test('choosing a resolution renegotiates and the canvas takes the granted size', async () => {
      await page.selectOption('#resolution', '320x180');
      await page.waitForFunction(
        () => {
          const c = document.getElementById('video') as HTMLCanvasElement;
          return c.width === 320 && c.height === 180 && window.framewireStats.width === 320;
        },
        null,
        { timeout: TIMEOUT },
      );
      const list = server.registry.list().filter((c) => c.protocol === 'websocket');
      assert.deepEqual(list.map((c) => [c.width, c.height]), [[320, 180]]);
      const f0 = await stat<number>(page, 'frames');
      await page.waitForFunction((n) => window.framewireStats.frames > n + 3, f0, { timeout: TIMEOUT });
      const s = await sampleCanvas(page);
      assert.ok(s.bars[1]!.every((v, k) => Math.abs(v - BAR_COLOURS[1]![k]!) <= 30), `yellow bar at 320x180: ${s.bars[1]}`);
    });

    await t.test('Escape disconnects, Enter reconnects', async () => {
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.framewireStats.state === 'disconnected', null, { timeout: TIMEOUT });
      assert.match((await page.textContent('#message')) ?? '', /disconnected — press Enter\/click to reconnect/);
      assert.equal(await page.isVisible('#message'), true);
      const f0 = await stat<number>(page, 'frames');
      await page.keyboard.press('Enter');
      await page.waitForFunction((n) => window.framewireStats.state === 'streaming' && window.framewireStats.frames > n + 3, f0, {
        timeout: TIMEOUT,
      });
      assert.equal(await page.isVisible('#message'), false);
    });

    await t.test('an <img> plays /stream.mjpg', async () => {
      await page.evaluate(`(() => {
        const img = document.createElement('img');
        img.id = 'mjpeg-probe';
        img.src = '/stream.mjpg?width=160&height=96&fps=10';
        document.body.append(img);
      })()`);
      await page.waitForFunction(() => (document.getElementById('mjpeg-probe') as HTMLImageElement).naturalWidth === 160, null, { timeout: TIMEOUT });
      assert.ok(server.registry.list().some((c) => c.protocol === 'mjpeg' && c.width === 160));
      await page.evaluate(`document.getElementById('mjpeg-probe').remove()`);
    });

    await t.test('reconnects by itself to a server restarted on the same port', async () => {
      await server.close();
      await page.waitForFunction(() => window.framewireStats.state === 'reconnecting', null, { timeout: TIMEOUT });
      assert.match((await page.textContent('#message')) ?? '', /reconnecting…/);
      const f0 = await stat<number>(page, 'frames');
      server = await startHttp(port);
      await page.waitForFunction((n) => window.framewireStats.state === 'streaming' && window.framewireStats.frames > n + 5, f0, {
        timeout: TIMEOUT,
      });
      assert.equal(server.registry.list().filter((c) => c.protocol === 'websocket').length, 1);
    });

    assert.deepEqual(pageErrors, [], 'no errors in the page');
  } finally {
    await browser?.close();
    await server.close();
  }
});

test('the viewer asks once for a token the server wants, and keeps it for the tab', async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
  const server = await startHttp(0, 'open-sesame');
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    const page = await browser.newPage();
    const prompts: string[] = [];
    page.on('dialog', (d) => {
      prompts.push(d.message());
      void d.accept('open-sesame');
    });
    await page.goto(`http://127.0.0.1:${server.extras[0]!.port}/`);
    await page.waitForFunction(() => window.framewireStats?.state === 'streaming' && window.framewireStats.frames > 2, null, { timeout: TIMEOUT });
    assert.equal(prompts.length, 1);
    assert.match(prompts[0]!, /token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('framewire.token')), 'open-sesame');
    // A reload finds the token in sessionStorage: no second prompt.
    await page.reload();
    await page.waitForFunction(() => window.framewireStats?.state === 'streaming' && window.framewireStats.frames > 2, null, { timeout: TIMEOUT });
    assert.equal(prompts.length, 1);
  } finally {
    await browser?.close();
    await server.close();
  }
});
