/** 6. the tutorial's Python server (run unmodified by its harness) vs framewire, 640×480. */
import { errorText, f1, memo, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { runLoad, type RunResult } from '../lib/load.js';
import { makeMjpeg } from '../lib/media.js';
import { startFramewire, startTutorial } from '../lib/servers.js';

const VGA = { width: 640, height: 480 };

function row(server: string, client: string, r: RunResult | string): string[] {
  if (typeof r === 'string') return [server, client, r, '', '', '', '', ''];
  return [server, client, f1(r.fpsMedian), f1(r.latency?.p50, 2), f1(r.latency?.p99, 2), r.serverCpuPct.toFixed(0), r.serverRssMb.toFixed(0), r.frames ? `${(r.bytes / r.frames / 1024).toFixed(1)} KiB` : '–'];
}

export const tutorial: Scenario = {
  name: 'tutorial',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    const notes: string[] = [];
    const load = { warmupS: ctx.warmupS, durationS: ctx.durationS };
    const seedReq = { width: VGA.width, height: VGA.height, fps: 15 };
    if (!ctx.tools.tutorial.ok || !ctx.tools.cv2.ok || !ctx.tools.ffmpeg.ok) {
      rows.push(row('tutorial server.py', 'tutorial format', `not available (${[ctx.tools.tutorial, ctx.tools.cv2, ctx.tools.ffmpeg].filter((t) => !t.ok).map((t) => t.name).join(', ')} missing)`));
    } else {
      try {
        const m = await memo(ctx, 'media480', () => makeMjpeg(ctx.tmp, VGA.width, VGA.height, 30, 80, ctx.smoke ? 60 : 150));
        const srv = await startTutorial(m.avi ?? m.mjpeg, 60 + 2 * (ctx.warmupS + ctx.durationS));
        try {
          ctx.log('tutorial: measuring the tutorial server with 1 tutorial-format client');
          const r = await runLoad(srv.pid, { mode: 'seed', port: srv.port, clients: 1, request: seedReq, ...load });
          rows.push(row('tutorial server.py (Python, OpenCV)', 'tutorial format (fps 15)', r));
        } finally {
          await srv.stop();
        }
      } catch (e) {
        rows.push(row('tutorial server.py', 'tutorial format', `failed: ${errorText(e)}`));
      }
      rows.push(row('tutorial server.py', 'framewire/1', 'cannot: the tutorial speaks only its own format'));
    }
    try {
      const srv = await startFramewire({ ...VGA, fps: 30, quality: 80 });
      try {
        ctx.log('tutorial: measuring framewire with 1 tutorial-format + 1 framewire client');
        const [seed, fw] = await Promise.all([
          runLoad(srv.pid, { mode: 'seed', port: srv.port, clients: 1, request: seedReq, ...load }),
          runLoad(srv.pid, { mode: 'fw', port: srv.port, clients: 1, latency: 'lib', ...load }),
        ]);
        rows.push(row('framewire (test pattern)', 'tutorial format (fps 15)', seed));
        rows.push(row('framewire (test pattern)', 'framewire/1 (30 fps, library client)', fw));
      } finally {
        await srv.stop();
      }
    } catch (e) {
      rows.push(row('framewire', 'both', `failed: ${errorText(e)}`));
    }
    notes.push(
      'The tutorial server is test/tutorial/server.py, unmodified, run by test/tutorial/run_tutorial.py with a 640×480 video of the same test pattern in place of the camera. It sleeps 0.1 s per frame (so ≤ 10 fps), opens a capture per client and uses the requested fps (15) as its JPEG quality.',
      'Latency: the tutorial format carries no capture time, so only the framewire/1 client reports it. Server CPU/RSS of framewire are for the whole server (both clients); the two rows are measured over the same window.',
    );
    return {
      title: "6. The tutorial's server vs framewire, 640×480",
      tables: [{ headers: ['server', 'client', 'fps', 'latency p50 ms', 'latency p99 ms', 'server CPU %', 'server RSS MB', 'bytes / frame'], rows }],
      notes,
    };
  },
};
