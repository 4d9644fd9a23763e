/**
 * The H.264 parsers against streams real encoders wrote (libx264 through ffmpeg) and what ffprobe says of
 * them: access units and keyframes out of raw Annex-B streams with and without AUDs, in several slices, or
 * interlaced; SPS sizes, profiles and levels for cropped, 4:2:2, 4:4:4, interlaced and scaling-matrix streams.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessUnitAssembler, type AccessUnit } from '../../src/codecs/h264/annexb.js';
import { ParameterSetCache } from '../../src/codecs/h264/params.js';
import { requireTool } from '../helpers/tools.js';
import { cutAt } from '../helpers/h264.js';

interface Encoded {
  file: string;
  stream: Buffer;
}

function encode(dir: string, name: string, size: string, frames: number, extra: string[]): Encoded {
  const file = join(dir, `${name}.h264`);
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-frames:v', String(frames), '-c:v', 'libx264', ...extra, '-f', 'h264', '-y', file];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return { file, stream: readFileSync(file) };
}

interface Probed {
  width: number;
  height: number;
  profile: string;
  level: number;
  frames: number;
  keyframes: number[];
}

function ffprobe(file: string): Probed {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-f', 'h264', '-show_entries', 'stream=width,height,profile,level:frame=key_frame', '-show_frames', '-of', 'json', file],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { streams: { width: number; height: number; profile: string; level: number }[]; frames: { key_frame: number }[] };
  const s = j.streams[0]!;
  return {
    width: s.width,
    height: s.height,
    profile: s.profile,
    level: s.level,
    frames: j.frames.length,
    keyframes: j.frames.flatMap((f, i) => (f.key_frame ? [i] : [])),
  };
}

/** Feed the stream in uneven chunks (as a pipe would deliver it). */
function assemble(stream: Buffer): AccessUnit[] {
  const asm = new AccessUnitAssembler();
  const cuts = Array.from({ length: Math.ceil(stream.length / 997) }, (_, i) => i * 997 + ((i * 131) % 17));
  const aus = cutAt(stream, cuts).flatMap((c) => asm.push(c));
  return [...aus, ...asm.end()];
}

const PROFILE_IDC: Record<string, number> = { 'Constrained Baseline': 66, Baseline: 66, Main: 77, High: 100, 'High 4:2:2': 122, 'High 4:4:4 Predictive': 244 };

function need(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

describe('H.264 parsing of libx264 streams, checked against ffprobe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-streams-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const streams: [string, string, string[]][] = [
    ['with AUDs, 3 slices a picture', '320x240', ['-preset', 'ultrafast', '-g', '6', '-x264-params', 'aud=1:slices=3:scenecut=0']],
    ['without AUDs (boundaries from slices, SPS and SEI alone)', '320x240', ['-preset', 'ultrafast', '-g', '6', '-x264-params', 'slices=4:scenecut=0']],
    ['with B-frames', '320x240', ['-preset', 'medium', '-bf', '3', '-g', '6', '-x264-params', 'scenecut=0']],
    ['interlaced (one access unit per field pair, MBAFF)', '352x288', ['-preset', 'veryfast', '-g', '6', '-flags', '+ildct+ilme', '-x264-params', 'interlaced=1:scenecut=0']],
  ];
  for (const [what, size, args] of streams) {
    test(`access units and keyframes: ${what}`, { timeout: 60_000 }, (t) => {
      if (!need(t)) return;
      const { file, stream } = encode(dir, what.replace(/\W+/g, '-'), size, 18, args);
      const aus = assemble(stream);
      const probed = ffprobe(file);
      assert.equal(aus.length, probed.frames, 'one access unit per decoded frame');
      const keys = aus.flatMap((a, i) => (a.keyframe ? [i] : []));
      // ffprobe lists frames in display order; with B-frames the keyframes (I/IDR) still keep their positions.
      assert.deepEqual(keys, probed.keyframes);
      assert.deepEqual(keys, [0, 6, 12]);
      // libx264 repeats SPS/PPS before every keyframe: they must land in the keyframe's access unit, not the one before.
      for (const a of aus) assert.equal(a.nals.some((n) => (n[0]! & 0x1f) === 7), a.keyframe);
      const cache = new ParameterSetCache();
      for (const au of aus) cache.prepare(au);
      assert.equal(`${cache.sps!.width}x${cache.sps!.height}`, size);
    });
  }

  const sizes: [string, string, string[]][] = [
    ['1080p (1088 coded, cropped)', '1920x1080', ['-preset', 'ultrafast', '-pix_fmt', 'yuv420p']],
    ['odd-macroblock size, High profile', '200x120', ['-preset', 'veryfast', '-pix_fmt', 'yuv420p']],
    ['4:2:2 (High 4:2:2)', '322x240', ['-preset', 'ultrafast', '-pix_fmt', 'yuv422p']],
    ['4:4:4 (High 4:4:4 Predictive)', '330x250', ['-preset', 'ultrafast', '-pix_fmt', 'yuv444p']],
    ['interlaced (cropping in field units)', '720x572', ['-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-flags', '+ildct+ilme', '-x264-params', 'interlaced=1']],
    ['scaling matrices in the SPS', '640x360', ['-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-x264-params', 'cqm=jvt']],
  ];
  for (const [what, size, args] of sizes) {
    test(`SPS: ${what}`, { timeout: 60_000 }, (t) => {
      if (!need(t)) return;
      const { file, stream } = encode(dir, `sps-${what.replace(/\W+/g, '-')}`, size, 1, args);
      const aus = assemble(stream);
      const cache = new ParameterSetCache();
      for (const au of aus) cache.prepare(au);
      const sps = cache.sps!;
      const probed = ffprobe(file);
      assert.equal(`${sps.width}x${sps.height}`, `${probed.width}x${probed.height}`);
      assert.equal(`${sps.width}x${sps.height}`, size);
      assert.equal(sps.profileIdc, PROFILE_IDC[probed.profile], `profile ${probed.profile}`);
      assert.equal(sps.levelIdc, probed.level);
      assert.match(sps.codec, new RegExp(`^avc1\\.${sps.profileIdc.toString(16).toUpperCase().padStart(2, '0')}[0-9A-F]{2}${probed.level.toString(16).toUpperCase().padStart(2, '0')}$`));
    });
  }
});
