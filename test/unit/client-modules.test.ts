/**
 * Which modules each client is made of, read from esbuild's metafile (the graph the viewer bundle is built
 * from): the Node client and the browser viewer speak framewire/1 through the same conversation
 * (src/client/conversation.ts), and neither pulls in the capture layer (src/sources/) or the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type BuildOptions } from 'esbuild';
// @ts-expect-error: a plain .mjs script without type declarations
import { viewerBuildOptions } from '../../scripts/build-web.mjs';

async function inputs(options: BuildOptions): Promise<string[]> {
  const r = await build({ ...options, write: false, metafile: true, logLevel: 'silent' });
  return Object.keys(r.metafile.inputs).sort();
}

const FOREIGN = /^src\/(sources|server|pipeline|recording|cli)\//;

test('the browser viewer bundle is built on the client conversation and nothing of the capture layer or server', { timeout: 30_000 }, async () => {
  const files = await inputs(viewerBuildOptions as BuildOptions);
  assert.ok(files.includes('src/client/conversation.ts'), files.join('\n'));
  assert.ok(files.includes('src/clock.ts'), files.join('\n'));
  assert.deepEqual(files.filter((f) => FOREIGN.test(f) || f.startsWith('node:')), []);
});

test('the Node client library is built on the same conversation, and nothing of the capture layer or server', { timeout: 30_000 }, async () => {
  const files = await inputs({ entryPoints: ['src/client/client.ts'], bundle: true, format: 'esm', platform: 'node', packages: 'external', outfile: 'client.js' });
  assert.ok(files.includes('src/client/conversation.ts'), files.join('\n'));
  assert.deepEqual(files.filter((f) => FOREIGN.test(f)), []);
});
