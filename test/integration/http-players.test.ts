import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

test('ffplay opens /stream.mjpg as MJPEG at the asked size (headless: no display, no audio)', async (t) => {
  if (!requireTool(t, 'ffplay', ['-version'], 'apt-get install ffmpeg')) return;
  const server = await startTestServer({ httpPort: 0 }, { extras: [httpTransport()] });
  try {
    const url = `http://127.0.0.1:${server.extras[0]!.port}/stream.mjpg?width=320&height=180&fps=15`;
    const out = await within(
      new Promise<{ code: number | null; text: string }>((resolve) => {
        const p = spawn('ffplay', ['-nodisp', '-autoexit', '-t', '2', '-loglevel', 'info', url], {
          env: { ...process.env, SDL_AUDIODRIVER: 'dummy', SDL_VIDEODRIVER: 'dummy' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let text = '';
        p.stderr.on('data', (d: Buffer) => (text += d.toString()));
        p.on('close', (code) => resolve({ code, text }));
      }),
      30_000,
      'ffplay',
    );
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /Video: mjpeg .*320x180/);
  } finally {
    await server.close();
  }
});
