/**
 * JPEG in the browser (in the stream worker): at most one JPEG is being decoded at a time, and at most one
 * waits. A frame that arrives while another waits replaces it (counted as dropped), so a slow device shows
 * fewer frames but never falls behind the live picture.
 */
import type { FrameMessage } from '../protocol/messages.js';

/** A decoded picture on its way to the canvas, with the capture time its latency is measured from. */
export interface Picture<I extends VideoFrame | ImageBitmap = VideoFrame | ImageBitmap> {
  image: I;
  captureUs: number;
}

export class JpegDecoder {
  private decoding = false;
  private waiting: FrameMessage | null = null;
  dropped = 0;
  decodeErrors = 0;

  constructor(private readonly onPicture: (p: Picture<ImageBitmap>) => void) {}

  offer(frame: FrameMessage): void {
    if (this.waiting) this.dropped++;
    this.waiting = frame;
    if (!this.decoding) void this.pump();
  }

  /** Forget a waiting frame (e.g. of the profile before a renegotiation). */
  clear(): void {
    this.waiting = null;
  }

  private async pump(): Promise<void> {
    this.decoding = true;
    try {
      for (let next = this.waiting; next; next = this.waiting) {
        this.waiting = null;
        let bitmap: ImageBitmap;
        try {
          // The payload is a view into the received message; the Blob copies it, so the view may go.
          bitmap = await createImageBitmap(new Blob([next.payload as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
        } catch {
          this.decodeErrors++;
          continue;
        }
        // One of the previous size still in flight right after a renegotiation is painted scaled.
        this.onPicture({ image: bitmap, captureUs: next.captureUs });
      }
    } finally {
      this.decoding = false;
    }
  }
}
