/**
 * 100 library clients: every client is `connect()` from the client library, iterated with for await, as a
 * user's program would be (the fan-out scenarios use a leaner raw framewire/1 reader to reach 800 clients).
 */
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { framewireRun, HD } from './common.js';

export const library: Scenario = {
  name: 'library',
  async run(ctx: BenchContext): Promise<Section> {
    const n = ctx.smoke ? 10 : 100;
    const rows: string[][] = [];
    try {
      const r = await framewireRun(ctx, `fw-lib:${n}`, { ...HD }, { mode: 'lib', clients: n, threshold: 29 });
      rows.push([String(n), `${r.connected}/${n}`, r.fpsMin.toFixed(1), r.fpsP5.toFixed(1), r.fpsMedian.toFixed(1), String(r.atLeast), r.serverCpuPct.toFixed(0), r.serverRssMb.toFixed(0), r.loadgenCpuPct.toFixed(0)]);
      ctx.targets.push({ target: `${n} library clients at 1280×720@30 each get ≥ 29 fps`, value: `${r.atLeast} of ${n} (min ${r.fpsMin.toFixed(1)}, median ${r.fpsMedian.toFixed(1)})`, met: r.atLeast === n });
    } catch (e) {
      rows.push([String(n), `failed: ${errorText(e)}`, '', '', '', '', '', '', '']);
    }
    return {
      title: '2b. Library clients: connect() + for await, 1280×720@30 q80',
      tables: [{ headers: ['clients', 'connected', 'fps min', 'fps p5', 'fps median', '≥ 29 fps', 'server CPU %', 'server RSS MB', 'clients CPU %'], rows }],
      notes: ['All clients in one load-generator process; each is the library client, acknowledging frames on arrival and keeping the newest for the loop.'],
    };
  },
};
