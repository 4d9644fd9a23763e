/**
 * framewire benchmarks — `npm run bench` (full, several minutes) or `npm run bench:smoke` (< 90 s).
 *
 *   npx tsx bench/main.ts [--smoke] [--only NAME[,NAME…]] [--out FILE] [--warmup S] [--duration S]
 *
 * Scenarios (bench/scenarios/): encode, h264-cost, latency, latency-h264 and join-h264 (Chromium, h264-browser.ts),
 * library, fanout-tcp, fanout-h264, fanout-mjpeg, throughput, passthrough, tutorial, python, scaling, h264-bytes, profile.
 * Every server runs as its own process and every client load too: the native reader (bench/native-reader/reader.c,
 * compiled here with the system's C compiler) by default, and the Node load generator (bench/loadgen.ts) as a
 * second column of the fan-out tables; all of them are killed on the way out, whatever happens. The report (default docs/benchmarks.md) is rewritten at the end,
 * with the tables of the scenarios that ran; nothing is installed: missing reference tools give "missing" rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { errorText, type BenchContext, type Scenario, type Section } from './lib/context.js';
import { writeReport } from './lib/report.js';
import { ROOT } from './lib/servers.js';
import { checkTools } from './lib/tools.js';
import { encode } from './scenarios/encode.js';
import { fanoutH264 } from './scenarios/fanout-h264.js';
import { fanoutMjpeg } from './scenarios/fanout-mjpeg.js';
import { fanoutTcp } from './scenarios/fanout-tcp.js';
import { h264Bytes } from './scenarios/h264-bytes.js';
import { h264Cost } from './scenarios/h264-cost.js';
import { latency } from './scenarios/latency.js';
import { joinH264, latencyH264 } from './scenarios/h264-browser.js';
import { profile } from './scenarios/profile.js';
import { scaling, SCALING_SVG } from './scenarios/scaling.js';
import { throughput } from './scenarios/throughput.js';
import { passthrough } from './scenarios/passthrough.js';
import { library } from './scenarios/library.js';
import { tutorial } from './scenarios/tutorial.js';
import { python } from './scenarios/python.js';

const SCENARIOS: Scenario[] = [
  encode,
  h264Cost,
  latency,
  latencyH264,
  joinH264,
  library,
  fanoutTcp,
  fanoutH264,
  fanoutMjpeg,
  throughput,
  passthrough,
  tutorial,
  python,
  scaling,
  h264Bytes,
  profile,
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npx tsx bench/main.ts [--smoke] [--only ${SCENARIOS.map((s) => s.name).join('|')}[,…]] [--out FILE] [--warmup S] [--duration S] [--no-profile]\n`);
    return 0;
  }
  const smoke = values.smoke ?? false;
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : null;
  for (const n of only ?? []) if (!SCENARIOS.some((s) => s.name === n)) throw new Error(`unknown scenario ${n} (${SCENARIOS.map((s) => s.name).join(', ')})`);
  // A smoke run proves the bench works; it must not replace the measured report in docs/.
  const outFile = path.resolve(values.out ?? (smoke ? path.join(ROOT, 'bench-results', 'benchmarks-smoke.md') : path.join(ROOT, 'docs', 'benchmarks.md')));
  const startedAt = new Date();
  const t0 = performance.now();
  const log = (msg: string): void => {
    process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
  };

  const tools = checkTools();
  for (const t of Object.values(tools)) {
    if (t.ok) log(`found ${t.name}${t.detail ? ` (${t.detail})` : ''}`);
    else log(`MISSING ${t.name}: its reference is skipped. Install with: ${t.install}`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'framewire-bench-'));
  const ctx: BenchContext = {
    smoke,
    warmupS: Number(values.warmup ?? (smoke ? 0.5 : 3)),
    durationS: Number(values.duration ?? (smoke ? 1 : 10)),
    tmp,
    outFile,
    tools,
    encodeMs: new Map(),
    runs: new Map(),
    memo: new Map(),
    targets: [],
    extraFiles: [],
    log,
  };
  const chosen = SCENARIOS.filter((s) => (only ? only.includes(s.name) : s.name !== 'profile' || (!smoke && !values['no-profile'])));
  const sections: Section[] = [];
  try {
    for (const s of chosen) {
      log(`── scenario ${s.name}`);
      const ts = performance.now();
      try {
        sections.push(await s.run(ctx));
      } catch (e) {
        log(`scenario ${s.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        sections.push({ title: s.name, tables: [], notes: [`failed: ${errorText(e)}`] });
      }
      log(`── ${s.name} done in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const argv = process.argv.slice(2).join(' ');
  writeReport(outFile, {
    startedAt,
    elapsedS,
    command: `npx tsx bench/main.ts${argv ? ' ' + argv : ''}`,
    smoke,
    warmupS: ctx.warmupS,
    durationS: ctx.durationS,
    tools: Object.values(tools),
    sections,
    targets: ctx.targets,
    svg: ctx.extraFiles.some((f) => f.endsWith(SCALING_SVG)) ? SCALING_SVG : null,
  });
  log(`wrote ${outFile}${ctx.extraFiles.length ? ` and ${ctx.extraFiles.join(', ')}` : ''} in ${elapsedS.toFixed(1)} s total`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
