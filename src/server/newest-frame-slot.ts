import type { EncodedFrame } from '../pipeline/encoded-frame.js';

export interface FrameSink {
  /** Transport-specific readiness on top of "no write pending" (open socket, ack window). */
  ready(): boolean;
  /** Write one frame; call done() once its bytes are handed to the OS. */
  send(frame: EncodedFrame, done: () => void): void;
}

/**
 * Where a frame gets dropped for a slow client: at most one frame waits per client. While a write is
 * pending, a newer frame replaces the waiting one (the older is counted as dropped), so a slow or stalled
 * client costs one frame of memory and never delays anyone else. Every transport uses this one slot.
 */
export class NewestFrameSlot {
  private waiting: EncodedFrame | null = null;
  /** When the pending write started (ms), or -1 when none is pending. */
  private writeStartedMs = -1;
  private readonly onDone = (): void => {
    this.writeStartedMs = -1;
    this.kick();
  };
  sent = 0;
  dropped = 0;
  bytes = 0;

  constructor(private readonly sink: FrameSink) {}

  offer(frame: EncodedFrame): void {
    if (this.waiting === null && this.canSend()) {
      this.push(frame);
      return;
    }
    if (this.waiting !== null) this.dropped++;
    this.waiting = frame;
  }

  /** The sink became ready (write finished, ack arrived): send the waiting frame if any. */
  kick(): void {
    const f = this.waiting;
    if (f !== null && this.canSend()) {
      this.waiting = null;
      this.push(f);
    }
  }

  /**
   * True when a write has been pending longer than limitMs: the peer takes no data. Transports whose
   * clients send nothing to time (tutorial format, MJPEG) close such clients on this.
   */
  stalled(limitMs: number, now = Date.now()): boolean {
    return this.writeStartedMs >= 0 && now - this.writeStartedMs > limitMs;
  }

  clear(): void {
    this.waiting = null;
  }

  private canSend(): boolean {
    return this.writeStartedMs < 0 && this.sink.ready();
  }

  private push(frame: EncodedFrame): void {
    this.sent++;
    this.bytes += frame.payload.length;
    this.writeStartedMs = Date.now();
    this.sink.send(frame, this.onDone);
  }
}
