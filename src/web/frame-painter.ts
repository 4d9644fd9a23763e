/**
 * Newest frame wins, in the browser: at most one JPEG is being decoded at a time, and at most one waits.
 * A frame that arrives while another waits replaces it (counted as dropped), so a slow device shows fewer
 * frames but never falls behind the live picture.
 */
import type { FrameMessage } from '../protocol/messages.js';

export interface PaintedFrame {
  frame: FrameMessage;
  receivedUs: number;
}

export class FramePainter {
  private decoding = false;
  private waiting: PaintedFrame | null = null;
  dropped = 0;
  painted = 0;
  decodeErrors = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly ctx2d: CanvasRenderingContext2D,
    private readonly onPainted: (p: PaintedFrame) => void,
  ) {}

  offer(frame: FrameMessage, receivedUs: number): void {
    if (this.waiting) this.dropped++;
    this.waiting = { frame, receivedUs };
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
          bitmap = await createImageBitmap(new Blob([next.frame.payload as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
        } catch {
          this.decodeErrors++;
          continue;
        }
        // Scale if a frame of the previous size is still in flight right after a renegotiation.
        this.ctx2d.drawImage(bitmap, 0, 0, this.canvas.width, this.canvas.height);
        bitmap.close();
        this.painted++;
        this.onPainted(next);
      }
    } finally {
      this.decoding = false;
    }
  }
}
