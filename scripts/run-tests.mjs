#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (TypeScript loaded through tsx).
// Usage: node scripts/run-tests.mjs [substring-filter ...]
// Every test has a time limit (FRAMEWIRE_TEST_TIMEOUT_MS, default below), so a hang fails its test instead of
// hanging the run; a test may set a longer { timeout } of its own.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Twice the slowest test's own limits (90 s: recording under strace, the encode budget under load). */
export const DEFAULT_TEST_TIMEOUT_MS = 180_000;

/** node's arguments for running `files`, each test limited to timeoutMs. */
export function testArgs(files, timeoutMs = DEFAULT_TEST_TIMEOUT_MS) {
  return ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files];
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const filters = process.argv.slice(2);
  const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
  if (files.length === 0) {
    console.error('no test files matched');
    process.exit(1);
  }
  const timeout = Number(process.env.FRAMEWIRE_TEST_TIMEOUT_MS ?? DEFAULT_TEST_TIMEOUT_MS);
  const child = spawn(process.execPath, testArgs(files, timeout), { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
