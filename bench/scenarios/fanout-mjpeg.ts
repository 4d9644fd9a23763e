/** 4. fan-out as MJPEG over HTTP (/stream.mjpg) vs the GStreamer reference. */
import http from 'node:http';
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { startFramewire } from '../lib/servers.js';
import { cpuTarget, FANOUT_HEADERS, fanoutRow, framewireRun, gstPair, HD, media720, pair, type Pair } from './common.js';

/** Does this tree serve /stream.mjpg? Start a server and ask (headers only). */
async function mjpegAvailable(): Promise<string | null> {
  let srv;
  try {
    srv = await startFramewire({ width: 320, height: 240, fps: 5, quality: 50, http: true });
  } catch (e) {
    return `server with --http-port failed: ${errorText(e)}`;
  }
  try {
    return await new Promise<string | null>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: srv.httpPort!, path: '/stream.mjpg', method: 'HEAD', timeout: 3000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 && /multipart/i.test(String(res.headers['content-type'])) ? null : `GET /stream.mjpg → ${res.statusCode}`);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve(`no HTTP transport: ${e.message}`));
      req.end();
    });
  } finally {
    await srv.stop();
  }
}

export const fanoutMjpeg: Scenario = {
  name: 'fanout-mjpeg',
  async run(ctx: BenchContext): Promise<Section> {
    const title = '4. Fan-out as MJPEG over HTTP (/stream.mjpg), 1280×720@30 q80';
    const why = await mjpegAvailable();
    if (why) {
      ctx.targets.push({ target: '≥ 300 MJPEG clients at ≥ 29.5 fps', value: 'not available yet', met: null });
      return { title, tables: [], notes: [`not available yet: ${why}`] };
    }
    const rows: string[][] = [];
    const m = ctx.tools.ffmpeg.ok ? await media720(ctx) : null;
    for (const n of ctx.smoke ? [20] : [100, 300, 400]) {
      const ref = await gstPair(ctx, n);
      const fw = await pair((reader) => framewireRun(ctx, `fw-mjpeg:${n}`, { ...HD, http: true }, { mode: 'mjpeg', clients: n, reader }));
      rows.push(fanoutRow(n, 'framewire /stream.mjpg, test pattern (encodes)', fw, ref));
      const pt: Pair = m?.avi
        ? await pair((reader) => framewireRun(ctx, `fw-mjpeg-file:${n}`, { ...HD, http: true, source: `file:${m.avi}` }, { mode: 'mjpeg', clients: n, reader }))
        : { native: 'not available (ffmpeg missing)', node: 'not available (ffmpeg missing)' };
      rows.push(fanoutRow(n, 'framewire /stream.mjpg, file source (passthrough)', pt, ref));
      rows.push(fanoutRow(n, 'GStreamer tcpserversink (reference)', ref, ref));
      if (n === 300 || n === 400) cpuTarget(ctx, 'MJPEG', n, pt, ref, 1.0);
      const f = fw.native;
      if (typeof f !== 'string' && n >= 300) {
        ctx.targets.push({ target: `≥ 300 MJPEG clients at ≥ 29.5 fps (run with ${n}, native reader)`, value: `${f.atLeast} of ${n} (median ${f.fpsMedian.toFixed(1)}, p5 ${f.fpsP5.toFixed(1)})`, met: f.atLeast >= 300 });
        ctx.targets.push({ target: `server RSS ≤ 120 MB at ≥ 300 clients (MJPEG, ${n})`, value: `${f.serverRssMb.toFixed(0)} MB`, met: f.serverRssMb <= 120 });
      }
    }
    return {
      title,
      tables: [{ headers: FANOUT_HEADERS, rows }],
      notes: [
        'Clients: `GET /stream.mjpg` on one socket each, parsing the multipart body (Content-Length per part) and reading every byte; HTTP has no acks, a slow reader is paced by TCP back-pressure (one frame waiting per client, newer ones replace it). Columns as in section 3.',
        'The GStreamer reference is the same run as in section 3 (its multipart has no HTTP response header, otherwise the same bytes per frame).',
      ],
    };
  },
};
