/**
 * 2c/2d. H.264 in Chromium: the viewer page (src/web) decoding with WebCodecs, opened with `?trace`
 * (src/web/decode-trace.ts), against a framewire server process serving the 720p test pattern.
 *  - latency-h264: capture → VideoDecoder output, on the server's clock; beside it the server's encode time
 *    and the browser's decode time; the same beside 100 H.264 native-reader clients; and the bitrate the page
 *    receives, H.264 against JPEG q80.
 *  - join-h264: connect → first decoded picture when joining mid-GOP (the catch-up burst), against the next
 *    keyframe a viewer without the burst would have had to wait for.
 */
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DecodedPicture } from '../../src/web/decode-trace.js';
import { LAUNCH } from '../../test/helpers/browser.js';
import { errorText, f1, ratio, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { lines, nextEvent, type LoadgenResult } from '../lib/load.js';
import { nativeReader } from '../lib/native-reader.js';
import { sleep, spawnTracked, stopProcess } from '../lib/procs.js';
import { startFramewire, type RunningProc } from '../lib/servers.js';
import { percentile } from '../lib/stats.js';
import { HD } from './common.js';

/** The server's defaults, said so the report does not depend on them silently. */
const GOP_S = 2;
const BITRATE_KBPS = 2000;
const OTHERS = 100;
const TIMEOUT_MS = 30_000;

interface Browsing {
  browser: Browser;
  url: string;
  srv: RunningProc;
}

async function withBrowser<T>(ctx: BenchContext, fn: (b: Browsing) => Promise<T>): Promise<T> {
  if (!ctx.tools.chromium.ok) throw new Error(`Chromium missing: ${ctx.tools.chromium.install}`);
  const srv = await startFramewire({ ...HD, http: true, serveArgs: ['--codec', 'both', '--bitrate', String(BITRATE_KBPS), '--gop', String(GOP_S)] });
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch(LAUNCH);
    return await fn({ browser, url: `http://127.0.0.1:${srv.httpPort!}/`, srv });
  } finally {
    await browser?.close();
    await srv.stop();
  }
}

/** A viewer page streaming: H.264 (traced) unless `jpeg`. */
async function openViewer(b: Browsing, codec: 'h264' | 'jpeg'): Promise<Page> {
  const page = await b.browser.newPage({ viewport: { width: 1320, height: 860 } });
  await page.goto(`${b.url}?${codec === 'jpeg' ? 'codec=jpeg' : 'trace'}`);
  await page.waitForFunction((c) => window.framewireStats?.codec === c && window.framewireStats.frames > 0, codec, { timeout: TIMEOUT_MS });
  if (codec === 'h264' && !(await page.evaluate(() => window.framewireTrace !== undefined))) throw new Error('the page keeps no trace (?trace)');
  return page;
}

const takePictures = (page: Page): Promise<DecodedPicture[]> => page.evaluate(() => window.framewireTrace!.take());
const receivedBytes = (page: Page): Promise<number> => page.evaluate(() => window.framewireStats.receivedBytes);

/** framewire_encode_seconds: for H.264 the hub's capture → access unit out of the encoder, per frame. */
async function encodeTotals(httpPort: number): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const num = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: num('framewire_encode_seconds_sum'), count: num('framewire_encode_seconds_count') };
}

interface LatencyRun {
  n: number;
  p50: number;
  p99: number;
  decodeP50: number;
  decodeP99: number;
  /** capture → the FRAME in the page, before decode() (encode and delivery), p50. */
  receiveP50: number;
  /** Mean over the window, ms. */
  encodeMs: number;
  kbps: number;
  fps: number;
  decodeErrors: number;
}

/** Warm up, then trace one window: latency of every shown picture, decode time, encode time, bytes. */
async function measureLatency(ctx: BenchContext, b: Browsing, page: Page): Promise<LatencyRun> {
  await sleep(ctx.warmupS * 1000);
  await takePictures(page);
  const e0 = await encodeTotals(b.srv.httpPort!);
  const bytes0 = await receivedBytes(page);
  const t0 = performance.now();
  await sleep(ctx.durationS * 1000);
  const pics = await takePictures(page);
  const windowS = (performance.now() - t0) / 1000;
  const bytes1 = await receivedBytes(page);
  const e1 = await encodeTotals(b.srv.httpPort!);
  const shown = pics.filter((p) => !p.catchUp && p.offsetUs !== null);
  const lat = shown.map((p) => (p.outputUs + p.offsetUs! - p.captureUs) / 1000).sort((x, y) => x - y);
  const dec = shown.map((p) => (p.outputUs - p.decodeUs) / 1000).sort((x, y) => x - y);
  const rcv = shown.map((p) => (p.receivedUs + p.offsetUs! - p.captureUs) / 1000).sort((x, y) => x - y);
  if (lat.length === 0) throw new Error('no decoded pictures with a clock offset in the window');
  return {
    n: lat.length,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    decodeP50: percentile(dec, 50),
    decodeP99: percentile(dec, 99),
    receiveP50: percentile(rcv, 50),
    encodeMs: ((e1.sum - e0.sum) / (e1.count - e0.count)) * 1000,
    kbps: ((bytes1 - bytes0) * 8) / windowS / 1000,
    fps: shown.length / windowS,
    decodeErrors: await page.evaluate(() => window.framewireStats.decodeErrors),
  };
}

/** n native-reader clients offering H.264, streaming for coverS or until stopped; resolves once all stream. */
async function startOthers(ctx: BenchContext, port: number, n: number, coverS = ctx.warmupS + ctx.durationS + 10): Promise<{ proc: ChildProcess; result: () => Promise<LoadgenResult> }> {
  if (!ctx.tools.reader.ok) throw new Error(`native reader missing: ${ctx.tools.reader.detail}`);
  const args = ['--mode', 'fw', '--codec', 'h264', '--port', String(port), '--clients', String(n), '--warmup', '0', '--duration', String(coverS), '--wait-start', '--max-seconds', String(Math.ceil(coverS + 120))];
  const proc = spawnTracked(nativeReader(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const it = lines(proc);
  try {
    const ready = await nextEvent(it, 'ready', 130_000);
    if (Number(ready.connected) !== n) throw new Error(`${String(ready.connected)} of ${n} H.264 clients connected`);
    proc.stdin!.write('start\n');
    await nextEvent(it, 'measure-start', 30_000);
  } catch (e) {
    await stopProcess(proc, 500, 'SIGKILL');
    throw e;
  }
  return { proc, result: async () => (await nextEvent(it, 'result', (coverS + 30) * 1000)) as unknown as LoadgenResult };
}

function latencyRow(what: string, others: string, r: LatencyRun | string): string[] {
  if (typeof r === 'string') return [what, others, r, '', '', '', '', '', '', '', '', ''];
  const budget = r.encodeMs + r.decodeP50 + 5;
  return [what, others, f1(r.p50, 1), f1(r.p99, 1), String(r.n), f1(r.receiveP50, 1), f1(r.encodeMs, 1), f1(r.decodeP50, 1), f1(r.decodeP99, 1), f1(budget, 1), f1(r.fps, 1), String(r.decodeErrors)];
}

export const latencyH264: Scenario = {
  name: 'latency-h264',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    const rates: string[][] = [];
    const notes: string[] = [];
    const viewer = 'Chromium viewer page (WebCodecs)';
    // Smoke: the run proves the path works; fewer others keep it short.
    const others = ctx.smoke ? 10 : OTHERS;
    await withBrowser(ctx, async (b) => {
      let alone: LatencyRun | string;
      let h264Page: Page | null = null;
      try {
        h264Page = await openViewer(b, 'h264');
        alone = await measureLatency(ctx, b, h264Page);
      } catch (e) {
        alone = `failed: ${errorText(e)}`;
      } finally {
        await h264Page?.close();
      }
      rows.push(latencyRow(viewer, '0', alone));
      if (typeof alone !== 'string') {
        const budget = alone.encodeMs + alone.decodeP50 + 5;
        ctx.targets.push({ target: 'H.264 in Chromium: latency p50 ≤ encode + decode + 5 ms (1 viewer, 720p)', value: `p50 ${alone.p50.toFixed(1)} ms; encode ${alone.encodeMs.toFixed(1)} + decode ${alone.decodeP50.toFixed(1)} + 5 = ${budget.toFixed(1)} ms`, met: alone.p50 <= budget });
      }

      // The bitrate of each codec as the page receives it, one page at a time.
      let jpegKbps: number | string;
      let jpegPage: Page | null = null;
      try {
        jpegPage = await openViewer(b, 'jpeg');
        await sleep(ctx.warmupS * 1000);
        const b0 = await receivedBytes(jpegPage);
        const t0 = performance.now();
        await sleep(ctx.durationS * 1000);
        jpegKbps = (((await receivedBytes(jpegPage)) - b0) * 8) / ((performance.now() - t0) / 1000) / 1000;
      } catch (e) {
        jpegKbps = `failed: ${errorText(e)}`;
      } finally {
        await jpegPage?.close();
      }
      const h264Kbps = typeof alone === 'string' ? null : alone.kbps;
      const jk = typeof jpegKbps === 'number' ? jpegKbps : null;
      rates.push([`H.264, ${BITRATE_KBPS} kbit/s target, GOP ${GOP_S} s`, f1(h264Kbps, 0), ratio(h264Kbps, jk)]);
      rates.push(['JPEG, quality 80', typeof jpegKbps === 'number' ? f1(jpegKbps, 0) : jpegKbps, '1.00×']);

      let beside: LatencyRun | string;
      let load: Awaited<ReturnType<typeof startOthers>> | null = null;
      let page: Page | null = null;
      try {
        load = await startOthers(ctx, b.srv.port, others);
        // The page joins once the others stream, as the latency scenario's viewer does.
        page = await openViewer(b, 'h264');
        beside = await measureLatency(ctx, b, page);
        const r = await load.result();
        notes.push(`Beside ${others} others: they received ${r.fps.median.toFixed(1)} fps median (min ${r.fps.min.toFixed(1)}), ${r.connected} connected, ${r.failedAtEnd} failed.`);
      } catch (e) {
        beside = `failed: ${errorText(e)}`;
      } finally {
        await page?.close();
        await stopProcess(load?.proc, 2000, 'SIGTERM');
      }
      rows.push(latencyRow(viewer, `${others} H.264 (native reader)`, beside));
      if (typeof beside !== 'string' && others >= OTHERS) {
        ctx.targets.push({ target: `H.264 in Chromium: latency p99 ≤ 50 ms beside ${others} H.264 viewers (720p)`, value: `p50 ${beside.p50.toFixed(1)} ms, p99 ${beside.p99.toFixed(1)} ms`, met: beside.p99 <= 50 });
      }
    });
    return {
      title: `2c. H.264 in Chromium: capture → decoded picture, 1280×720@30, ${BITRATE_KBPS} kbit/s, GOP ${GOP_S} s`,
      tables: [
        {
          headers: ['viewer', 'other clients', 'p50 ms', 'p99 ms', 'samples', 'capture → in page p50 ms', 'encode ms (server, mean)', 'decode ms p50', 'decode ms p99', 'encode + decode p50 + 5 ms', 'pictures / s', 'decode errors'],
          rows,
        },
        { caption: 'bitrate the viewer page receives (FRAME payload bytes), 1280×720@30 test pattern', headers: ['codec', 'kbit/s', 'H.264 / JPEG'], rows: rates },
      ],
      notes: [
        `Decoding: Debian's Chromium (${LAUNCH.executablePath}, headless through playwright-core, ${LAUNCH.args.join(' ')}) opens the viewer page (src/web) over /ws; it decodes with WebCodecs VideoDecoder (software, no GPU). The page runs with \`?trace\` (src/web/decode-trace.ts), which records for every picture the time of decode() and of the decoder's output callback.`,
        "Clock: latency = output time + the page's clock offset − FRAME.captureUs. The offset (server clock − page clock) is the page's own estimate from PING/PONG (src/client/clock-offset.ts, the best round trip), taken at output time, so latency is on the server's clock; capture time is stamped when the test pattern has drawn the frame. Catch-up pictures (not shown) are left out. The picture is painted at the next display refresh after that (up to one refresh later), which is not counted.",
        "Encode: the server's framewire_encode_seconds (/metrics) over the window, mean; for H.264 the hub records capture → access unit out of the ffmpeg encoder (frame-in → AU-out, queueing in the encoder included). Decode: output callback − decode() call, per picture, in the page. The column capture → in page is when the FRAME reached the page (its WebSocket message), on the server's clock: encode and delivery, before decode.",
        `Other clients: one native-reader process (bench/native-reader/reader.c --codec h264) with ${others} framewire/1 TCP connections offering H.264, each granted the same H.264 profile, acknowledging every FRAME; the page connects once they all stream.`,
        'Bitrate: FRAME payload bytes the page received over the window (framewireStats.receivedBytes), one page at a time on the same server: the H.264 page, then a page opened with ?codec=jpeg (quality 80, the server default).',
        ...notes,
      ],
    };
  },
};

interface Join {
  /** connect (the viewer starts its WebSocket) → first shown picture out of the decoder, ms. */
  catchUpMs: number;
  /** connect → that picture painted on the page's canvas, ms. */
  paintMs: number;
  /** connect → the first keyframe after the burst out of the decoder: what a viewer without the burst waits. */
  keyframeMs: number;
  burst: number;
  /** connect → ACCEPT, ms. */
  acceptMs: number;
}

/** The join the page's trace holds once it has decoded past the next keyframe; null before. */
function readJoin(page: Page): Promise<Join | null> {
  return page.evaluate(() => {
    const t = window.framewireTrace;
    if (!t || t.connectUs === null || t.acceptUs === null || t.firstPaintUs === null) return null;
    const pics = t.pictures;
    // The burst: catch-up pictures, then one shown (its newest); live frames follow.
    const last = pics.findIndex((p) => !p.catchUp);
    if (last < 0) return null;
    const kf = pics.findIndex((p, i) => i > last && p.keyframe);
    if (kf < 0) return null;
    // No named functions in here: the page does not have the bundler's helpers for them.
    const c = t.connectUs;
    return { catchUpMs: (pics[last]!.outputUs - c) / 1000, paintMs: (t.firstPaintUs - c) / 1000, keyframeMs: (pics[kf]!.outputUs - c) / 1000, burst: last + 1, acceptMs: (t.acceptUs - c) / 1000 };
  });
}

async function awaitJoin(page: Page): Promise<Join> {
  await page.waitForFunction(
    () => {
      const pics = window.framewireTrace?.pictures ?? [];
      const last = pics.findIndex((p) => !p.catchUp);
      return last >= 0 && pics.some((p, i) => i > last && p.keyframe) && window.framewireTrace!.firstPaintUs !== null;
    },
    null,
    { timeout: GOP_S * 1000 + TIMEOUT_MS },
  );
  const j = await readJoin(page);
  if (!j) throw new Error('no join in the trace');
  const errors = await page.evaluate(() => window.framewireStats.decodeErrors);
  if (errors > 0) throw new Error(`${errors} decode errors after joining`);
  return j;
}

/** A new tab opening the viewer page: the join includes Chromium setting the tab up. */
async function joinNewTab(b: Browsing): Promise<Join> {
  const page = await b.browser.newPage({ viewport: { width: 1320, height: 860 } });
  try {
    await page.goto(`${b.url}?trace`);
    return await awaitJoin(page);
  } finally {
    await page.close();
  }
}

/** Disconnect an open page (its Disconnect button) and wait until it is. */
async function disconnectPage(page: Page): Promise<void> {
  await page.click('#connect');
  await page.waitForFunction(() => window.framewireStats.state === 'disconnected', null, { timeout: TIMEOUT_MS });
}

/** The Connect button of an open, disconnected page: the join alone. It is disconnected again after. */
async function joinOpenPage(page: Page): Promise<Join> {
  await page.evaluate(() => window.framewireTrace!.take());
  await page.click('#connect');
  try {
    return await awaitJoin(page);
  } finally {
    await disconnectPage(page);
  }
}

export const joinH264: Scenario = {
  name: 'join-h264',
  async run(ctx: BenchContext): Promise<Section> {
    const ways = { tab: [] as Join[], page: [] as Join[] };
    const failures: string[] = [];
    // Smoke: one join of each kind proves the path; its figure means nothing.
    const n = ctx.smoke ? 1 : 12;
    await withBrowser(ctx, async (b) => {
      // The encoder runs while a viewer has its profile: one native-reader client keeps it (and its GOP
      // cache) going, costing the machine next to nothing.
      // Cover: each join waits up to a GOP, a tab takes a few seconds at most.
      const keeper = await startOthers(ctx, b.srv.port, 1, ctx.warmupS + n * 2 * (GOP_S + 8) + 10);
      let open: Page | null = null;
      try {
        open = await openViewer(b, 'h264');
        // Disconnected between its own joins, so that it decodes nothing while a new tab joins.
        await disconnectPage(open);
        await sleep(ctx.warmupS * 1000);
        for (let i = 0; i < n; i++) {
          for (const [way, join] of [['tab', () => joinNewTab(b)], ['page', () => joinOpenPage(open!)]] as const) {
            // A random phase of the GOP for every join.
            await sleep(Math.random() * GOP_S * 1000);
            try {
              ways[way].push(await join());
            } catch (e) {
              failures.push(`${way}: ${errorText(e)}`);
            }
          }
        }
      } finally {
        await open?.close();
        await stopProcess(keeper.proc, 2000, 'SIGTERM');
      }
    });
    const sorted = (js: Join[], f: (j: Join) => number): number[] => js.map(f).sort((x, y) => x - y);
    const rows: string[][] = [];
    for (const [way, what] of [['tab', 'a new tab opening the page'], ['page', 'Connect in the open page']] as const) {
      const js = ways[way];
      if (js.length === 0) {
        rows.push([what, `no join measured${failures.length ? `: ${failures[0]}` : ''}`, '', '', '', '', '', '', '']);
        continue;
      }
      const c = sorted(js, (j) => j.catchUpMs);
      const p = sorted(js, (j) => j.paintMs);
      const k = sorted(js, (j) => j.keyframeMs);
      const a = sorted(js, (j) => j.acceptMs);
      const bursts = sorted(js, (j) => j.burst);
      const max = (xs: number[]): number => xs[xs.length - 1]!;
      rows.push([what, f1(percentile(c, 50), 0), f1(max(c), 0), f1(percentile(p, 50), 0), f1(max(p), 0), f1(percentile(k, 50), 0), f1(percentile(a, 50), 0), `${bursts[0]}–${max(bursts)} frames`, String(js.length)]);
      ctx.targets.push({
        target: `H.264 in Chromium: joining mid-GOP (${what}), first picture ≤ 150 ms after connect (every join)`,
        value: `p50 ${percentile(c, 50).toFixed(0)} ms, max ${max(c).toFixed(0)} ms over ${js.length} joins (painted: max ${max(p).toFixed(0)} ms; next keyframe: p50 ${percentile(k, 50).toFixed(0)} ms)`,
        met: max(c) <= 150,
      });
    }
    return {
      title: `2d. H.264 in Chromium: joining mid-GOP, 1280×720@30, GOP ${GOP_S} s`,
      tables: [
        {
          headers: ['join', 'first picture decoded p50 ms', 'max ms', 'painted p50 ms', 'max ms', 'next keyframe decoded p50 ms', 'connect → ACCEPT p50 ms', 'catch-up burst', 'joins'],
          rows,
        },
      ],
      notes: [
        `Two ways of joining, alternated, each at a random phase of the GOP (a random wait of 0–${GOP_S} s before it): a new Chromium tab opening the viewer page with ?trace (Chromium sets the tab up while the page connects), and the Connect button of a page already open (after its Disconnect). One native-reader client keeps the H.264 profile encoding meanwhile; no other page streams during a join (the open page is disconnected while a new tab joins). Time runs from the moment the viewer starts its WebSocket (the stream worker's clock, src/web/stream-worker.ts).`,
        '"first picture decoded": the first picture out of the decoder that is shown: the newest of the catch-up burst the server sends after ACCEPT (docs/protocol.md §4.2.1), after the worker has decoded the whole run since the last keyframe. "painted": that picture drawn on the page\'s canvas. "next keyframe decoded": in the same join, when the first keyframe after the burst came out of the decoder, which is when a viewer that takes no burst would first have had a picture (it would decode only that keyframe, the same work).',
        ...(failures.length ? [`${failures.length} join(s) failed: ${failures.slice(0, 3).join('; ')}`] : []),
      ],
    };
  },
};
