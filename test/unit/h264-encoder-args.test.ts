/**
 * The pure parts of the H.264 encoder: its settings and ffmpeg command line (h264-encoder-args.ts), the
 * reading of ffmpeg's failure output (h264-encoder-probe.ts), and matching access units to frames by
 * timestamp (h264-frame-labels.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildH264EncoderArgs, H264_ENCODERS, isH264EncoderChoice, validateH264Settings } from '../../src/pipeline/h264-encoder-args.js';
import { probeFailureLine } from '../../src/pipeline/h264-encoder-probe.js';
import { FLV_TIMESTAMP_MODULO, InFlightFrames } from '../../src/pipeline/h264-frame-labels.js';
import { codeOf } from '../helpers/errors.js';

const ok = { width: 1280, height: 720, fps: 30, bitrate: 2_000_000, gop: 60 };

describe('H.264 settings', () => {
  test('out-of-range size, rate, bitrate or GOP is E_BAD_PARAMS naming the field and its range', { timeout: 5000 }, () => {
    const cases: [Partial<typeof ok>, RegExp][] = [
      [{ width: 641 }, /even/],
      [{ width: 8 }, /width must be an integer in 16\.\.7680/],
      [{ height: 5000 }, /height/],
      [{ fps: 0 }, /frame rate must be an integer in 1\.\.120/],
      [{ fps: 29.97 }, /frame rate/],
      [{ bitrate: 10_000 }, /bitrate \(bit\/s\) must be an integer in 50000\.\.100000000/],
      [{ gop: 0 }, /GOP \(frames between keyframes\) must be an integer in 1\.\.3600/],
      [{ gop: 3601 }, /GOP/],
    ];
    for (const [bad, msg] of cases) {
      assert.equal(codeOf(() => validateH264Settings({ ...ok, ...bad })), 'E_BAD_PARAMS', JSON.stringify(bad));
      assert.throws(() => validateH264Settings({ ...ok, ...bad }), msg);
    }
    assert.equal(codeOf(() => validateH264Settings({ ...ok, preset: 'slow' as never })), 'E_BAD_PARAMS');
    assert.deepEqual(validateH264Settings(ok), { ...ok, preset: 'ultrafast', vaapiDevice: '/dev/dri/renderD128' });
  });

  test('encoder names', { timeout: 5000 }, () => {
    for (const n of ['auto', ...H264_ENCODERS]) assert.ok(isH264EncoderChoice(n));
    assert.ok(!isH264EncoderChoice('h264_omx'));
  });
});

describe('H.264 ffmpeg command line', () => {
  const s = validateH264Settings(ok);
  const flagValue = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

  test('libx264: zero latency, a keyframe every GOP with headers, AUD, rate control, FLV flushed per packet', { timeout: 5000 }, () => {
    const args = buildH264EncoderArgs('libx264', s, { kind: 'rgb24-stdin', width: 1280, height: 720 });
    assert.equal(flagValue(args, '-c:v'), 'libx264');
    assert.equal(flagValue(args, '-tune'), 'zerolatency');
    assert.equal(flagValue(args, '-preset'), 'ultrafast');
    assert.equal(flagValue(args, '-bf'), '0');
    assert.equal(flagValue(args, '-g'), '60');
    assert.equal(flagValue(args, '-b:v'), '2000000');
    assert.equal(flagValue(args, '-maxrate'), '2000000');
    const x264 = flagValue(args, '-x264-params')!.split(':');
    for (const p of ['aud=1', 'repeat-headers=1', 'rc-lookahead=0', 'sync-lookahead=0', 'scenecut=0']) assert.ok(x264.includes(p), p);
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-f') + 9), ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '1280x720', '-r', '30', '-i']);
    assert.equal(flagValue(args, '-vf'), 'format=yuv420p', 'no scaling when the input is the output size');
    assert.deepEqual(args.slice(-5), ['-flush_packets', '1', '-f', 'flv', 'pipe:1']);
  });

  test('input of another size is scaled by ffmpeg; every encoder gets -bf 0 and the GOP', { timeout: 5000 }, () => {
    for (const name of H264_ENCODERS) {
      const args = buildH264EncoderArgs(name, s, { kind: 'rgb24-stdin', width: 640, height: 480 });
      assert.match(flagValue(args, '-vf')!, /^scale=1280:720:flags=bilinear,/, name);
      assert.equal(flagValue(args, '-bf'), '0', name);
      assert.equal(flagValue(args, '-g'), '60', name);
      assert.equal(flagValue(args, '-c:v'), name);
    }
    const vaapi = buildH264EncoderArgs('h264_vaapi', s, { kind: 'rgb24-stdin', width: 1280, height: 720 });
    assert.ok(vaapi.indexOf('-vaapi_device') < vaapi.indexOf('-i'), 'the device is opened before the input');
    assert.match(flagValue(vaapi, '-vf')!, /hwupload$/);
  });
});

describe('reading ffmpeg\'s failure', () => {
  test('the first line a component wrote, without its tag; else the first line', { timeout: 5000 }, () => {
    assert.equal(
      probeFailureLine('[h264_nvenc @ 0x55d1c0] Cannot load libcuda.so.1\nError initializing output stream 0:0 -- Error while opening encoder\n'),
      'Cannot load libcuda.so.1',
    );
    assert.equal(probeFailureLine("Unknown encoder 'libx264'\n"), "Unknown encoder 'libx264'");
    assert.equal(probeFailureLine(''), 'no error output');
  });
});

describe('matching access units to frames', () => {
  test('timestamps are k/fps in whole ms (as ffmpeg rounds them) for common rates', { timeout: 5000 }, () => {
    const f = new InFlightFrames(30);
    assert.deepEqual([0, 1, 2, 3, 30].map((k) => f.expectedMs(k)), [0, 33, 67, 100, 1000]);
    assert.deepEqual([1, 2, 3].map((k) => new InFlightFrames(16).expectedMs(k)), [63, 125, 188]);
  });

  test('in order; a frame the encoder dropped is skipped and counted; an access unit for no frame matches nothing', { timeout: 5000 }, () => {
    const f = new InFlightFrames(25);
    for (let seq = 10; seq < 15; seq++) f.written({ seq, captureUs: seq * 40_000 }, 0);
    assert.deepEqual(f.match(0), { label: { seq: 10, captureUs: 400_000 }, skipped: 0 });
    assert.deepEqual(f.match(120), { label: { seq: 13, captureUs: 520_000 }, skipped: 2 }, 'frames 11 and 12 were dropped');
    assert.deepEqual(f.match(80), { label: null, skipped: 0 }, 'older than every waiting frame');
    assert.equal(f.length, 1);
    assert.deepEqual(f.match(160), { label: { seq: 14, captureUs: 560_000 }, skipped: 0 });
    assert.deepEqual(f.match(200), { label: null, skipped: 0 });
  });

  test('matching survives the 2^31 ms wrap of FLV timestamps', { timeout: 5000 }, () => {
    const fps = 30;
    const first = Math.floor(((FLV_TIMESTAMP_MODULO - 100) * fps) / 1000);
    const f = new InFlightFrames(fps, first);
    for (let i = 0; i < 8; i++) f.written({ seq: i, captureUs: 0 }, 0);
    const seqs: number[] = [];
    for (let i = 0; i < 8; i++) {
      if (i === 5) continue; // dropped inside the encoder, across the wrap
      const pts = Math.round(((first + i) * 1000) / fps) % FLV_TIMESTAMP_MODULO;
      const m = f.match(pts);
      assert.ok(m.label, `frame ${i} at ${pts} ms`);
      seqs.push(m.label.seq);
    }
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 6, 7]);
  });

  test('property: any rate, any drops → every surviving frame gets its own label, drops are counted', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.nat(1_000_000), (fps, kept, first) => {
        const f = new InFlightFrames(fps, first);
        kept.forEach((_, i) => f.written({ seq: i, captureUs: i }, 0));
        let skipped = 0;
        const got: number[] = [];
        kept.forEach((k, i) => {
          if (!k) return;
          const m = f.match(Math.round(((first + i) * 1000) / fps) % FLV_TIMESTAMP_MODULO);
          skipped += m.skipped;
          if (m.label) got.push(m.label.seq);
        });
        const want = kept.flatMap((k, i) => (k ? [i] : []));
        assert.deepEqual(got, want);
        const lastKept = kept.lastIndexOf(true);
        assert.equal(skipped, kept.slice(0, lastKept + 1).filter((k) => !k).length);
      }),
      { numRuns: 500 },
    );
  });
});
