#!/usr/bin/env node
/** The `framewire` command. Errors end as one line "framewire: E_CODE: message" and a non-zero exit. */
import os from 'node:os';
import v8 from 'node:v8';
import { isFramewireError } from '../errors.js';
import { runServe, SERVE_USAGE } from './serve.js';
import { runView, VIEW_USAGE } from './view.js';
import { DEVICES_USAGE, runDevices } from './devices-command.js';

const USAGE = `framewire — real-time camera streaming

Usage:
  framewire serve [options]      stream a source (the test pattern by default) to every viewer
  framewire view URL [options]   watch a stream in this terminal, record it, or summarise it
  framewire devices [--json]     list cameras with their formats, sizes and rates

${SERVE_USAGE}

${VIEW_USAGE}

${DEVICES_USAGE}

Every command takes -h/--help.
`;

// JPEG work runs on libuv's pool; more threads than cores only queue and each keeps its own malloc arena.
// Set before the pool's first use (libuv reads it then); a value from the environment wins.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, os.availableParallelism()));

// A streaming server allocates a little per frame and client, all short-lived. V8 would grow its young
// generation to 16 MB semi-spaces for that, and the process's memory with it (soak run: RSS stepping from
// ~95 to ~122 MB while the live heap stayed at 10-19 MB). Keeping new space at its initial size trades a few
// more scavenges for memory that stays flat (docs/soak.md).
v8.setFlagsFromString('--semi-space-growth-factor=1');

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return runServe(rest);
    case 'view':
      return runView(rest);
    case 'devices':
      return runDevices(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`framewire: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg = isFramewireError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`framewire: ${msg}\n`);
    process.exit(1);
  },
);
