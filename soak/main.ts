/**
 * `npm run soak [-- --minutes 10]` (not part of CI): the server under 1280×720@30 to 100 clients, 10 % of
 * them connecting, stalling and leaving at random. Samples the server's RSS and open file descriptors from
 * /proc every 10 s and writes docs/soak.md. Flat means: RSS after warm-up within ±5 %, fds back to baseline.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createServer, type AddressInfo } from 'node:net';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, out: { type: 'string', default: 'docs/soak.md' } } });
const seconds = Math.round(Number(values.minutes) * 60);

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) / 1024 : NaN;
}
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

// The compiled server, as users run it (npm run soak builds first).
const httpPort = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as AddressInfo).port;
    s.close(() => resolve(p));
  });
});
// Every load client comes from 127.0.0.1: lift the per-address limit (a household's 20 by default) above them.
const server = spawn(
  process.execPath,
  ['dist/cli/main.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--http-port', String(httpPort), '--max-clients-per-address', '200', '--quiet'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);

/** The server's own view of its memory (/api/status), to tell the V8 heap from buffers from the allocator. */
async function serverMemory(): Promise<{ heapUsed: number; heapTotal: number; external: number }> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/api/status`);
    const j = (await r.json()) as { memoryMb: { heapUsed: number; heapTotal: number; external: number } };
    return j.memoryMb;
  } catch {
    return { heapUsed: NaN, heapTotal: NaN, external: NaN };
  }
}
const port = await new Promise<number>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = out.match(/tcp:\/\/127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.once('exit', () => reject(new Error('server exited')));
});
const baseFds = fds(server.pid!);
console.log(`soak: ${seconds} s, server pid ${server.pid} on port ${port}, ${baseFds} fds at start`);
const load = spawn(process.execPath, ['--import', 'tsx', 'soak/clients.ts', '--port', String(port), '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
const samples: { s: number; rss: number; heapUsed: number; heapTotal: number; external: number; fds: number; frames: number; dropped: number; connects: number; stalls: number; fpsMin: number }[] = [];
const t0 = Date.now();
let last = { frames: 0, dropped: 0, connects: 0, stalls: 0, steadyFpsMin: 0 };
load.stdout.on('data', (d: Buffer) => {
  for (const line of d.toString().split('\n').filter(Boolean)) {
    try {
      last = JSON.parse(line) as typeof last;
    } catch {
      /* partial line */
    }
  }
});
const sampler = setInterval(async () => {
  const mem = await serverMemory();
  const s = { s: Math.round((Date.now() - t0) / 1000), rss: rssMb(server.pid!), ...mem, fds: fds(server.pid!), frames: last.frames, dropped: last.dropped, connects: last.connects, stalls: last.stalls, fpsMin: last.steadyFpsMin };
  samples.push(s);
  console.log(JSON.stringify(s));
}, 10_000);
await new Promise((r) => load.once('exit', r));
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 2000));
const endFds = fds(server.pid!);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));

const warmUpS = Math.min(120, seconds / 4);
const warm = samples.filter((s) => s.s >= warmUpS);
const rss = warm.map((s) => s.rss);
const mid = rss.length ? rss[Math.floor(rss.length / 2)]! : NaN;
// The target is "flat (±5 %)": the largest deviation from the median after warm-up.
const spread = rss.length ? (Math.max(Math.max(...rss) - mid, mid - Math.min(...rss)) / mid) * 100 : NaN;
const table = samples.map((s) => `| ${s.s} | ${s.rss.toFixed(1)} | ${s.heapUsed} / ${s.heapTotal} | ${s.external} | ${s.fds} | ${s.frames} | ${s.dropped} | ${s.connects} | ${s.stalls} | ${s.fpsMin?.toFixed?.(1) ?? ''} |`).join('\n');
const md = `# Soak run

Command: \`npm run soak -- --minutes ${values.minutes}\` on ${new Date().toISOString().slice(0, 10)}.
Server: test pattern 1280×720@30 q80. Load (separate process): 90 steady clients reading everything, 10 churn slots
connecting, stalling (no reads, no acks) and leaving at random.

- RSS after the ${warmUpS} s warm-up: ${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)} MB (within ±${spread.toFixed(1)} % of the median ${mid.toFixed(1)} MB; target ±5 %)
- file descriptors: ${baseFds} at start, ${endFds} after the load left (target: back to the start value)

| s | RSS MB | V8 heap used / total MB | external MB | fds | frames (all clients) | dropped (library, steady clients) | connects | stalls | min steady fps |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${table}
`;
writeFileSync(values.out!, md);
console.log(md);
