/**
 * The native reader (bench/native-reader/reader.c): compiled at run time with the system's C compiler into
 * bench/native-reader/build/ (git-ignored), rebuilt when the source is newer than the binary.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './servers.js';

export const NATIVE_READER_SRC = path.join(ROOT, 'bench', 'native-reader', 'reader.c');
export const NATIVE_READER_BIN = path.join(ROOT, 'bench', 'native-reader', 'build', 'reader');

let built: { path: string } | { error: string } | null = null;

function compiler(): string {
  return process.env.CC && process.env.CC.trim() !== '' ? process.env.CC.trim() : 'cc';
}

/** Path of the built reader; throws with the compiler's message when it cannot be built. */
export function nativeReader(): string {
  if (!built) {
    try {
      const fresh = fs.existsSync(NATIVE_READER_BIN) && fs.statSync(NATIVE_READER_BIN).mtimeMs >= fs.statSync(NATIVE_READER_SRC).mtimeMs;
      if (!fresh) {
        fs.mkdirSync(path.dirname(NATIVE_READER_BIN), { recursive: true });
        const tmp = `${NATIVE_READER_BIN}.${process.pid}.tmp`;
        execFileSync(compiler(), ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', tmp, NATIVE_READER_SRC], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
        fs.renameSync(tmp, NATIVE_READER_BIN);
      }
      built = { path: NATIVE_READER_BIN };
    } catch (e) {
      const x = e as { stderr?: Buffer; message?: string };
      built = { error: `${compiler()} -O2 ${path.relative(ROOT, NATIVE_READER_SRC)} failed: ${(x.stderr?.toString() || x.message || String(e)).trim().split('\n').slice(0, 3).join(' ')}` };
    }
  }
  if ('error' in built) throw new Error(built.error);
  return built.path;
}

/** For the tools table at start: builds the reader once and says how it went. */
export function nativeReaderStatus(): { ok: boolean; detail: string } {
  try {
    return { ok: true, detail: `${compiler()} -O2 → ${path.relative(ROOT, nativeReader())}` };
  } catch (e) {
    return { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}
