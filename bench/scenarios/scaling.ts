/** 7. CPU per client-frame and RSS against the number of clients (framewire TCP), plotted as SVG. */
import fs from 'node:fs';
import path from 'node:path';
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import type { RunResult } from '../lib/load.js';
import { scalingSvg } from '../lib/svg.js';
import { framewireRun, HD } from './common.js';

export const SCALING_SVG = 'bench-scaling.svg';

export const scaling: Scenario = {
  name: 'scaling',
  async run(ctx: BenchContext): Promise<Section> {
    const xs = ctx.smoke ? [1, 5, 20] : [1, 10, 100, 400, 800];
    const rows: string[][] = [];
    const fw: { x: number; r: RunResult }[] = [];
    for (const n of xs) {
      try {
        const r = await framewireRun(ctx, `fw-tcp:${n}`, { ...HD }, { mode: 'fw', clients: n });
        fw.push({ x: n, r });
        const g = ctx.runs.get(`gst:${n}@native`);
        rows.push([String(n), r.cpuPerClientFrameUs.toFixed(1), r.serverCpuPct.toFixed(0), r.serverRssMb.toFixed(0), r.fpsMedian.toFixed(1), g ? g.cpuPerClientFrameUs.toFixed(1) : '–', g ? g.serverRssMb.toFixed(0) : '–']);
      } catch (e) {
        rows.push([String(n), `failed: ${errorText(e)}`, '', '', '', '', '']);
      }
    }
    const gst = xs.flatMap((x) => {
      const g = ctx.runs.get(`gst:${x}@native`);
      return g ? [{ x, r: g }] : [];
    });
    const pt = xs.flatMap((x) => {
      const g = ctx.runs.get(`fw-tcp-file:${x}@native`);
      return g ? [{ x, r: g }] : [];
    });
    const svg = scalingSvg(
      [
        {
          title: 'server CPU per delivered client-frame',
          yLabel: 'µs',
          series: [
            { name: 'framewire TCP (test pattern, encodes)', colour: '#1f77b4', points: fw.map((p) => ({ x: p.x, y: p.r.cpuPerClientFrameUs })) },
            { name: 'framewire TCP (file passthrough)', colour: '#2ca02c', points: pt.map((p) => ({ x: p.x, y: p.r.cpuPerClientFrameUs })) },
            { name: 'GStreamer tcpserversink', colour: '#d62728', points: gst.map((p) => ({ x: p.x, y: p.r.cpuPerClientFrameUs })) },
          ].filter((s) => s.points.length > 0),
        },
        {
          title: 'server RSS',
          yLabel: 'MB',
          series: [
            { name: 'framewire TCP (test pattern)', colour: '#1f77b4', points: fw.map((p) => ({ x: p.x, y: p.r.serverRssMb })) },
            { name: 'framewire TCP (file passthrough)', colour: '#2ca02c', points: pt.map((p) => ({ x: p.x, y: p.r.serverRssMb })) },
            { name: 'GStreamer tcpserversink', colour: '#d62728', points: gst.map((p) => ({ x: p.x, y: p.r.serverRssMb })) },
          ].filter((s) => s.points.length > 0),
        },
      ],
      xs,
    );
    const file = path.join(path.dirname(ctx.outFile), SCALING_SVG);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, svg);
    ctx.extraFiles.push(file);
    return {
      title: '7. Scaling: framewire TCP, 1280×720@30 q80',
      tables: [{ headers: ['clients', 'µs CPU / client-frame', 'server CPU %', 'server RSS MB', 'fps median', 'GStreamer µs / client-frame', 'GStreamer RSS MB'], rows }],
      notes: [`Native reader. Plot: [${SCALING_SVG}](${SCALING_SVG}) (runs with the same client count are shared with section 3).`],
    };
  },
};
