import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { take } from '../helpers/client.js';
import { CLI, runCli, waitForOutput } from '../helpers/cli.js';
import { JpegSplitter } from '../../src/sources/jpeg-splitter.js';
import { recordHub } from '../../src/recording/server-recorder.js';
import { recordingLogger } from '../helpers/peers.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const SERVE = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '320', '--height', '180', '--fps', '30'];

function probeFrames(file: string): { frames: number; errors: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return { frames: Number(r.stdout.trim()), errors: r.stderr };
}

/** The pid of a process's only child (strace runs the server as its child). */
function childPid(pid: number): number | null {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out ? Number(out.split('\n')[0]) : null;
}

/** Complete JPEGs in a file, as a player that stops at a truncated tail sees them. */
function completeJpegs(bytes: Buffer): number {
  return new JpegSplitter().push(bytes).length;
}

test('serve --record: segments rotate, each closed one is fsynced before it is closed, and after a crash every closed segment plays in full', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg')) return;
  if (!requireTool(t, 'strace', ['-V'], 'apt-get install strace')) return;
  const dir = await mkdtemp(join(tmpdir(), 'fw-rec-'));
  const trace = join(dir, 'syscalls.txt');
  const segments = join(dir, 'segments');
  // strace records the server's openat/fsync/close calls: the only way to see that a segment reached the
  // disk (a SIGKILL alone loses nothing the kernel already holds, so it cannot tell fsync from no fsync).
  const p = spawn('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,fdatasync,close', '-o', trace, process.execPath, ...CLI, ...SERVE, '--record', segments, '--segment-seconds', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => p.once('exit', resolve));
  let server: number | null = null;
  try {
    await waitUntil(() => /view tcp:/.test(out), 30_000, 'the server to start under strace', 100);
    server = childPid(p.pid!);
    assert.ok(server, 'strace runs the server');
    // Crash while the open segment holds a few complete frames.
    const newest = async (): Promise<Buffer | null> => {
      const files = (await readdir(segments)).sort();
      return files.length >= 4 ? readFile(join(segments, files.at(-1)!)) : null;
    };
    await waitUntil(async () => completeJpegs((await newest()) ?? Buffer.alloc(0)) >= 3, 30_000, 'four segments, the open one with frames', 50);
    process.kill(server, 'SIGKILL'); // a crash: no chance to close anything
    await within(exited, 10_000, 'strace to exit with the server');
    const files = (await readdir(segments)).sort();
    assert.ok(files.every((f) => /^\d{6}-.*\.mjpeg$/.test(f)), files.join(','));
    for (const f of files.slice(0, -2)) {
      // Closed segments: about one second of 30 fps each, all decodable.
      const { frames, errors } = probeFrames(join(segments, f));
      assert.ok(frames >= 20 && frames <= 40, `${f}: ${frames} frames`);
      assert.equal(errors, '', `${f} decodes cleanly`);
    }
    // The last segment with data (open at the crash) plays up to its last complete frame.
    const open = [...files].reverse().find((f) => statSync(join(segments, f)).size > 0)!;
    const complete = completeJpegs(await readFile(join(segments, open)));
    assert.ok(complete >= 1, `${open} holds ${complete} complete frames`);
    assert.ok(probeFrames(join(segments, open)).frames >= complete, `${open}: every complete frame plays`);
    // Every segment closed before the crash was fsynced between its open and its close.
    const lines = (await readFile(trace, 'utf8')).split('\n');
    for (const f of files.slice(0, -2)) {
      const at = lines.findIndex((l) => l.includes(`${f}"`) && /openat\(/.test(l));
      const fd = /= (\d+)$/.exec(lines[at] ?? '')?.[1] ?? /resumed>.*= (\d+)$/.exec(lines.slice(at).find((l) => /openat resumed>/.test(l)) ?? '')?.[1];
      assert.ok(at >= 0 && fd, `${f}: opened (${lines[at]})`);
      const closeAt = lines.findIndex((l, i) => i > at && new RegExp(`\\bclose\\(${fd}\\b`).test(l));
      assert.ok(closeAt > at, `${f}: closed`);
      const synced = lines.slice(at, closeAt).some((l) => new RegExp(`\\bf(data)?sync\\(${fd}\\b`).test(l));
      assert.ok(synced, `${f} (fd ${fd}) was fsynced before it was closed`);
    }
  } finally {
    if (server) {
      try {
        process.kill(server, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve --record into an unwritable place: a clear error, and viewers still get every frame', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-rec-'));
  const blocker = join(dir, 'not-a-dir');
  await writeFile(blocker, 'x');
  const p = runCli([...SERVE, '--record', join(blocker, 'segments')]);
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const c = await connect(`tcp://127.0.0.1:${m[1]}`);
    assert.equal((await within(take(c, 30), 10_000, 'frames')).length, 30);
    assert.match(p.stderr(), /E_IO: recording to .* failed: .*(not a directory|ENOTDIR|EEXIST)/i);
    await c.close();
  } finally {
    p.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('view --record on a full disk: the error is reported and viewing goes on', async () => {
  const p = runCli(SERVE);
  try {
    const m = await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:(\d+)/);
    const v = runCli(['view', `tcp://127.0.0.1:${m[1]}`, '--frames', '40', '--json', '--display', 'none', '--record', '/dev/full']);
    const code = await within(v.exited, 20_000, 'view exit');
    assert.equal(JSON.parse(v.stdout().trim()).frames, 40, 'every frame was still received');
    assert.match(v.stderr(), /E_IO: recording to \/dev\/full failed: disk full/);
    assert.equal(code, 1, 'the failed recording is the exit status');
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('a server recording that fails stops its subscription: nothing is encoded for nobody', async () => {
  const server = await startTestServer();
  const { lines, log } = recordingLogger();
  // /dev/full opens and then fails every write (ENOSPC): a disk that fills up while recording.
  const rec = recordHub(server.hub, { width: 336, height: 192, quality: 60 }, 30, '/dev/full', 0, log);
  const subscribers = (): number => server.hub.profileStats().filter((p) => p.width === 336).reduce((n, p) => n + p.subscribers, 0);
  try {
    await waitUntil(() => rec.recorder.error !== null, 10_000, 'the recording fails');
    await waitUntil(() => subscribers() === 0, 5000, 'its profile has no subscriber left');
    assert.equal(rec.subscribed, false);
    assert.match(lines.join('\n'), /E_IO: recording to \/dev\/full failed: disk full; recording stopped/);
  } finally {
    await rec.stop();
    await server.close();
  }
});
