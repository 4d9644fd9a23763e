import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { connect } from '../../src/client/client.js';
import { freePort, runCli, waitForOutput } from '../helpers/cli.js';
import { take } from '../helpers/client.js';
import { within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const SERVE = ['serve', '--host', '127.0.0.1', '--port', '0', '--width', '320', '--height', '180', '--fps', '30'];

test('serve prints where to watch; SIGINT says goodbye to clients and exits 0', async () => {
  const http = await freePort();
  const p = runCli([...SERVE, '--http-port', String(http)]);
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    assert.match(p.stdout(), new RegExp(`http://127\\.0\\.0\\.1:${http}/`), 'the browser URL is printed');
    assert.match(p.stdout(), /stream\.mjpg/);
    const c = await connect(`tcp://127.0.0.1:${m[1]}`);
    await take(c, 3);
    p.child.kill('SIGINT');
    const it = c[Symbol.asyncIterator]();
    let r = await within(it.next(), 5000, 'stream end after SIGINT');
    while (!r.done) r = await within(it.next(), 5000, 'stream end after SIGINT');
    assert.equal(await within(p.exited, 10_000, 'exit'), 0);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('view --frames --json --record: a summary on exit and an MJPEG file ffprobe reads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-view-'));
  const p = runCli([...SERVE, '--http-port', '0']);
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const file = join(dir, 'rec.mjpeg');
    const v = runCli(['view', `tcp://127.0.0.1:${m[1]}`, '--frames', '15', '--json', '--display', 'none', '--record', file, '--width', '160', '--height', '90']);
    assert.equal(await within(v.exited, 20_000, 'view exit'), 0, v.stderr());
    const summary = JSON.parse(v.stdout().trim()) as Record<string, unknown>;
    assert.equal(summary.frames, 15);
    assert.equal(summary.width, 160);
    assert.equal(summary.height, 90);
    for (const k of ['seconds', 'fps', 'bytes', 'latencyMs', 'dropped', 'decodeErrors']) assert.ok(k in summary, `summary has ${k}`);
    assert.ok((summary.latencyMs as { p50: number } | null) !== undefined);
    if (!requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg')) return;
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
    const s = (JSON.parse(probe.stdout) as { streams: { width: number; height: number; nb_read_frames: string }[] }).streams[0]!;
    assert.deepEqual([s.width, s.height, Number(s.nb_read_frames)], [160, 90, 15]);
  } finally {
    p.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('view reports a clear error and exit 1 when nothing listens', async () => {
  const port = await freePort();
  const v = runCli(['view', `tcp://127.0.0.1:${port}`, '--frames', '1', '--display', 'none']);
  assert.equal(await within(v.exited, 15_000, 'view exit'), 1);
  assert.match(v.stderr(), /^framewire: E_CONNECT: /m);
});

test('the terminal viewer draws the picture and a status line, and q quits', async (t) => {
  if (!requireTool(t, 'tmux', ['-V'], 'apt-get install tmux')) return;
  const p = runCli([...SERVE, '--http-port', '0']);
  const session = `fwtest${process.pid}`;
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const cmd = `${process.execPath} --import tsx src/cli/main.ts view tcp://127.0.0.1:${m[1]} --width 320 --height 180; echo EXITED=$?; sleep 30`;
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd], { env: { ...process.env, TERM: 'xterm-256color' } });
    const capture = (): string => spawnSync('tmux', ['capture-pane', '-p', '-e', '-t', session], { encoding: 'utf8' }).stdout;
    const waitFor = (re: RegExp, what: string) =>
      within(
        new Promise<string>((resolve) => {
          const poll = setInterval(() => {
            const screen = capture();
            if (re.test(screen)) {
              clearInterval(poll);
              resolve(screen);
            }
          }, 100);
        }),
        20_000,
        what,
      );
    const screen = await waitFor(/fps \| latency [\d.]+ ms/, 'status line');
    assert.match(screen, /\x1b\[38;2;\d+;\d+;\d+m/, 'truecolor foreground codes');
    assert.ok((screen.match(/▀/g) ?? []).length > 500, 'half-block picture fills the window');
    spawnSync('tmux', ['send-keys', '-t', session, 'q']);
    const after = await waitFor(/EXITED=\d+/, 'viewer exit');
    assert.match(after, /EXITED=0/);
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session]);
    p.child.kill('SIGKILL');
  }
});

test('without ffmpeg: a camera source fails with one line saying what to install, the test pattern still serves', async () => {
  const noFfmpeg = { PATH: '/nonexistent', FFMPEG_PATH: '' };
  const cam = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--source', 'camera'], noFfmpeg);
  assert.equal(await within(cam.exited, 20_000, 'serve exit'), 1);
  const lines = cam.stderr().trim().split('\n');
  assert.equal(lines.length, 1, cam.stderr());
  assert.match(lines[0]!, /^framewire: E_SOURCE: .*ffmpeg not found: install it \(Debian\/Ubuntu: apt-get install ffmpeg/);
  const tp = runCli(SERVE.concat(['--http-port', '0']), noFfmpeg);
  try {
    const m = await waitForOutput(tp, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const c = await connect(`tcp://127.0.0.1:${m[1]}`);
    assert.equal((await take(c, 3)).length, 3);
    await c.close();
  } finally {
    tp.child.kill('SIGKILL');
  }
});

test('serve and view --token-file: the token stays off every command line; a weak token is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-token-'));
  const file = join(dir, 'token');
  await writeFile(file, 'Zq3v9Xw2Lk8Rt5Yp1Nm7Bc4Hd6Jf0Gs\n');
  const p = runCli([...SERVE, '--http-port', '0', '--token-file', file]);
  try {
    const m = await waitForOutput(p, /FRAMEWIRE_TOKEN=… npx framewire view tcp:\/\/127\.0\.0\.1:(\d+)/);
    assert.ok(!p.stdout().includes('Zq3v9Xw2'), 'a token the user gave is not echoed');
    const v = runCli(['view', `tcp://127.0.0.1:${m[1]}`, '--frames', '3', '--json', '--display', 'none', '--token-file', file]);
    assert.equal(await within(v.exited, 20_000, 'view exit'), 0, v.stderr());
    assert.equal((JSON.parse(v.stdout().trim()) as { frames: number }).frames, 3);
    const anon = runCli(['view', `tcp://127.0.0.1:${m[1]}`, '--frames', '1', '--display', 'none']);
    assert.equal(await within(anon.exited, 20_000, 'view exit'), 1);
    assert.match(anon.stderr(), /^framewire: E_AUTH: /m);
  } finally {
    p.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
  const weak = runCli([...SERVE, '--http-port', '0', '--token', 'a']);
  assert.equal(await within(weak.exited, 20_000, 'serve exit'), 1);
  assert.match(weak.stderr(), /^framewire: E_BAD_PARAMS: the token is too weak to stand up to guessing: it has 1 characters/m);
});
