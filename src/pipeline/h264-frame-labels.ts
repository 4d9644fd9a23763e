/**
 * Which frame an encoder's access unit codes. Frame k of an encoder run is written with the timestamp
 * k / fps; ffmpeg carries it into the FLV tag of the frame's access unit, rounded to whole milliseconds and
 * wrapped at 2^31 ms (ffmpeg writes 31 bits: 24 plus a 7-bit extension). Frames wait here, oldest first,
 * until the access unit with their timestamp comes; frames an access unit passes over were dropped inside
 * the encoder. Pure: no I/O, no clock (the caller passes the time a frame was written).
 */

export interface FrameLabel {
  seq: number;
  captureUs: number;
}

interface Waiting extends FrameLabel {
  expectedMs: number;
  writtenMs: number;
}

/** FLV timestamps as ffmpeg writes them wrap here. */
export const FLV_TIMESTAMP_MODULO = 2 ** 31;

/** How far an access unit's timestamp may be from its frame's: ffmpeg rounds once; frames are ≥ 8 ms apart at 120 fps. */
const TOLERANCE_MS = 2;

/** a − b on the wrapping timestamp circle, in (−M/2, M/2]. */
function wrapDiff(a: number, b: number): number {
  const m = FLV_TIMESTAMP_MODULO;
  let d = (a - b) % m;
  if (d > m / 2) d -= m;
  else if (d <= -m / 2) d += m;
  return d;
}

export type LabelMatch = { label: FrameLabel; skipped: number } | { label: null; skipped: number };

export class InFlightFrames {
  /** At most the encoder's in-flight bound long. */
  private queue: Waiting[] = [];
  private next: number;

  /** @param firstIndex index of the first frame written (0 for a new run; larger only to test the wrap) */
  constructor(
    private readonly fps: number,
    firstIndex = 0,
  ) {
    this.next = firstIndex;
  }

  get length(): number {
    return this.queue.length;
  }

  /** When the oldest waiting frame was written, or null. */
  get oldestWrittenMs(): number | null {
    return this.queue[0]?.writtenMs ?? null;
  }

  /** The timestamp (ms, wrapped) the next frame written will carry. */
  expectedMs(index: number): number {
    return Math.round((index * 1000) / this.fps) % FLV_TIMESTAMP_MODULO;
  }

  /** A frame was written to the encoder. */
  written(label: FrameLabel, writtenMs: number): void {
    this.queue.push({ seq: label.seq, captureUs: label.captureUs, expectedMs: this.expectedMs(this.next++), writtenMs });
  }

  /**
   * The frame an access unit with this timestamp codes. Older frames it passes over are removed and
   * counted in `skipped`; null when it is older than every waiting frame (nothing is removed then).
   */
  match(ptsMs: number): LabelMatch {
    let skipped = 0;
    for (let w = this.queue[0]; w !== undefined; w = this.queue[0]) {
      const d = wrapDiff(ptsMs, w.expectedMs);
      if (Math.abs(d) <= TOLERANCE_MS) {
        this.queue.shift();
        return { label: { seq: w.seq, captureUs: w.captureUs }, skipped };
      }
      if (d < 0) break;
      this.queue.shift();
      skipped++;
    }
    return { label: null, skipped };
  }

  /** Forget every waiting frame (the run ended); returns how many there were. */
  clear(): number {
    const n = this.queue.length;
    this.queue = [];
    return n;
  }
}
