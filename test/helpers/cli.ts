import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { within } from './server.js';

export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Wait until the process's stdout matches re; resolves with the match. */
export function waitForOutput(p: CliProcess, re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  return within(
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = p.stdout().match(re);
        if (m) {
          p.child.stdout!.off('data', check);
          resolve(m);
        }
      };
      p.child.stdout!.on('data', check);
      p.child.once('exit', () => reject(new Error(`exited before printing ${re}: ${p.stderr()}`)));
      check();
    }),
    ms,
    `output ${re}`,
  );
}

/** A port that was free a moment ago (for flags where 0 means "off"). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
