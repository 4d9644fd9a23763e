/** 5. one client, 1920×1080, as fast as the server goes (--fps 120 is the largest rate). */
import { errorText, f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { framewireRun } from './common.js';

export const throughput: Scenario = {
  name: 'throughput',
  async run(ctx: BenchContext): Promise<Section> {
    const enc = ctx.encodeMs.get('1920x1080') ?? null;
    try {
      const r = await framewireRun(ctx, 'throughput', { width: 1920, height: 1080, fps: 120, quality: 80 }, { mode: 'fw', clients: 1, latency: 'raw', threshold: 100 });
      ctx.targets.push({ target: '1080p single stream ≥ 100 fps', value: `${r.fpsMedian.toFixed(1)} fps`, met: r.fpsMedian >= 100 });
      return {
        title: '5. Throughput: one client, 1920×1080 q80, server --fps 120',
        tables: [
          {
            headers: ['fps achieved', 'MB/s', 'latency p50 ms', 'latency p99 ms', 'server CPU %', 'encode ms (sect. 1)', 'fps bound by two encodes in flight'],
            rows: [[f1(r.fpsMedian), f1(r.bytes / r.windowS / 1e6), f1(r.latency?.p50, 2), f1(r.latency?.p99, 2), r.serverCpuPct.toFixed(0), f1(enc, 2), enc ? f1(2000 / enc) : '–']],
          },
        ],
        notes: ['The hub runs at most two encodes of one profile at once (a frame arriving while both run is skipped), so one profile cannot exceed 2000 / encode-ms fps, and the test pattern is capped at 120 fps; the raw client acks every frame (window 2).'],
      };
    } catch (e) {
      ctx.targets.push({ target: '1080p single stream ≥ 100 fps', value: `failed: ${errorText(e)}`, met: null });
      return { title: '5. Throughput: one client, 1920×1080 q80, server --fps 120', tables: [], notes: [`failed: ${errorText(e)}`] };
    }
  },
};
