/**
 * Writes received JPEGs back to back into a .mjpeg file (ffplay, VLC and mpv play it; ffmpeg's mjpeg demuxer).
 * Never buffers without bound: while the disk is behind, frames are skipped and counted.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { FramewireError } from '../errors.js';

export class MjpegRecorder {
  private readonly out: WriteStream;
  private behind = false;
  private failure: FramewireError | null = null;
  written = 0;
  skipped = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.on('drain', () => {
      this.behind = false;
    });
    this.out.on('error', (e: NodeJS.ErrnoException) => {
      this.failure = new FramewireError('E_IO', `cannot write ${path}: ${e.code === 'ENOSPC' ? 'disk full' : e.message}`, { cause: e });
    });
  }

  /** The write error, if recording failed (viewing goes on regardless). */
  get error(): FramewireError | null {
    return this.failure;
  }

  write(jpeg: Uint8Array): void {
    if (this.failure) return;
    if (this.behind) {
      this.skipped++;
      return;
    }
    this.written++;
    if (!this.out.write(jpeg)) this.behind = true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.out.destroyed) return resolve();
      this.out.end(() => resolve());
      this.out.once('error', () => resolve());
    });
  }
}
