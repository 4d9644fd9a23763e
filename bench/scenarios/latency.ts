/** 2. capture-to-receive latency of one library client, alone and next to 100 / 400 other clients. */
import { errorText, f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import type { RunResult } from '../lib/load.js';
import { framewireRun, HD } from './common.js';

export const latency: Scenario = {
  name: 'latency',
  async run(ctx: BenchContext): Promise<Section> {
    const enc = ctx.encodeMs.get('1280x720') ?? null;
    const cases = ctx.smoke ? [0, 10] : [0, 100, 400];
    const rows: string[][] = [];
    for (const others of cases) {
      let r: RunResult | string;
      try {
        r = await framewireRun(ctx, `latency:${others}`, { ...HD }, { mode: 'fw', clients: 1 + others, latency: 'lib' });
      } catch (e) {
        r = `failed: ${errorText(e)}`;
      }
      if (typeof r === 'string' || !r.latency) {
        rows.push([String(others), typeof r === 'string' ? r : 'no latency samples', '', '', '', '', '', '']);
        continue;
      }
      const { p50, p99, n } = r.latency;
      rows.push([String(others), f1(p50, 2), f1(p99, 2), String(n), f1(enc, 2), enc === null ? '–' : f1(p50 - enc, 2), (p99 / p50).toFixed(2), r.serverCpuPct.toFixed(0)]);
      if (others === 0) {
        ctx.targets.push({ target: 'latency p50 ≤ encode + 1 ms (1 client, 720p)', value: `p50 ${p50.toFixed(2)} ms, encode ${f1(enc, 2)} ms`, met: enc === null ? null : p50 <= enc + 1 });
        ctx.targets.push({ target: 'latency p99 ≤ 2× p50 (1 client)', value: `p99 ${p99.toFixed(2)} ms = ${(p99 / p50).toFixed(2)}× p50`, met: p99 <= 2 * p50 });
      } else if (others >= 100) {
        ctx.targets.push({ target: `latency p99 ≤ 33 ms with ${others} other clients`, value: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`, met: p99 <= 33 });
      }
    }
    return {
      title: '2. Latency: capture → client receive, 1280×720@30 q80',
      tables: [{ headers: ['other clients', 'p50 ms', 'p99 ms', 'samples', 'encode ms (sect. 1)', 'p50 − encode ms', 'p99 / p50', 'server CPU %'], rows }],
      notes: [
        'The measured client is the library client (`connect()` from src/client), run inside the load generator; its `latencyMs` is now − captureUs corrected by the ping/pong clock offset (same machine: offset ≈ 0). Capture time is stamped when the test pattern has finished drawing the frame (as a camera stamps a frame when it hands it over), so latency is encode + send + receive.',
        "Why p50 − encode is about 1 ms: after the encode come the hand-off from the pool thread to the event loop, one loopback write and the client's read of an 84 KB frame. It measures 1.0–1.1 ms here, so the target of encode + 1 ms sits at the edge and flips with noise.",
        'The other clients are raw framewire/1 clients in the same and, from 300, a second load-generator process.',
      ],
    };
  },
};
