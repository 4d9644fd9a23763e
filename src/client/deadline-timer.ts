/**
 * One timer at a conversation's next deadline (µs on nowUs()'s clock), for the Node client and the browser
 * alike. It is moved only when a deadline comes earlier: a later one (the idle limit moving on with every read)
 * is found when the timer fires and the conversation, having nothing to do yet, names the next.
 */
import { nowUs } from '../clock.js';

export class DeadlineTimer {
  private handle: ReturnType<typeof setTimeout> | null = null;
  private atUs = Infinity;

  constructor(private readonly fire: () => void) {}

  /** Wake at atUs, never before; null: nothing to wait for. */
  set(atUs: number | null): void {
    if (atUs === null) return this.clear();
    if (this.handle !== null && atUs >= this.atUs) return;
    this.clear();
    this.atUs = atUs;
    this.arm();
  }

  private arm(): void {
    this.handle = setTimeout(
      () => {
        // Timers run on the event loop's cached clock, which can be up to a millisecond behind: a timer can
        // come early by that much. Wait out the rest rather than wake the conversation before its deadline.
        if (nowUs() < this.atUs) return this.arm();
        this.handle = null;
        this.atUs = Infinity;
        this.fire();
      },
      Math.max(0, Math.ceil((this.atUs - nowUs()) / 1000)),
    );
    // In Node, a conversation's pings must not keep a process alive that has nothing else to do.
    (this.handle as { unref?: () => void }).unref?.();
  }

  clear(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    this.atUs = Infinity;
  }
}
