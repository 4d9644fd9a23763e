/**
 * Incremental JPEG stream splitter: turns arbitrary chunks of a concatenated JPEG stream
 * (ffmpeg `-f mjpeg pipe:1`) into complete JPEG buffers by following the marker structure:
 * SOI, length-prefixed segments, entropy-coded data after SOS (where FF00 stuffing and RST0-7
 * do not end the scan), EOI. It never searches naively for FFD9, so an FFD9 inside a segment
 * (e.g. an EXIF thumbnail) does not cut a frame short.
 *
 * Cost: bytes of a frame are referenced (not copied) while it is incomplete and copied exactly
 * once into the output buffer when its EOI arrives. Memory is bounded by maxFrameBytes plus one chunk.
 */

export interface JpegSplitterOptions {
  /** Frames larger than this are dropped (counted in stats.oversize); default 16 MiB. */
  maxFrameBytes?: number;
}

export interface JpegSplitterStats {
  /** Complete frames emitted. */
  frames: number;
  /** Bytes skipped outside any frame (before SOI / between EOI and the next SOI). */
  garbageBytes: number;
  /** Frames dropped because they exceeded maxFrameBytes. */
  oversize: number;
  /** Frames abandoned because a new SOI began before their EOI, or the stream ended inside one. */
  truncated: number;
  /** Frames abandoned because the marker structure was invalid (the splitter then resyncs on SOI). */
  corrupt: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Parser states. */
const S = {
  /** Outside a frame, looking for FF D8. */
  Seek: 0,
  /** Inside a frame, expecting the FF of the next marker. */
  MarkerFF: 1,
  /** Inside a frame, got FF, expecting the marker code (FF = fill byte). */
  MarkerCode: 2,
  LenHi: 3,
  LenLo: 4,
  /** Skipping a segment's payload. */
  Skip: 5,
  /** Entropy-coded data after SOS. */
  Entropy: 6,
  /** Entropy-coded data, the previous byte was FF. */
  EntropyFF: 7,
} as const;
type S = (typeof S)[keyof typeof S];

const SOI_BYTES = Buffer.from([0xff, 0xd8]);

export class JpegSplitter {
  readonly maxFrameBytes: number;
  readonly stats: JpegSplitterStats = { frames: 0, garbageBytes: 0, oversize: 0, truncated: 0, corrupt: 0 };

  private state: S = S.Seek;
  /** Seek state: the previous byte (at the end of the previous chunk) was FF. */
  private seekFF = false;
  private marker = 0;
  private lenHi = 0;
  private skip = 0;
  /** Completed pieces of the current frame from earlier chunks (views, not copies). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** True while inside a frame that is too large: the structure is followed but bytes are not kept. */
  private discarding = false;

  constructor(options: JpegSplitterOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 4) throw new RangeError(`maxFrameBytes must be an integer >= 4, got ${max}`);
    this.maxFrameBytes = max;
  }

  /** True while bytes of an unfinished frame are held. */
  get inFrame(): boolean {
    return this.state !== S.Seek;
  }

  /** Feed the next chunk; returns the frames completed by it (usually 0 or 1), in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    // Start of the current frame's bytes within this chunk (-1: not in a frame in this chunk).
    let start = this.state === S.Seek ? -1 : 0;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case S.Seek: {
          if (this.seekFF) {
            // The previous chunk ended with FF.
            this.seekFF = false;
            if (chunk[i] === 0xd8) {
              i++;
              start = this.beginFrame(i);
              break;
            }
            this.stats.garbageBytes++; // that FF was garbage; chunk[i] is examined below
          }
          const ff = chunk.indexOf(0xff, i);
          if (ff === -1) {
            this.stats.garbageBytes += n - i;
            i = n;
            break;
          }
          this.stats.garbageBytes += ff - i;
          if (ff + 1 >= n) {
            this.seekFF = true;
            i = n;
            break;
          }
          if (chunk[ff + 1] === 0xd8) {
            i = ff + 2;
            start = this.beginFrame(i);
          } else {
            this.stats.garbageBytes++;
            i = ff + 1;
          }
          break;
        }
        case S.MarkerFF: {
          if (chunk[i] !== 0xff) {
            this.abandon('corrupt');
            start = -1;
            break; // resync on this byte
          }
          i++;
          this.state = S.MarkerCode;
          break;
        }
        case S.MarkerCode: {
          const b = chunk[i++]!;
          if (b === 0xff) break; // fill byte
          start = this.onMarker(b, chunk, i, start, out);
          break;
        }
        case S.LenHi: {
          this.lenHi = chunk[i++]!;
          this.state = S.LenLo;
          break;
        }
        case S.LenLo: {
          const len = (this.lenHi << 8) | chunk[i++]!;
          if (len < 2) {
            this.abandon('corrupt');
            start = -1;
            break;
          }
          this.skip = len - 2;
          this.state = this.skip > 0 ? S.Skip : this.afterSegment();
          break;
        }
        case S.Skip: {
          const take = Math.min(this.skip, n - i);
          i += take;
          this.skip -= take;
          if (this.skip === 0) this.state = this.afterSegment();
          break;
        }
        case S.Entropy: {
          const ff = chunk.indexOf(0xff, i);
          if (ff === -1) {
            i = n;
            break;
          }
          i = ff + 1;
          this.state = S.EntropyFF;
          break;
        }
        case S.EntropyFF: {
          const b = chunk[i++]!;
          if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) this.state = S.Entropy; // stuffing / RSTn
          else if (b === 0xff) {
            // fill byte; stay
          } else start = this.onMarker(b, chunk, i, start, out);
          break;
        }
      }
    }
    if (this.state !== S.Seek && start >= 0 && start < n) this.keep(chunk.subarray(start));
    return out;
  }

  /** End of stream: an unfinished frame is dropped and counted as truncated. */
  end(): void {
    if (this.state !== S.Seek) this.abandon('truncated');
    this.seekFF = false;
  }

  /** Forget any partial frame without counting it (e.g. after restarting the producer). */
  reset(): void {
    this.state = S.Seek;
    this.seekFF = false;
    this.parts = [];
    this.partsBytes = 0;
    this.discarding = false;
  }

  private beginFrame(startInChunk: number): number {
    this.parts = [SOI_BYTES];
    this.partsBytes = 2;
    this.discarding = false;
    this.state = S.MarkerFF;
    return startInChunk;
  }

  private afterSegment(): S {
    return this.marker === 0xda ? S.Entropy : S.MarkerFF;
  }

  /** Handle marker code `b`, whose byte ends just before chunk[i]. Returns the new frame start. */
  private onMarker(b: number, chunk: Buffer, i: number, start: number, out: Buffer[]): number {
    if (b === 0xd9) {
      this.finishFrame(chunk, start, i, out);
      this.state = S.Seek;
      return -1;
    }
    if (b === 0xd8) {
      // A new image starts before the previous one ended.
      this.abandon('truncated');
      return this.beginFrame(i);
    }
    if (b === 0x01 || (b >= 0xd0 && b <= 0xd7)) {
      this.state = S.MarkerFF; // standalone markers carry no length
      return start;
    }
    this.marker = b;
    this.state = S.LenHi;
    return start;
  }

  private keep(piece: Buffer): void {
    if (this.discarding) return;
    this.partsBytes += piece.length;
    if (this.partsBytes > this.maxFrameBytes) {
      this.discarding = true;
      this.parts = [];
      return;
    }
    this.parts.push(piece);
  }

  private finishFrame(chunk: Buffer, start: number, end: number, out: Buffer[]): void {
    const tailLen = start >= 0 ? end - start : 0;
    const total = this.partsBytes + tailLen;
    if (this.discarding || total > this.maxFrameBytes) {
      this.stats.oversize++;
    } else {
      const frame = Buffer.allocUnsafe(total);
      let off = 0;
      for (const p of this.parts) {
        p.copy(frame, off);
        off += p.length;
      }
      if (tailLen > 0) chunk.copy(frame, off, start, end);
      out.push(frame);
      this.stats.frames++;
    }
    this.parts = [];
    this.partsBytes = 0;
    this.discarding = false;
  }

  private abandon(why: 'truncated' | 'corrupt'): void {
    if (this.discarding) this.stats.oversize++;
    else this.stats[why]++;
    this.parts = [];
    this.partsBytes = 0;
    this.discarding = false;
    this.state = S.Seek;
  }
}
