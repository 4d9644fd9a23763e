/**
 * Child processes of the bench: spawned, tracked and always killed (finally blocks, SIGINT, exit).
 * CPU and RSS of a process come from /proc/PID/stat (utime + stime, in clock ticks) and /proc/PID/status (VmRSS).
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of live) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping ${live.size} child process(es)\n`);
      killAll('SIGKILL');
      process.exit(130);
    });
  }
}

/** Spawn a tracked child; it is killed when the bench exits, whatever happens. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  installHooks();
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  live.add(c);
  c.once('exit', () => live.delete(c));
  c.once('error', () => live.delete(c));
  return c;
}

export function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

/** SIGINT (or the given signal), then SIGKILL after graceMs; resolves once the process is gone. */
export async function stopProcess(c: ChildProcess | null | undefined, graceMs = 4000, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (!c || exited(c)) return;
  const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  try {
    c.kill(signal);
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await gone;
  clearTimeout(t);
}

/** Resolve with the first stdout line matching `re`, reject on exit or timeout (with stderr for context). */
export function waitForLine(c: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    c.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    const rl = readline.createInterface({ input: c.stdout! });
    const done = (e: Error | null, line?: string): void => {
      clearTimeout(t);
      rl.removeAllListeners('line');
      c.removeListener('exit', onExit);
      if (e) reject(e);
      else resolve(line!);
    };
    const onExit = (code: number | null): void => done(new Error(`${what} exited (code ${code}) before it was ready: ${err.trim()}`));
    const t = setTimeout(() => done(new Error(`${what} not ready within ${timeoutMs} ms: ${err.trim()}`)), timeoutMs);
    rl.on('line', (line) => {
      if (re.test(line)) done(null, line);
    });
    c.once('exit', onExit);
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Poll until something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.setTimeout(500, () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let clkTck = 0;
function ticksPerSecond(): number {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcSample {
  /** utime + stime, seconds. */
  cpuS: number;
  /** VmRSS, MB (MiB). */
  rssMb: number;
  /** Wall clock, ms (performance.now). */
  atMs: number;
}

export function procSample(pid: number): ProcSample | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name "(...)": state is field 3; utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return { cpuS: (utime + stime) / ticksPerSecond(), rssMb: m ? Number(m[1]) / 1024 : NaN, atMs: performance.now() };
  } catch {
    return null;
  }
}

/** The live descendants of a process (children, their children, …), from /proc/PID/task/TID/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 10_000) {
    const p = todo.pop()!;
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        /* gone */
      }
      for (const k of kids.split(' ')) if (k.trim() !== '') (out.push(Number(k)), todo.push(Number(k)));
    }
  }
  return out;
}

/** utime + stime of every descendant alive now, seconds, by pid. */
function descendantCpu(pid: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of descendants(pid)) {
    const s = procSample(d);
    if (s) m.set(d, s.cpuS);
  }
  return m;
}

/**
 * Samples a process's RSS every `everyMs` between start() and stop(); CPU from the first and last sample.
 * With `children`, the CPU of its descendants alive at stop() is added (a descendant born in the window
 * counts from its start; one that ended in the window is missed): for a server whose work runs partly in
 * child processes (an H.264 encoder's ffmpeg).
 */
export class ProcMeter {
  private first: ProcSample | null = null;
  private last: ProcSample | null = null;
  private maxRss = 0;
  private timer: NodeJS.Timeout | null = null;
  private kids0 = new Map<number, number>();
  private kidsCpuS = 0;
  constructor(
    readonly pid: number,
    private readonly opts: { children?: boolean } = {},
  ) {}

  start(everyMs = 250): void {
    if (this.opts.children) this.kids0 = descendantCpu(this.pid);
    this.first = procSample(this.pid);
    this.maxRss = this.first?.rssMb ?? 0;
    this.timer = setInterval(() => {
      const s = procSample(this.pid);
      if (s) this.maxRss = Math.max(this.maxRss, s.rssMb);
    }, everyMs);
  }

  stop(): { cpuPct: number; cpuS: number; childrenCpuS: number; rssMb: number; maxRssMb: number; wallS: number } | null {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = procSample(this.pid);
    if (this.opts.children) {
      this.kidsCpuS = 0;
      for (const [pid, cpuS] of descendantCpu(this.pid)) this.kidsCpuS += cpuS - (this.kids0.get(pid) ?? 0);
    }
    if (!this.first || !this.last) return null;
    const wallS = (this.last.atMs - this.first.atMs) / 1000;
    const cpuS = this.last.cpuS - this.first.cpuS + this.kidsCpuS;
    return {
      cpuPct: (100 * cpuS) / wallS,
      cpuS,
      childrenCpuS: this.kidsCpuS,
      rssMb: this.last.rssMb,
      maxRssMb: Math.max(this.maxRss, this.last.rssMb),
      wallS,
    };
  }
}
