/**
 * Pictures from the stream worker to the page, newest wins: one picture is on its way at a time, and the
 * newest decoded since waits for the page to take it (an older one waiting is closed unseen, counted as
 * dropped). A page that stops taking (a stalled tab) holds at most two pictures and never stops the decoder.
 */
import type { Picture } from './jpeg-decoder.js';

export class PictureOutbox {
  private inFlight = false;
  private waiting: Picture | null = null;
  dropped = 0;

  constructor(private readonly send: (p: Picture) => void) {}

  offer(p: Picture): void {
    if (!this.inFlight) {
      this.inFlight = true;
      try {
        this.send(p);
      } catch {
        // Not transferred (closed meanwhile, or the page is going away): it is this side's to close.
        p.image.close();
        this.inFlight = false;
      }
      return;
    }
    if (this.waiting) {
      this.waiting.image.close();
      this.dropped++;
    }
    this.waiting = p;
  }

  /** The page took the picture on its way: send the one waiting, if any. */
  taken(): void {
    this.inFlight = false;
    const w = this.waiting;
    this.waiting = null;
    if (w) this.offer(w);
  }

  /** Forget the waiting picture (a new conversation or profile). */
  clear(): void {
    this.waiting?.image.close();
    this.waiting = null;
  }
}
