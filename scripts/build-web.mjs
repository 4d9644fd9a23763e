#!/usr/bin/env node
// Bundles the browser viewer (src/web/main.ts, the page, and src/web/stream-worker.ts, its worker, which
// imports the framewire/1 codec from src/protocol and the client's conversation from src/client) into
// dist/web/viewer.js and dist/web/stream-worker.js and copies its page and stylesheet next to them. Everything the viewer needs is in dist/web: no CDN, no external fonts.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src', 'web');
const out = path.join(root, 'dist', 'web');

/** esbuild's options for the viewer's two bundles (test/unit/client-modules.test.ts checks what goes into them). */
export const viewerBuildOptions = {
  entryPoints: { viewer: path.join(src, 'main.ts'), 'stream-worker': path.join(src, 'stream-worker.ts') },
  outdir: out,
  bundle: true,
  // iife: the worker is started as a classic worker (module workers came late to some browsers).
  format: 'iife',
  // platform browser: a node:* import sneaking into the viewer fails the build instead of the page.
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(out, { recursive: true });
  await build(viewerBuildOptions);
  for (const f of ['index.html', 'viewer.css']) await copyFile(path.join(src, f), path.join(out, f));
  console.log(`viewer built into ${path.relative(process.cwd(), out) || '.'}`);
}
