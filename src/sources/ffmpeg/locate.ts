/**
 * Finding the ffmpeg binary: $FFMPEG_PATH, then $PATH, then the optional npm package
 * `@ffmpeg-installer/ffmpeg` (ships the binary inside per-platform registry packages; it is not a
 * dependency of framewire, it is only used when the user installed it). `ffmpeg-static` is
 * deliberately not used: its install script downloads the binary from outside the registry.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FramewireError } from '../../errors.js';

export const FFMPEG_NOT_FOUND =
  'ffmpeg not found: install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) or set FFMPEG_PATH';

export interface FfmpegLocation {
  path: string;
  via: 'FFMPEG_PATH' | 'PATH' | '@ffmpeg-installer/ffmpeg';
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Search a PATH-like string for an executable; pure apart from file-system checks. */
export function searchPath(
  name: string,
  pathEnv: string | undefined,
  platform: NodeJS.Platform = process.platform,
  pathExt: string | undefined = process.env.PATHEXT,
): string | null {
  if (!pathEnv) return null;
  const sep = platform === 'win32' ? ';' : delimiter;
  const exts = platform === 'win32' ? ['', ...(pathExt ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)] : [''];
  for (const dir of pathEnv.split(sep)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir.replace(/^"(.*)"$/, '$1'), name + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

async function fromInstallerPackage(): Promise<string | null> {
  // A variable keeps TypeScript and bundlers from resolving the optional package at build time.
  const pkg = '@ffmpeg-installer/ffmpeg';
  try {
    const mod: unknown = await import(pkg);
    const candidates = [mod, (mod as { default?: unknown }).default];
    for (const c of candidates) {
      const p = (c as { path?: unknown } | null)?.path;
      if (typeof p === 'string' && isExecutable(p)) return p;
    }
  } catch {
    // not installed
  }
  return null;
}

let cached: FfmpegLocation | null = null;

/** Locate ffmpeg (cached after the first success); rejects with E_SOURCE and install hints. */
export async function findFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegLocation> {
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: fromEnv, via: 'FFMPEG_PATH' };
    throw new FramewireError('E_SOURCE', `FFMPEG_PATH=${fromEnv} is not an executable file; ${FFMPEG_NOT_FOUND}`);
  }
  if (cached && env === process.env) return cached;
  const onPath = searchPath('ffmpeg', env.PATH ?? env.Path);
  const found: FfmpegLocation | null = onPath
    ? { path: onPath, via: 'PATH' }
    : await fromInstallerPackage().then((p) => (p ? { path: p, via: '@ffmpeg-installer/ffmpeg' as const } : null));
  if (!found) throw new FramewireError('E_SOURCE', FFMPEG_NOT_FOUND);
  if (env === process.env) cached = found;
  return found;
}
