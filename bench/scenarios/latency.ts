/** 2. capture-to-receive latency of one viewer, alone and beside 100 / 400 other clients. */
import { errorText, f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import type { LoadSpec, RunResult } from '../lib/load.js';
import { framewireRun, HD } from './common.js';

interface Case {
  others: number;
  mode: 'fw' | 'seed';
  /** native: a framewire/1 native reader beside native-reader load; lib: the library client beside the Node load generator. */
  viewer: 'native' | 'lib';
}

const LABEL = { native: 'native reader (framewire/1)', lib: 'library client, Node load generator' };

export const latency: Scenario = {
  name: 'latency',
  async run(ctx: BenchContext): Promise<Section> {
    const enc = ctx.encodeMs.get('1280x720') ?? null;
    const cases: Case[] = ctx.smoke
      ? [
          { others: 0, mode: 'fw', viewer: 'native' },
          { others: 10, mode: 'seed', viewer: 'native' },
          { others: 10, mode: 'fw', viewer: 'lib' },
        ]
      : [
          { others: 0, mode: 'fw', viewer: 'native' },
          { others: 100, mode: 'fw', viewer: 'native' },
          { others: 400, mode: 'fw', viewer: 'native' },
          { others: 400, mode: 'seed', viewer: 'native' },
          { others: 0, mode: 'fw', viewer: 'lib' },
          { others: 100, mode: 'fw', viewer: 'lib' },
          { others: 400, mode: 'fw', viewer: 'lib' },
        ];
    const rows: string[][] = [];
    for (const c of cases) {
      const load: Omit<LoadSpec, 'port' | 'warmupS' | 'durationS'> =
        c.viewer === 'native'
          ? { mode: c.mode, clients: 1 + c.others, latency: 'raw', viewer: true, reader: 'native', request: c.mode === 'seed' ? { width: HD.width, height: HD.height, fps: HD.fps } : undefined }
          : { mode: 'fw', clients: 1 + c.others, latency: 'lib', viewer: true };
      const othersText = c.others === 0 ? '0' : `${c.others} ${c.mode === 'seed' ? 'tutorial-format' : 'framewire/1'}`;
      let r: RunResult | string;
      try {
        r = await framewireRun(ctx, `latency:${c.viewer}:${c.mode}:${c.others}`, { ...HD }, load);
      } catch (e) {
        r = `failed: ${errorText(e)}`;
      }
      if (typeof r === 'string' || !r.latency) {
        rows.push([LABEL[c.viewer], othersText, typeof r === 'string' ? r : 'no latency samples', '', '', '', '', '', '']);
        continue;
      }
      const { p50, p99, n } = r.latency;
      rows.push([LABEL[c.viewer], othersText, f1(p50, 2), f1(p99, 2), String(n), f1(enc, 2), enc === null ? '–' : f1(p50 - enc, 2), (p99 / p50).toFixed(2), r.serverCpuPct.toFixed(0)]);
      if (c.viewer !== 'native') continue;
      if (c.others === 0) {
        ctx.targets.push({ target: 'latency p50 ≤ encode + 1 ms (1 client, 720p, native reader)', value: `p50 ${p50.toFixed(2)} ms, encode ${f1(enc, 2)} ms`, met: enc === null ? null : p50 <= enc + 1 });
        ctx.targets.push({ target: 'latency p99 ≤ 2× p50 (1 client, native reader)', value: `p99 ${p99.toFixed(2)} ms = ${(p99 / p50).toFixed(2)}× p50`, met: p99 <= 2 * p50 });
      } else if (c.others >= 100) {
        const limit = c.others >= 400 ? 26 : 33;
        ctx.targets.push({ target: `latency p99 ≤ ${limit} ms beside ${othersText} clients (native reader)`, value: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`, met: p99 <= limit });
      }
    }
    return {
      title: '2. Latency: capture → client receive, 1280×720@30 q80',
      tables: [{ headers: ['viewer', 'other clients', 'p50 ms', 'p99 ms', 'samples', 'encode ms (sect. 1)', 'p50 − encode ms', 'p99 / p50', 'server CPU %'], rows }],
      notes: [
        'The viewer is one framewire/1 client in a process of its own, beside the other clients\' process, so its readings do not wait for a reader to get round to its socket among hundreds; it connects once the others stream, so every frame reaches it after theirs (the far end of the fan-out, where a viewer waits longest). Native reader: latency = now − FRAME.captureUs (CLOCK_REALTIME, the server\'s clock on the same machine), the other clients native-reader clients (framewire/1, or the tutorial format on the same port). Library client: `connect()` from src/client in a Node load generator, its `latencyMs` corrected by the ping/pong clock offset (same machine: ≈ 0), the other clients Node load-generator framewire/1 clients.',
        'Capture time is stamped when the test pattern has finished drawing the frame (as a camera stamps a frame when it hands it over), so latency is encode + send + receive.',
        "p50 − encode is the hand-off from the pool thread to the event loop, the loopback write and the client's read of an 84 KB frame; the target of encode + 1 ms sits at its edge and flips with noise.",
      ],
    };
  },
};
