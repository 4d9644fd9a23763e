/** serve --record --record-codec h264: segmented MPEG-TS, each segment from a keyframe; after a SIGKILL every segment, the open one too, decodes in ffprobe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const SERVE = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '320', '--height', '180', '--fps', '30', '--gop', '1', '--h264-encoder', 'libx264'];

function probe(file: string): { frames: { key_frame: number; width: number; height: number }[]; errors: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_frames', '-show_entries', 'frame=key_frame,width,height', '-of', 'json', file], { encoding: 'utf8', timeout: 30_000 });
  return { frames: (JSON.parse(r.stdout || '{"frames":[]}') as { frames?: { key_frame: number; width: number; height: number }[] }).frames ?? [], errors: r.stderr };
}

test('serve --record --record-codec h264: .ts segments from keyframes, and after a SIGKILL every one decodes, the open one up to its last whole packet', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg')) return;
  const dir = await mkdtemp(join(tmpdir(), 'fw-rec-h264-'));
  const segments = join(dir, 'segments');
  const p = spawn(process.execPath, [...CLI, ...SERVE, '--record', segments, '--segment-seconds', '1', '--record-codec', 'h264'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => p.once('exit', resolve));
  try {
    await waitUntil(() => /view tcp:/.test(out), 30_000, 'the server to start', 100);
    const ready = async (): Promise<boolean> => {
      const files = (await readdir(segments).catch(() => [] as string[])).sort();
      return files.length >= 4 && statSync(join(segments, files.at(-1)!)).size > 20_000;
    };
    await waitUntil(ready, 40_000, 'four segments, the open one with access units', 50);
    p.kill('SIGKILL'); // a crash: nothing gets closed
    await within(exited, 10_000, 'the server to die');
    const files = (await readdir(segments)).sort();
    assert.ok(files.every((f) => /^\d{6}-.*\.ts$/.test(f)), files.join(','));
    for (const [i, f] of files.entries()) {
      const { frames, errors } = probe(join(segments, f));
      if (i === files.length - 1 && frames.length === 0) continue; // opened at the instant of the kill
      assert.equal(errors, '', `${f} decodes cleanly`);
      assert.equal(frames[0]?.key_frame, 1, `${f} starts at a keyframe`);
      for (const fr of frames) assert.deepEqual([fr.width, fr.height], [320, 180]);
      if (i < files.length - 1) assert.ok(frames.length >= 20 && frames.length <= 70, `${f}: ${frames.length} frames`);
    }
  } finally {
    p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('--record-codec h264 with --codec jpeg is refused', { timeout: 30_000 }, async () => {
  const r = spawnSync(process.execPath, [...CLI, ...SERVE, '--codec', 'jpeg', '--record', '/nonexistent-dir', '--record-codec', 'h264'], { encoding: 'utf8', timeout: 25_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /E_BAD_PARAMS.*--record-codec h264/);
});

test('view --codec h264 --record out.ts: an MPEG-TS file from a keyframe that decodes whole at the granted size', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg')) return;
  const { startTestServer } = await import('../helpers/server.js');
  const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264' });
  const dir = await mkdtemp(join(tmpdir(), 'fw-view-h264-'));
  try {
    const file = join(dir, 'out.ts');
    const p = spawn(process.execPath, [...CLI, 'view', `tcp://127.0.0.1:${server.tcp.port}`, '--width', '320', '--height', '180', '--codec', 'h264', '--record', file, '--frames', '45', '--display', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await within(new Promise<number | null>((resolve) => p.once('exit', resolve)), 60_000, 'view to take 45 frames');
    assert.equal(code, 0, err);
    const { frames, errors } = probe(file);
    assert.equal(errors, '', 'decodes cleanly');
    assert.equal(frames[0]?.key_frame, 1, 'starts at a keyframe');
    assert.ok(frames.length >= 40 && frames.length <= 45, `${frames.length} frames`);
    for (const fr of frames) assert.deepEqual([fr.width, fr.height], [320, 180]);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
