/**
 * H.264 passthrough with the real ffmpeg (docs/h264.md, Passthrough): an H.264 file source reaches a framewire/1
 * client untouched (the same NAL units, byte for byte, the same pictures when decoded) with no encoder started;
 * a JPEG viewer of it still gets JPEG; a joiner mid-GOP gets a catch-up burst that decodes; bytes lost in the
 * source (an MPEG-TS with packets cut out of one picture) make viewers skip to the next keyframe, never decode
 * a picture whose reference is missing; keyframes the source sends without SPS/PPS get them.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Frame } from '../../src/client/client.js';
import { createSource, parseSourceSpec } from '../../src/sources/spec.js';
import { splitAnnexB } from '../../src/codecs/h264/annexb.js';
import { NalType, nalType } from '../../src/codecs/h264/nal.js';
import { take } from '../helpers/client.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { hasTool } from '../helpers/tools.js';
import type { RunningServer } from '../../src/server/server.js';
import type { SourceEvent } from '../../src/sources/source.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { StatusReport } from '../../src/server/http/status-report.js';

const W = 320;
const H = 240;
const FPS = 15;
const have = hasTool('ffmpeg', ['-version']) && hasTool('ffprobe', ['-version']);

function need(t: TestContext): boolean {
  if (!have) t.skip('needs ffmpeg and ffprobe (apt-get install ffmpeg)');
  return have;
}

const START = Buffer.from([0, 0, 0, 1]);
/** Annex B with every NAL unit behind a 4-byte start code: framewire's access-unit form. */
const fourByte = (nals: readonly Buffer[]): Buffer => Buffer.concat(nals.flatMap((n) => [START, n]));

/** The md5 of every picture ffmpeg decodes, and whatever it complained about. */
function pictures(file: string, format?: string): { md5: string[]; stderr: string } {
  const r = spawnSync('ffmpeg', ['-v', 'error', ...(format ? ['-f', format] : []), '-i', file, '-map', '0:v:0', '-f', 'framemd5', '-'], {
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 16 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  const md5 = r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
  return { md5, stderr: r.stderr };
}

async function serve(file: string, overrides: { passthrough?: boolean } = {}, http = false): Promise<{ server: RunningServer; events: SourceEvent[] }> {
  const request = { width: W, height: H, fps: FPS };
  const source = createSource(parseSourceSpec(`file:${file}`), request, { loop: false, ...(overrides.passthrough === false ? { h264Passthrough: false } : {}) });
  const server = await startTestServer(
    { codec: 'both', h264Encoder: 'libx264', defaults: { ...request, quality: 75 }, ...overrides, ...(http ? { httpPort: 0 } : {}) },
    { source, ...(http ? { extras: [httpTransport()] } : {}) },
  );
  const events: SourceEvent[] = [];
  server.hub.observe({ sourceEvent: (e) => events.push(e) });
  return { server, events };
}

/** Frames until the source's file ends (STATUS source lost), at most `max`. */
async function untilEnd(server: RunningServer, frames: Frame[], it: AsyncIterator<Frame>, max: number): Promise<void> {
  for (;;) {
    const next = it.next();
    const ended = waitUntil(() => server.hub.lastSourceEvent?.kind === 'lost', 30_000, 'the end of the file').then(() => 'end' as const);
    const r = await Promise.race([next, ended]);
    if (r === 'end') {
      // The last access units may still be on their way: take what arrives within one frame interval more.
      const last = await Promise.race([next, new Promise<null>((res) => setTimeout(() => res(null), 500).unref())]);
      if (last && !last.done) frames.push(last.value);
      return;
    }
    if (r.done || frames.push(r.value) >= max) return;
  }
}

/** ffmpeg children of this process now (the source's, and any encoder). */
function ffmpegChildren(): number {
  const r = spawnSync('ps', ['--ppid', String(process.pid), '-o', 'comm='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() === 'ffmpeg').length;
}

describe('H.264 passthrough', { concurrency: false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-pass-'));
  const mp4 = join(dir, 'clip.mp4');
  const ts = join(dir, 'clip.ts');
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(() => {
    if (!have) return;
    // 6 s of the test pattern, a keyframe every second; MP4 keeps SPS/PPS out of band, MPEG-TS in band.
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`, '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS), '-pix_fmt', 'yuv420p', mp4]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', mp4, '-c:v', 'copy', ts]);
  });

  for (const kind of ['ts', 'mp4'] as const) {
    test(`an H.264 ${kind} file reaches the client untouched, with no encoder started; a JPEG viewer of it gets JPEG`, { timeout: 60_000 }, async (t) => {
      if (!need(t)) return;
      const file = kind === 'ts' ? ts : mp4;
      const refFile = join(dir, `ref-${kind}.h264`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', file, '-c:v', 'copy', ...(kind === 'mp4' ? ['-bsf:v', 'h264_mp4toannexb'] : []), '-f', 'h264', refFile]);
      const ref = splitAnnexB(readFileSync(refFile));
      const { server } = await serve(file);
      try {
        const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
        assert.equal(c.accepted.codec, 'h264');
        assert.deepEqual([c.accepted.width, c.accepted.height], [W, H]);
        const frames: Frame[] = [];
        const it = c[Symbol.asyncIterator]();
        const j = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H });
        assert.equal(j.accepted.codec, 'jpeg');
        for (const f of await within(take(j, 3), 10_000, 'JPEG frames')) assert.deepEqual([f.codec, f.jpeg[0], f.jpeg[1]], ['jpeg', 0xff, 0xd8]);
        await j.close();
        await untilEnd(server, frames, it, 200);
        // One ffmpeg (the source's) and no H.264 encoder; the profile says passthrough.
        assert.equal(ffmpegChildren() <= 1, true, 'no encoder process beside the source');
        const profile = server.hub.profileStats().find((p) => p.key === `${W}x${H}h264pass`);
        assert.ok(profile, `a passthrough profile (${server.hub.profileStats().map((p) => p.key).join(', ')})`);
        assert.equal(profile.encoded, 0);
        assert.ok(profile.passedThrough >= frames.length);
        await c.close();

        assert.ok(frames.length >= FPS, `a second or more of access units (${frames.length})`);
        assert.equal(frames[0]!.keyframe, true);
        for (const f of frames) assert.deepEqual([f.codec, f.width, f.height], ['h264', W, H]);
        // Where the client came in: the reference from the NAL units of the first access unit received.
        const got = frames.flatMap((f) => splitAnnexB(Buffer.from(f.payload)));
        const vcl = (n: Buffer): boolean => { const ty = nalType(n); return ty === NalType.IDR || ty === NalType.SLICE; };
        const firstSlice = got.find(vcl)!;
        const at = ref.findIndex((n) => n.equals(firstSlice));
        assert.ok(at >= 0, 'the first slice received is one of the file');
        let from = at;
        while (from > 0 && !vcl(ref[from - 1]!)) from--;
        const tail = ref.slice(from);
        if (kind === 'ts') {
          // In-band SPS/PPS and AUDs: the very NAL units of the file, in order, nothing added or lost.
          assert.ok(fourByte(tail).equals(Buffer.concat(frames.map((f) => f.payload))), 'byte-identical to ffmpeg -c:v copy -f h264 (4-byte start codes)');
        } else {
          // SPS/PPS out of band: both the reference filter and framewire put them in front of each keyframe
          // (the filter after the SEI, framewire before it); every other NAL unit is the file's, byte for byte.
          const noPs = (ns: Buffer[]): Buffer[] => ns.filter((n) => nalType(n) !== NalType.SPS && nalType(n) !== NalType.PPS);
          assert.ok(fourByte(noPs(tail)).equals(fourByte(noPs(got))), 'the same slices and SEI, byte for byte');
          const ps = (ns: Buffer[]): string[] => ns.filter((n) => nalType(n) === NalType.SPS || nalType(n) === NalType.PPS).map((n) => n.toString('hex'));
          assert.deepEqual(ps(got), ps(tail), 'the same SPS/PPS, once per keyframe');
        }
        assert.equal(frames.length, tail.filter(vcl).length, 'one access unit per picture of the file from the first keyframe on');
        const recv = join(dir, `recv-${kind}.h264`);
        writeFileSync(recv, Buffer.concat(frames.map((f) => f.payload)));
        const mine = pictures(recv, 'h264');
        assert.equal(mine.stderr, '', 'no decode errors');
        const all = pictures(file).md5;
        assert.deepEqual(mine.md5, all.slice(all.length - mine.md5.length), 'the same pictures as the file');
        assert.equal(mine.md5.length, frames.length);
      } finally {
        await server.close();
      }
    });
  }

  test('a viewer joining mid-GOP gets a catch-up burst of the source\'s own access units, and it decodes', { timeout: 60_000 }, async (t) => {
    if (!need(t)) return;
    const { server } = await serve(ts);
    try {
      const first = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      const it = first[Symbol.asyncIterator]();
      // Join when the run since the last keyframe holds a few access units.
      let sinceKey = 0;
      while (sinceKey < 4) {
        const r = await within(it.next(), 10_000, 'a frame');
        assert.ok(!r.done);
        sinceKey = r.value.keyframe ? 1 : sinceKey + 1;
      }
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      const frames = await within(take(c, 2 * FPS), 15_000, 'a burst and live frames');
      await c.close();
      await first.close();
      assert.equal(frames[0]!.keyframe, true);
      const burst = frames.findIndex((f) => !f.catchUp);
      assert.ok(burst >= 3, `a catch-up burst of the run since the keyframe (${burst} catch-up frames)`);
      const recv = join(dir, 'joiner.h264');
      writeFileSync(recv, Buffer.concat(frames.map((f) => f.payload)));
      const got = pictures(recv, 'h264');
      assert.equal(got.stderr, '', 'no decode errors');
      assert.equal(got.md5.length, frames.length);
      const all = new Set(pictures(ts).md5);
      for (const m of got.md5) assert.ok(all.has(m), 'every picture is one of the file');
    } finally {
      await server.close();
    }
  });

  test('bytes lost in the source (packets cut from one picture of an MPEG-TS): logged, counted in /api/status and /metrics, and viewers skip to the next keyframe', { timeout: 60_000 }, async (t) => {
    if (!need(t)) return;
    // Cut two video TS packets out of the middle of a picture 45 % into the file: a continuity-counter error.
    const d = readFileSync(ts);
    const n = d.length / 188;
    const pid = (i: number): number => ((d[i * 188 + 1]! & 0x1f) << 8) | d[i * 188 + 2]!;
    const video = [...Array(n).keys()].filter((i) => pid(i) === 0x100);
    const cut = video.slice(Math.floor(video.length * 0.45)).find((i) => !(d[i * 188 + 1]! & 0x40))!;
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, Buffer.concat([...Array(n).keys()].filter((i) => i !== cut && i !== cut + 1).map((i) => d.subarray(i * 188, (i + 1) * 188))));
    const { server, events } = await serve(bad, {}, true);
    try {
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      const frames: Frame[] = [];
      await untilEnd(server, frames, c[Symbol.asyncIterator](), 200);
      await c.close();
      const recv = join(dir, 'bad-recv.h264');
      writeFileSync(recv, Buffer.concat(frames.map((f) => f.payload)));
      const got = pictures(recv, 'h264');
      assert.equal(got.stderr, '', 'no decode errors');
      const all = new Set(pictures(ts).md5);
      const wrong = got.md5.filter((m) => !all.has(m)).length;
      assert.equal(wrong, 0, `every picture decoded is one of the undamaged file (${wrong} of ${got.md5.length} are not)`);
      assert.ok(got.md5.length < pictures(ts).md5.length, 'the damaged picture and those after it up to the keyframe were skipped');
      assert.ok(frames.some((f, i) => i > 0 && f.keyframe), 'the stream went on at the next keyframe');
      const line = events.find((e) => e.kind === 'log' && e.text.startsWith('H.264 passthrough: dropped'));
      assert.ok(line, `a log line for the loss (${events.map((e) => (e.kind === 'log' ? e.text : e.kind)).join(' | ')})`);
      // The operator sees the loss without reading the log.
      const base = `http://127.0.0.1:${server.extras[0]!.port}`;
      const status = (await (await fetch(`${base}/api/status`)).json()) as StatusReport;
      const p = status.source.passthrough;
      assert.ok(p, 'the status names the passthrough');
      assert.ok(p.dropped + p.gaps >= 1, `the damaged picture is counted (${JSON.stringify(p)})`);
      assert.ok(p.skipped >= 1, `the pictures up to the next keyframe are counted as skipped (${JSON.stringify(p)})`);
      assert.ok(p.units >= frames.length, `every unit a viewer got was passed (${p.units} ≥ ${frames.length})`);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const num = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? NaN);
      assert.equal(num(/^framewire_h264_passthrough_units_total\{outcome="passed"\} (\d+)$/m), p.units);
      assert.equal(num(/^framewire_h264_passthrough_units_total\{outcome="skipped"\} (\d+)$/m), p.skipped);
      assert.equal(num(/^framewire_h264_passthrough_units_total\{outcome="dropped"\} (\d+)$/m) + num(/^framewire_h264_passthrough_events_total\{kind="gap"\} (\d+)$/m), p.dropped + p.gaps);
    } finally {
      await server.close();
    }
  });

  test('keyframes without SPS/PPS (sent once, at the start) get them, so a viewer joining later decodes', { timeout: 60_000 }, async (t) => {
    if (!need(t)) return;
    const raw = join(dir, 'once.h264');
    const nals = splitAnnexB(execFileSync('ffmpeg', ['-v', 'error', '-i', ts, '-c:v', 'copy', '-f', 'h264', '-'], { maxBuffer: 16 << 20 }));
    let seen = 0;
    const once = nals.filter((n) => {
      const ty = nalType(n);
      if (ty !== NalType.SPS && ty !== NalType.PPS) return true;
      return seen++ < 2;
    });
    writeFileSync(raw, fourByte(once));
    assert.equal(once.filter((n) => nalType(n) === NalType.SPS).length, 1, 'the file carries its SPS once');
    const { server } = await serve(raw);
    try {
      // Join after the first keyframe (the only one with SPS/PPS) has gone by.
      await waitUntil(() => (server.hub.source.info.fps > 0 && server.hub.captured > 2 * FPS), 15_000, 'two seconds of the file');
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      const frames = await within(take(c, 2 * FPS), 15_000, 'access units');
      await c.close();
      const keys = frames.filter((f) => f.keyframe);
      assert.ok(keys.length >= 1);
      for (const k of keys) {
        const types = splitAnnexB(Buffer.from(k.payload)).map((n) => nalType(n));
        assert.ok(types.includes(NalType.SPS) && types.includes(NalType.PPS), `a keyframe with SPS and PPS (${types.join(',')})`);
      }
      const recv = join(dir, 'once-recv.h264');
      writeFileSync(recv, Buffer.concat(frames.map((f) => f.payload)));
      const got = pictures(recv, 'h264');
      assert.equal(got.stderr, '', 'no decode errors');
      assert.equal(got.md5.length, frames.length);
    } finally {
      await server.close();
    }
  });

  test('--no-passthrough: an H.264 viewer at the source size gets an encode', { timeout: 60_000 }, async (t) => {
    if (!need(t)) return;
    const { server } = await serve(ts, { passthrough: false });
    try {
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      await within(take(c, 3), 15_000, 'access units');
      assert.deepEqual(server.hub.profileStats().map((p) => p.key).filter((k) => k.includes('h264')), [`${W}x${H}h264b2000000`]);
      await c.close();
    } finally {
      await server.close();
    }
  });
});
