/**
 * The players people already have open framewire's HTTP streams headless, for real: ffplay, mpv and VLC take
 * /stream.mjpg, and mpv and VLC take /stream.ts as live H.264 at the asked size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { RunningServer } from '../../src/server/server.js';
import { startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

/**
 * Runs a player until it exits by itself or, with `until`, until its output matches every pattern (then it is
 * stopped); killed if it runs past the time limit. Its output is both streams.
 */
function play(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, until: RegExp[] = []): Promise<{ code: number | null; text: string; seen: boolean }> {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let seen = false;
  const exited = new Promise<{ code: number | null; text: string; seen: boolean }>((resolve) => {
    const take = (d: Buffer): void => {
      text += d.toString();
      if (!seen && until.length > 0 && until.every((re) => re.test(text))) {
        seen = true;
        p.kill();
      }
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('close', (code) => resolve({ code, text, seen }));
  });
  return within(exited, 30_000, cmd).finally(() => p.kill('SIGKILL'));
}

/** VLC refuses to run as root: under root (CI), it runs as nobody. */
const asUser = (cmd: string[]): string[] => (process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd);

/** VLC until it has decoded a first picture of width×height (it does not stop by itself on a live stream). */
function vlcFirstPicture(url: string, width: number, height: number): Promise<{ code: number | null; text: string; seen: boolean }> {
  const [cmd, ...args] = asUser(['cvlc', '--intf', 'dummy', '--vout', 'dummy', '--aout', 'dummy', '-vv', url]);
  return play(cmd!, args, { HOME: '/tmp' }, [/Received first picture/, new RegExp(`video output debug: original format .* vsz ${width}x${height}`)]);
}

async function withHttpServer(fn: (base: string, server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ httpPort: 0, codec: 'both', h264Encoder: 'libx264' }, { extras: [httpTransport()] });
  try {
    await fn(`http://127.0.0.1:${server.extras[0]!.port}`, server);
  } finally {
    await server.close();
  }
}

test('ffplay opens /stream.mjpg as MJPEG at the asked size (headless: no display, no audio)', async (t) => {
  if (!requireTool(t, 'ffplay', ['-version'], 'apt-get install ffmpeg')) return;
  await withHttpServer(async (base) => {
    const out = await play('ffplay', ['-nodisp', '-autoexit', '-t', '2', '-loglevel', 'info', `${base}/stream.mjpg?width=320&height=180&fps=15`], {
      SDL_AUDIODRIVER: 'dummy',
      SDL_VIDEODRIVER: 'dummy',
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /Video: mjpeg .*320x180/);
  });
});

for (const [path, codec] of [
  ['/stream.mjpg', 'mjpeg'],
  ['/stream.ts', 'h264'],
] as const) {
  test(`mpv decodes ${path} (${codec}) at the asked size, 30 frames, without a decode error`, { timeout: 60_000 }, async (t) => {
    if (!requireTool(t, 'mpv', ['--version'], 'apt-get install mpv')) return;
    await withHttpServer(async (base) => {
      const out = await play('mpv', ['--no-config', '--vo=null', '--ao=null', '--frames=30', '--msg-level=all=v', `${base}${path}?width=320&height=180`]);
      assert.equal(out.code, 0, out.text);
      assert.match(out.text, new RegExp(`Video --vid=1 .*\\(${codec} 320x180`), 'mpv found the stream');
      assert.match(out.text, /VO: \[null\] 320x180/, 'mpv showed decoded pictures');
      assert.doesNotMatch(out.text, /\[ffmpeg\/video\][^\n]*(error|corrupt|missing|non-existing)/i, 'no decode error');
    });
  });

  test(`VLC decodes ${path} (${codec}) at the asked size`, { timeout: 60_000 }, async (t) => {
    const [cmd, ...args] = asUser(['cvlc', '--version']);
    if (!requireTool(t, cmd!, args, 'VLC: apt-get install vlc-bin vlc-plugin-base')) return;
    await withHttpServer(async (base) => {
      const out = await vlcFirstPicture(`${base}${path}?width=320&height=180`, 320, 180);
      assert.ok(out.seen, `VLC decoded no 320x180 picture:\n${out.text.slice(-4000)}`);
      assert.match(out.text, new RegExp(`codec \\(${codec}\\) started`), 'VLC chose a decoder for the stream');
      assert.doesNotMatch(out.text, /decoder error|h264 decoder error|corrupt/i, 'no decode error');
    });
  });
}
