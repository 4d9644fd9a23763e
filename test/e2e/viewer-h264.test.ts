/**
 * The viewer page decoding H.264 with WebCodecs in a real Chromium (playwright-core), against a server
 * serving `codec: 'both'` on loopback (a secure context: http on 127.0.0.1): the overlay says H.264, the
 * decoded canvas shows the test pattern's bars, a page joining mid-GOP shows a picture soon, a throttled and
 * stalled page decodes without errors, and `?codec=jpeg` falls back with its reason in the overlay.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../../src/index.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { BAR_COLOURS } from '../../src/sources/testpattern.js';
import { startTestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { CHROMIUM, LAUNCH } from '../helpers/browser.js';

const TIMEOUT = 20_000;

function startHttp(gop: number): Promise<RunningServer> {
  return startTestServer({ httpPort: 0, defaults: { width: 640, height: 360, fps: 30, quality: 80 }, codec: 'both', gop }, { extras: [httpTransport()] });
}

interface PageStats {
  frames: number;
  codec: string | null;
  codecReason: string;
  decodeErrors: number;
  firstPictureMs: number | null;
  state: string;
}

function stats(page: Page): Promise<PageStats> {
  return page.evaluate('window.framewireStats') as Promise<PageStats>;
}

/** RGB at the centre of each colour bar (top band); as source text, see viewer-browser.test.ts. */
const SAMPLE_BARS = `(() => {
  const c = document.getElementById('video');
  const ctx = c.getContext('2d');
  const n = ${BAR_COLOURS.length};
  const bars = [];
  for (let i = 0; i < n; i++) {
    const d = ctx.getImageData(Math.floor(((i + 0.5) * c.width) / n), Math.floor(c.height / 12), 1, 1).data;
    bars.push([d[0], d[1], d[2]]);
  }
  return bars;
})()`;

async function assertBars(page: Page, what: string): Promise<void> {
  const bars = (await page.evaluate(SAMPLE_BARS)) as [number, number, number][];
  bars.forEach((got, i) => {
    const want = BAR_COLOURS[i]!;
    assert.ok(got.every((v, k) => Math.abs(v - want[k]!) <= 30), `${what}, bar ${i}: got rgb(${got.join(',')}), want rgb(${want.join(',')}) ±30`);
  });
}

async function supportsH264(browser: Browser, url: string): Promise<boolean> {
  const page = await browser.newPage();
  try {
    await page.goto(`${url}?codec=jpeg`);
    return (await page.evaluate(
      `typeof VideoDecoder === 'function' && VideoDecoder.isConfigSupported({ codec: 'avc1.42E01E' }).then((r) => r.supported === true)`,
    )) as boolean;
  } finally {
    await page.close();
  }
}

test('the viewer page decodes H.264 with WebCodecs in Chromium', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, CHROMIUM, ['--version'])) return;
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
  // A long GOP, so that the second page surely joins between keyframes.
  const server = await startHttp(4);
  const url = `http://127.0.0.1:${server.extras[0]!.port}/`;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    if (!(await supportsH264(browser, url))) {
      if (process.env['CI'] === 'true') assert.fail('this Chromium cannot decode H.264 with WebCodecs');
      t.skip('this Chromium cannot decode H.264 with WebCodecs');
      return;
    }
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);

    await t.test('the overlay says H.264 and the decoded canvas shows the bars', async () => {
      await page.waitForFunction(() => window.framewireStats?.codec === 'h264' && window.framewireStats.frames > 10, null, { timeout: TIMEOUT });
      assert.equal(await page.textContent('#o-codec'), 'H.264');
      assert.equal(await page.isVisible('#o-why'), false);
      await assertBars(page, 'H.264');
      await page.waitForFunction(() => Number(document.getElementById('o-kbps')!.textContent) > 0, null, { timeout: TIMEOUT });
    });

    await t.test('a page joining mid-GOP shows a picture soon', async () => {
      const late = await browser!.newPage();
      try {
        await late.goto(url);
        await late.waitForFunction(() => window.framewireStats?.firstPictureMs !== null && window.framewireStats?.firstPictureMs !== undefined, null, {
          timeout: TIMEOUT,
        });
        const s = await stats(late);
        t.diagnostic(`first picture ${s.firstPictureMs!.toFixed(0)} ms after ACCEPT (GOP 4 s)`);
        assert.equal(s.codec, 'h264');
        // Without the catch-up burst it would wait for the next keyframe, up to the 4 s GOP.
        assert.ok(s.firstPictureMs! < 1500, `first picture after ${s.firstPictureMs} ms`);
        await assertBars(late, 'joined mid-GOP');
        assert.equal(s.decodeErrors, 0);
      } finally {
        await late.close();
      }
    });

    await t.test('a throttled, stalled page shows no decode errors', async () => {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 6 });
      try {
        // Stall the main thread a few times: frames pile up in the socket and the decoder meanwhile.
        for (let i = 0; i < 3; i++) await page.evaluate(`(() => { const end = performance.now() + 700; while (performance.now() < end); })()`);
        const f0 = (await stats(page)).frames;
        await page.waitForFunction((n) => window.framewireStats.frames > n + 10, f0, { timeout: TIMEOUT });
      } finally {
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
      }
      const f1 = (await stats(page)).frames;
      await page.waitForFunction((n) => window.framewireStats.frames > n + 10, f1, { timeout: TIMEOUT });
      const s = await stats(page);
      assert.equal(s.decodeErrors, 0);
      assert.equal(s.state, 'streaming');
      await assertBars(page, 'after throttling');
    });

    await t.test('?codec=jpeg falls back to JPEG and says why', async () => {
      const j = await browser!.newPage();
      try {
        await j.goto(`${url}?codec=jpeg`);
        await j.waitForFunction(() => window.framewireStats?.codec === 'jpeg' && window.framewireStats.frames > 3, null, { timeout: TIMEOUT });
        assert.equal(await j.textContent('#o-codec'), 'JPEG');
        assert.match((await j.textContent('#o-why')) ?? '', /\?codec=jpeg/);
        assert.equal(await j.isVisible('#o-why'), true);
        await assertBars(j, 'JPEG');
      } finally {
        await j.close();
      }
    });

    assert.deepEqual(pageErrors, [], 'no errors in the page');
  } finally {
    await browser?.close();
    await server.close();
  }
});
