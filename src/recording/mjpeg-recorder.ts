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
import { FramewireError } from '../errors.js';

export interface RecorderOptions {
  /** A file (single) or a directory (segmented). */
  path: string;
  /** 0: one file. Otherwise a new segment every this many seconds. */
  segmentSeconds?: number;
  /** Told once when recording fails. */
  onError?: (e: FramewireError) => void;
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

  write(jpeg: Uint8Array): void {
    if (this.failure) return;
    const now = Date.now();
    if (!this.out || (this.segmentMs > 0 && now - this.segmentStartMs >= this.segmentMs)) this.rotate(now);
    if (!this.out) return;
    if (this.behind) {
      this.skipped++;
      return;
    }
    this.written++;
    if (!this.out.write(jpeg)) this.behind = true;
  }

  async close(): Promise<void> {
    this.finishSegment();
    await Promise.all(this.closing);
  }

  private rotate(now: number): void {
    this.finishSegment();
    const path =
      this.segmentMs > 0
        ? join(this.options.path, `${String(++this.segmentIndex).padStart(6, '0')}-${new Date(now).toISOString().replace(/[:.]/g, '-')}.mjpeg`)
        : this.options.path;
    // flush: fsync before close, so a closed segment survives a power cut.
    const out = createWriteStream(path, { flags: this.segmentMs > 0 ? 'wx' : 'w', flush: true });
    out.on('drain', () => {
      this.behind = false;
    });
    out.on('error', (e: NodeJS.ErrnoException) => this.fail(describe(e, path)));
    this.out = out;
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
