import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { take } from '../helpers/client.js';
import { runCli, waitForOutput } from '../helpers/cli.js';
import { waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const SERVE = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '320', '--height', '180', '--fps', '30'];

function probeFrames(file: string): { frames: number; errors: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return { frames: Number(r.stdout.trim()), errors: r.stderr };
}

test('serve --record: segments rotate, and after a crash every closed segment plays in full', async (t) => {
  if (!requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg')) return;
  const dir = await mkdtemp(join(tmpdir(), 'fw-rec-'));
  const p = runCli([...SERVE, '--record', dir, '--segment-seconds', '1']);
  try {
    await waitForOutput(p, /view tcp:/);
    await waitUntil(async () => (await readdir(dir)).length >= 4, 20_000, 'four segments', 100);
    p.child.kill('SIGKILL'); // a crash: no chance to close anything
    await p.exited;
    const files = (await readdir(dir)).sort();
    assert.ok(files.every((f) => /^\d{6}-.*\.mjpeg$/.test(f)), files.join(','));
    for (const f of files.slice(0, -2)) {
      // Closed segments: about one second of 30 fps each, all decodable.
      const { frames, errors } = probeFrames(join(dir, f));
      assert.ok(frames >= 20 && frames <= 40, `${f}: ${frames} frames`);
      assert.equal(errors, '', `${f} decodes cleanly`);
    }
    // The open segment at the crash still plays up to its last complete frame.
    assert.ok(probeFrames(join(dir, files.at(-1)!)).frames >= 0);
  } finally {
    p.child.kill('SIGKILL');
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
