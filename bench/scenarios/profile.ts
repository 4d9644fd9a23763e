/** Where the server's CPU goes: node --cpu-prof on the server during a TCP fan-out, self time by function. */
import fs from 'node:fs';
import path from 'node:path';
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { runLoad } from '../lib/load.js';
import { startFramewire } from '../lib/servers.js';
import { HD } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export function topFunctions(prof: CpuProfile, n: number): { name: string; where: string; pct: number }[] {
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const counts = new Map<number, number>();
  for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const agg = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  for (const [id, hits] of counts) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') continue;
    total += hits;
    const where = cf.url ? `${cf.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/').replace(/^node:/, 'node:')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}@${where}`;
    const a = agg.get(key) ?? { name: cf.functionName || '(anonymous)', where, hits: 0 };
    a.hits += hits;
    agg.set(key, a);
  }
  return [...agg.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, n)
    .map((a) => ({ name: a.name, where: a.where, pct: (100 * a.hits) / Math.max(1, total) }));
}

export const profile: Scenario = {
  name: 'profile',
  async run(ctx: BenchContext): Promise<Section> {
    const clients = ctx.smoke ? 20 : 400;
    const dir = fs.mkdtempSync(path.join(ctx.tmp, 'prof-'));
    const title = `Profile: framewire server CPU by function (node --cpu-prof, ${clients} TCP clients, 1280×720@30)`;
    try {
      ctx.log(`profile: ${clients} clients with --cpu-prof`);
      const srv = await startFramewire({ ...HD, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
      try {
        await runLoad(srv.pid, { mode: 'fw', port: srv.port, clients, warmupS: ctx.warmupS, durationS: ctx.durationS });
      } finally {
        await srv.stop();
      }
      const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('the server wrote no .cpuprofile');
      const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
      const top = topFunctions(prof, 15);
      return {
        title,
        tables: [{ headers: ['function', 'where', '% of busy main-thread samples (self)'], rows: top.map((t) => [t.name, t.where, t.pct.toFixed(1)]) }],
        notes: [
          'Self time on the main JS thread over the whole server life (start-up, warm-up, measurement, shutdown), idle excluded. JPEG encoding runs on libuv worker threads and does not appear here; "(program)" and "(garbage collector)" are V8 itself; `writeBuffer` is the socket write (a direct write through fs.writeSync, or through the stream), its time mostly spent in the kernel (docs/fanout-cpu.md).',
        ],
      };
    } catch (e) {
      return { title, tables: [], notes: [`failed: ${errorText(e)}`] };
    }
  },
};
