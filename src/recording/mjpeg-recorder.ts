/**
 * Records JPEGs back to back as MJPEG (ffplay, VLC and mpv play it; ffmpeg's mjpeg demuxer reads it).
 *
 * Single file (segmentSeconds 0) or segments: a directory receiving NNNNNN-<UTC time>.mjpeg, a new one every
 * segmentSeconds. A closed segment is flushed to disk (fsync) before the next opens, so a crash or power cut
 * loses at most the open segment's tail; MJPEG has no index to corrupt, so even that segment plays up to
 * its last complete frame.
 *
 * Recording never holds up viewing: writes are asynchronous, frames are skipped (counted) while the disk
 * is behind, and a write error (disk full, unwritable directory) stops recording with a clear error
 * while the stream goes on.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { TsMuxer } from '../codecs/mpegts.js';
import { FramewireError } from '../errors.js';

export interface RecorderOptions {
  /** A file (single) or a directory (segmented). */
  path: string;
  /** 0: one file. Otherwise a new segment every this many seconds. */
  segmentSeconds?: number;
  /** Told once when recording fails. */
  onError?: (e: FramewireError) => void;
  /**
   * `mjpeg` (default): JPEGs back to back in .mjpeg files. `h264-ts`: H.264 access units in MPEG-TS .ts files
   * (src/codecs/mpegts.ts), each segment starting at a keyframe, skips running to the next keyframe.
   */
  format?: 'mjpeg' | 'h264-ts';
}

/** What an H.264 access unit needs beyond its bytes to go into MPEG-TS. */
export interface AccessUnitInfo {
  readonly captureUs: number;
  readonly keyframe: boolean;
}

function describe(e: NodeJS.ErrnoException, path: string): FramewireError {
  const why =
    e.code === 'ENOSPC' ? 'disk full' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOTDIR' ? 'a parent is not a directory' : e.message;
  return new FramewireError('E_IO', `recording to ${path} failed: ${why}`, { cause: e });
}

export class MjpegRecorder {
  private out: WriteStream | null = null;
  private segmentStartMs = 0;
  private segmentIndex = 0;
  private behind = false;
  private awaitKey = false;
  private mux = new TsMuxer();
  private failure: FramewireError | null = null;
  private readonly segmentMs: number;
  private readonly closing = new Set<Promise<void>>();
  written = 0;
  skipped = 0;
  /** Paths of segments closed so far (segmented mode). */
  readonly closedSegments: string[] = [];

  constructor(private readonly options: RecorderOptions) {
    this.segmentMs = (options.segmentSeconds ?? 0) * 1000;
    if (this.segmentMs > 0) {
      try {
        mkdirSync(options.path, { recursive: true });
      } catch (e) {
        this.fail(describe(e as NodeJS.ErrnoException, options.path));
      }
    }
  }

  get error(): FramewireError | null {
    return this.failure;
  }

  get currentPath(): string | null {
    return this.out ? (this.out.path as string) : null;
  }

  /** A JPEG, or (format `h264-ts`) an access unit with its `au` info. */
  write(jpeg: Uint8Array, au?: AccessUnitInfo): void {
    if (this.failure) return;
    const now = Date.now();
    const ts = this.options.format === 'h264-ts';
    // An H.264 segment must start at a keyframe to decode on its own: rotation waits for one.
    const due = !this.out || (this.segmentMs > 0 && now - this.segmentStartMs >= this.segmentMs);
    if (due && (!ts || au?.keyframe === true)) this.rotate(now);
    if (!this.out) {
      // Only H.264 has no file yet without a failure: it waits for its first keyframe.
      if (ts) this.skipped++;
      return;
    }
    if (ts && this.awaitKey && au?.keyframe === true && !this.behind) this.awaitKey = false;
    if (this.behind || (ts && this.awaitKey)) {
      // A skipped access unit breaks the reference chain up to the next keyframe.
      if (ts) this.awaitKey = true;
      this.skipped++;
      return;
    }
    this.written++;
    const bytes = ts ? this.mux.accessUnit(jpeg, au?.captureUs ?? now * 1000, au?.keyframe === true) : jpeg;
    if (!this.out.write(bytes)) this.behind = true;
  }

  async close(): Promise<void> {
    this.finishSegment();
    await Promise.all(this.closing);
  }

  private rotate(now: number): void {
    this.finishSegment();
    const path =
      this.segmentMs > 0
        ? join(this.options.path, `${String(++this.segmentIndex).padStart(6, '0')}-${new Date(now).toISOString().replace(/[:.]/g, '-')}.${this.options.format === 'h264-ts' ? 'ts' : 'mjpeg'}`)
        : this.options.path;
    // flush: fsync before close, so a closed segment survives a power cut.
    // H.264: a keyframe alone passes the default 16 KiB mark, and a skip costs the rest of its GOP, so "behind"
    // means 1 MiB waiting for the disk.
    const highWaterMark = this.options.format === 'h264-ts' ? 1 << 20 : undefined;
    const out = createWriteStream(path, { flags: this.segmentMs > 0 ? 'wx' : 'w', flush: true, ...(highWaterMark ? { highWaterMark } : {}) });
    out.on('drain', () => {
      this.behind = false;
    });
    out.on('error', (e: NodeJS.ErrnoException) => this.fail(describe(e, path)));
    this.out = out;
    this.mux = new TsMuxer();
    this.segmentStartMs = now;
    this.behind = false;
  }

  private finishSegment(): void {
    const out = this.out;
    if (!out) return;
    this.out = null;
    const done: Promise<void> = new Promise<void>((resolve) => {
        if (out.destroyed) return resolve();
        out.end(() => {
          if (this.segmentMs > 0 && !this.failure) this.closedSegments.push(out.path as string);
          resolve();
        });
        out.once('error', () => resolve());
      }).then(() => {
      this.closing.delete(done);
    });
    this.closing.add(done);
  }

  private fail(e: FramewireError): void {
    if (this.failure) return;
    this.failure = e;
    this.out?.destroy();
    this.out = null;
    this.options.onError?.(e);
  }
}
