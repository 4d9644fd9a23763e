/** scripts/run-tests.mjs gives every test a time limit, so a hang fails that test instead of hanging CI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script, no type declarations
import { DEFAULT_TEST_TIMEOUT_MS, testArgs } from '../../scripts/run-tests.mjs';
import { within } from '../helpers/server.js';

test('the runner sets a per-test timeout by default', () => {
  const args = testArgs(['x.test.ts']) as string[];
  assert.ok(args.includes(`--test-timeout=${DEFAULT_TEST_TIMEOUT_MS}`), args.join(' '));
  assert.ok((DEFAULT_TEST_TIMEOUT_MS as number) >= 120_000, 'generous enough for the slowest legitimate test');
});

test('a test that hangs fails on the timeout and the run ends', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-hang-'));
  try {
    const file = join(dir, 'hangs.test.mjs');
    // A timer keeps the event loop alive: without a timeout this test never ends.
    await writeFile(file, "import { test } from 'node:test';\ntest('hangs', () => new Promise(() => setInterval(() => {}, 1000)));\n");
    // A runner of its own, not a subtest of this one (the test runner marks its children through this variable).
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(process.execPath, testArgs([file], 500) as string[], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await within(new Promise<number | null>((resolve) => child.on('exit', resolve)), 30_000, 'the run to end');
    assert.notEqual(code, 0, out);
    assert.match(out, /timed out after 500ms/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
