/**
 * 8. Bytes per frame of H.264 against JPEG quality 80 at equal or better SSIM, on the test pattern and on a
 * synthetic camera-like clip: JPEG through the encoder the server uses, H.264 through H264Encoder at a
 * ladder of bitrates; the smallest bitrate whose SSIM reaches JPEG's gives the ratio.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeForProfile } from '../../src/pipeline/encoder.js';
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { cameraLikeClip, h264EncoderRun, readFrame, ssimAgainst, testPatternClip, type RawClip } from '../lib/h264.js';

const QUALITY = 80;
const TARGET = 1 / 8;

function ladder(ctx: BenchContext): number[] {
  return (ctx.smoke ? [500, 2000] : [500, 1000, 1500, 2000, 3000, 4000, 6000, 8000]).map((k) => k * 1000);
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

async function jpegOf(ctx: BenchContext, clip: RawClip, tag: string): Promise<{ bytes: number; ssim: number }> {
  const file = path.join(ctx.tmp, `${tag}.mjpeg`);
  const fd = fs.openSync(file, 'w');
  let total = 0;
  try {
    for (let i = 0; i < clip.frames; i++) {
      const jpeg = await encodeForProfile({ seq: i, captureUs: i, width: clip.width, height: clip.height, format: 'rgb24', data: readFrame(clip, i) }, { width: clip.width, height: clip.height, quality: QUALITY });
      fs.writeSync(fd, jpeg);
      total += jpeg.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  const s = await ssimAgainst(file, 'mjpeg', clip);
  if (s.frames !== clip.frames) throw new Error(`JPEG: SSIM over ${s.frames} of ${clip.frames} frames`);
  fs.rmSync(file);
  return { bytes: total / clip.frames, ssim: s.all };
}

async function h264Of(ctx: BenchContext, clip: RawClip, tag: string, bitrate: number): Promise<{ bytes: number; keyBytes: number; ssim: number }> {
  const { aus } = await h264EncoderRun((i) => readFrame(clip, i), clip.frames, { width: clip.width, height: clip.height, bitrate });
  const file = path.join(ctx.tmp, `${tag}-${bitrate}.h264`);
  fs.writeFileSync(file, Buffer.concat(aus.map((a) => a.data)));
  const s = await ssimAgainst(file, 'h264', clip);
  fs.rmSync(file);
  if (s.frames !== clip.frames) throw new Error(`H.264 ${bitrate / 1000} kbit/s: SSIM over ${s.frames} of ${clip.frames} frames`);
  const keys = aus.filter((a) => a.keyframe);
  return { bytes: aus.reduce((n, a) => n + a.data.length, 0) / aus.length, keyBytes: keys.reduce((n, a) => n + a.data.length, 0) / Math.max(1, keys.length), ssim: s.all };
}

export const h264Bytes: Scenario = {
  name: 'h264-bytes',
  async run(ctx: BenchContext): Promise<Section> {
    const title = '8. H.264 vs JPEG q80: bytes per frame at equal or better SSIM';
    if (!ctx.tools.ffmpeg.ok) return { title, tables: [], notes: ['not measured: ffmpeg missing'] };
    const [w, h, n] = ctx.smoke ? [640, 360, 30] : [1280, 720, 150];
    const rows: string[][] = [];
    const ladderRows: string[][] = [];
    const clips: [string, () => Promise<RawClip>][] = [
      ['pattern', async () => testPatternClip(path.join(ctx.tmp, 'pattern.rgb'), w, h, n)],
      ['camera', () => cameraLikeClip(path.join(ctx.tmp, 'camera.rgb'), w, h, n, 'daylight')],
      ['camera-dim', () => cameraLikeClip(path.join(ctx.tmp, 'camera-dim.rgb'), w, h, n, 'dim')],
    ];
    for (const [tag, make] of clips) {
      let clip: RawClip | null = null;
      try {
        clip = await make();
        const jpeg = await jpegOf(ctx, clip, tag);
        ctx.log(`h264-bytes ${clip.name}: JPEG q${QUALITY} ${kb(jpeg.bytes)}/frame, SSIM ${jpeg.ssim.toFixed(4)}`);
        let best: { bitrate: number; bytes: number; ssim: number } | null = null;
        for (const bitrate of ladder(ctx)) {
          const r = await h264Of(ctx, clip, tag, bitrate);
          ctx.log(`h264-bytes ${clip.name}: H.264 ${bitrate / 1000} kbit/s ${kb(r.bytes)}/frame (keyframe ${kb(r.keyBytes)}), SSIM ${r.ssim.toFixed(4)}`);
          const meets = r.ssim >= jpeg.ssim;
          ladderRows.push([clip.name, `${bitrate / 1000}`, kb(r.bytes), kb(r.keyBytes), r.ssim.toFixed(4), meets ? 'yes' : 'no', `${(r.bytes / jpeg.bytes).toFixed(3)}`]);
          if (meets && !best) best = { bitrate, bytes: r.bytes, ssim: r.ssim };
        }
        const ratio = best ? best.bytes / jpeg.bytes : null;
        rows.push([
          clip.name,
          `${clip.width}×${clip.height}, ${clip.frames} frames`,
          kb(jpeg.bytes),
          jpeg.ssim.toFixed(4),
          best ? `${best.bitrate / 1000}` : `none up to ${ladder(ctx).at(-1)! / 1000}`,
          best ? kb(best.bytes) : '–',
          best ? best.ssim.toFixed(4) : '–',
          ratio !== null ? `${ratio.toFixed(3)} (1/${(1 / ratio).toFixed(1)})` : '–',
        ]);
        ctx.targets.push({
          target: `H.264 bytes/frame ≤ 1/8 of JPEG q80 at equal or better SSIM (${clip.name})`,
          value: best && ratio !== null ? `${kb(best.bytes)} at ${best.bitrate / 1000} kbit/s vs ${kb(jpeg.bytes)} = 1/${(1 / ratio).toFixed(1)} (SSIM ${best.ssim.toFixed(4)} ≥ ${jpeg.ssim.toFixed(4)})` : `no bitrate up to ${ladder(ctx).at(-1)! / 1000} kbit/s reached JPEG's SSIM ${jpeg.ssim.toFixed(4)}`,
          met: ratio !== null ? ratio <= TARGET : false,
        });
      } catch (e) {
        rows.push([tag, `failed: ${errorText(e)}`, '', '', '', '', '', '']);
        ctx.targets.push({ target: `H.264 bytes/frame ≤ 1/8 of JPEG q80 at equal or better SSIM (${tag})`, value: `failed: ${errorText(e)}`, met: null });
      } finally {
        if (clip) fs.rmSync(clip.file, { force: true });
      }
    }
    return {
      title,
      tables: [
        { headers: ['source', 'frames', 'JPEG q80 bytes/frame', 'JPEG SSIM', 'smallest H.264 kbit/s with SSIM ≥ JPEG', 'H.264 bytes/frame', 'H.264 SSIM', 'H.264 / JPEG bytes'], rows },
        { caption: 'the H.264 ladder', headers: ['source', 'kbit/s', 'bytes/frame', 'keyframe bytes', 'SSIM', '≥ JPEG SSIM', 'bytes / JPEG bytes'], rows: ladderRows },
      ],
      notes: [
        "JPEG: `encodeForProfile`, the server's encoder (native libjpeg-turbo when built, else sharp), quality 80, 4:2:0. H.264: `H264Encoder` with what `serve` gives an H.264 profile by default apart from the bitrate: libx264 ultrafast, zerolatency, no B-frames, GOP 60 (2 s at 30 fps), CBR-like (`-b:v` = `-maxrate` = `-bufsize`), the frames timed at 30 fps, fed as fast as it takes them.",
        "SSIM: ffmpeg's `ssim` filter, its \"All\" figure over every frame, each decoded stream converted to RGB by its own colour tags and compared as planar RGB with the raw RGB frames it was encoded from (so 4:2:0 chroma costs both codecs alike). The ratio is the bytes per frame (keyframes included) of the smallest bitrate of the ladder whose SSIM is at least JPEG's.",
        'test pattern: the frames `serve --source testpattern` draws (a scrolling background, a moving ball, text), a fixed clock so every run encodes the same pixels. Its motion is easy to predict.',
        "synthetic camera-like clip: made by ffmpeg's lavfi alone, no footage (bench/lib/h264.ts, `cameraLikeFilter`): a still scene of four octaves of value noise (random pixels at 1/48, 1/12, 1/3 and 1/1 of a 1920×1080 canvas scaled up bicubically, mixed 8:4:2:1, for detail at every scale falling off with frequency), contrast 1.6 (daylight) or 2.2 (dim: gain raises contrast), saturation 0.5, lit by a four-colour `gradients` field (overlay blend); a 1280×720 window pans over it along two slow sinusoids (10 s and 13 s periods, up to ~190 px/s); gblur σ 0.6 for optics; new sensor noise every frame (`noise=alls=2:allf=t` in daylight, `alls=6` dim). It is synthetic, not a camera recording: no occlusions, no moving objects, no lighting changes; its texture and noise make it harder to compress than the test pattern, a real scene may be easier or harder.",
      ],
    };
  },
};
