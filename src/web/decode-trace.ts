/**
 * Per-picture timings of the H.264 path (kept by the page from what its stream worker reports), for the benchmarks (docs/benchmarks.md): kept only when the page
 * is opened with `?trace`, bounded, and read (and emptied) by whoever drives the page. All times are on
 * src/clock.ts's clock (epoch-based, so the worker's and the page's agree): the stream worker's, except
 * `firstPaintUs`, the page's; `offsetUs` turns them into the server's.
 */

export interface DecodedPicture {
  seq: number;
  /** Server clock. */
  captureUs: number;
  keyframe: boolean;
  catchUp: boolean;
  receivedUs: number;
  /** When the access unit went to VideoDecoder.decode(). */
  decodeUs: number;
  /** When VideoDecoder's output callback had its picture. */
  outputUs: number;
  /** Server clock − this clock at output time; null before the first PONG. */
  offsetUs: number | null;
}

/** Enough for several seconds at 120 fps between two reads; past it pictures are counted, not kept. */
const MAX_PICTURES = 4096;

export class DecodeTrace {
  /** When the current connection was dialled (the WebSocket created). */
  connectUs: number | null = null;
  acceptUs: number | null = null;
  /** When the page painted its first picture of the current connection (the page's thread). */
  firstPaintUs: number | null = null;
  readonly pictures: DecodedPicture[] = [];
  overflow = 0;

  record(p: DecodedPicture): void {
    if (this.pictures.length < MAX_PICTURES) this.pictures.push(p);
    else this.overflow++;
  }

  /** The pictures recorded since the last call. */
  take(): DecodedPicture[] {
    return this.pictures.splice(0);
  }
}

/** `?trace` in the page URL. */
export function traceWanted(search: string): boolean {
  return new URLSearchParams(search).has('trace');
}
