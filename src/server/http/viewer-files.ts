/**
 * The browser viewer's files (bundled by scripts/build-web.mjs into dist/web/). A fixed list of names, so
 * no request path ever reaches the file system.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/viewer.js': { file: 'viewer.js', type: 'text/javascript; charset=utf-8' },
  '/stream-worker.js': { file: 'stream-worker.js', type: 'text/javascript; charset=utf-8' },
  '/viewer.css': { file: 'viewer.css', type: 'text/css; charset=utf-8' },
};

/**
 * Only what the viewer needs: its own scripts and styles, frames from blob: URLs, and the WebSocket back
 * to this server. Nothing is loaded from anywhere else.
 */
export const VIEWER_CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

export function isViewerPath(pathname: string): boolean {
  return Object.hasOwn(FILES, pathname);
}

/**
 * dist/web next to this module when running the build (dist/server/http → dist/web); otherwise dist/web under
 * the package root found by walking up to package.json (running from src/ through tsx, as the tests do).
 */
export function findViewerDir(moduleUrl: string = import.meta.url): string | null {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const candidates = [path.resolve(here, '../../web')];
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      candidates.push(path.join(dir, 'dist', 'web'));
      break;
    }
    if (path.dirname(dir) === dir) break;
  }
  // viewer.js marks a build: from src/server/http, ../../web is the viewer's unbundled source.
  return candidates.find((d) => existsSync(path.join(d, 'index.html')) && existsSync(path.join(d, 'viewer.js'))) ?? null;
}

export async function readViewerFile(dir: string, pathname: string): Promise<{ body: Buffer; type: string } | null> {
  const entry = FILES[pathname];
  if (!entry) return null;
  try {
    return { body: await readFile(path.join(dir, entry.file)), type: entry.type };
  } catch {
    return null;
  }
}
