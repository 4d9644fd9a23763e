import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** True when `cmd` runs (e.g. hasTool('ffmpeg', ['-version'])). */
export function hasTool(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/**
 * Skip the test loudly when a system tool is missing, except in CI, where a missing tool fails the run:
 * CI installs everything (.ci/run), so a skip there would hide a broken install step.
 * Returns true when the tool is there and the test should go on.
 */
export function requireTool(t: TestContext, cmd: string, args: string[] = ['--version'], installHint = ''): boolean {
  if (hasTool(cmd, args)) return true;
  const why = `${cmd} is not installed${installHint ? ` (${installHint})` : ''}`;
  if (process.env.CI === 'true') throw new Error(`${why}: CI must install it`);
  console.warn(`\n*** SKIPPED: ${why} ***\n`);
  t.skip(why);
  return false;
}

/** `promtool check metrics` on a /metrics text: it must pass with no complaint (skipped loudly without promtool). */
export async function assertPromtoolClean(t: TestContext, text: string): Promise<void> {
  if (!requireTool(t, 'promtool', ['--version'])) return;
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  child.stdin.end(text);
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 0, `promtool: ${out}`);
  assert.equal(out.trim(), '', `promtool has complaints: ${out}`);
}
