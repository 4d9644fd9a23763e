/**
 * Test media shared by framewire and the references: the same test-pattern frames as PPM (tjbench), and
 * encoded once with framewire's encoder into an MJPEG stream (GStreamer, framewire's file source, the tutorial).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encodeForProfile } from '../../src/pipeline/encoder.js';
import type { RawFrame } from '../../src/sources/source.js';
import { TestPatternRenderer } from '../../src/sources/testpattern.js';

/** Fixed capture time so every run renders the same pixels. */
const FIXED_US = Date.UTC(2024, 0, 1, 12, 0, 0) * 1000;

export function testFrames(width: number, height: number, count: number): RawFrame[] {
  const r = new TestPatternRenderer(width, height);
  return Array.from({ length: count }, (_, n) => ({
    seq: n,
    captureUs: FIXED_US + Math.round((n * 1e6) / 30),
    width,
    height,
    format: 'rgb24' as const,
    data: r.render(n, FIXED_US + Math.round((n * 1e6) / 30)),
  }));
}

export function writePpm(file: string, f: RawFrame): void {
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`P6\n${f.width} ${f.height}\n255\n`, 'latin1'), f.data]));
}

/**
 * `count` test-pattern frames encoded with encodeForProfile, concatenated (frames.mjpeg), and the same
 * JPEGs wrapped without re-encoding in an AVI at `fps` (frames.avi) so demuxers know the rate.
 * Returns the AVI path, or the .mjpeg when ffmpeg is missing.
 */
export async function makeMjpeg(dir: string, width: number, height: number, fps: number, quality: number, count: number): Promise<{ mjpeg: string; avi: string | null; meanBytes: number }> {
  const mjpeg = path.join(dir, `frames-${width}x${height}.mjpeg`);
  const r = new TestPatternRenderer(width, height);
  const fd = fs.openSync(mjpeg, 'w');
  let total = 0;
  try {
    for (let n = 0; n < count; n++) {
      const us = FIXED_US + Math.round((n * 1e6) / fps);
      const frame: RawFrame = { seq: n, captureUs: us, width, height, format: 'rgb24', data: r.render(n, us) };
      const jpeg = await encodeForProfile(frame, { width, height, quality });
      fs.writeSync(fd, jpeg);
      total += jpeg.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  let avi: string | null = path.join(dir, `frames-${width}x${height}.avi`);
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-framerate', String(fps), '-f', 'mjpeg', '-i', mjpeg, '-c:v', 'copy', avi], { stdio: 'ignore', timeout: 60_000 });
  } catch {
    avi = null;
  }
  return { mjpeg, avi, meanBytes: total / count };
}
