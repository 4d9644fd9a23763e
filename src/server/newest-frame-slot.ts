import type { EncodedFrame } from '../pipeline/encoded-frame.js';

export interface FrameSink {
  /** True when a frame can be handed to the transport now without queueing behind another. */
  ready(): boolean;
  send(frame: EncodedFrame): void;
}

/**
 * Where a frame gets dropped for a slow client: at most one frame waits per client. When the transport is
 * busy, a newer frame replaces the waiting one (the older is counted as dropped), so a slow or stalled client
 * costs one frame of memory and never delays anyone else.
 */
export class NewestFrameSlot {
  private waiting: EncodedFrame | null = null;
  sent = 0;
  dropped = 0;
  bytes = 0;

  constructor(private readonly sink: FrameSink) {}

  offer(frame: EncodedFrame): void {
    if (this.waiting === null && this.sink.ready()) {
      this.push(frame);
      return;
    }
    if (this.waiting !== null) this.dropped++;
    this.waiting = frame;
  }

  /** The transport became ready (write finished, ack arrived): send the waiting frame if any. */
  kick(): void {
    const f = this.waiting;
    if (f !== null && this.sink.ready()) {
      this.waiting = null;
      this.push(f);
    }
  }

  clear(): void {
    this.waiting = null;
  }

  private push(frame: EncodedFrame): void {
    this.sent++;
    this.bytes += frame.payload.length;
    this.sink.send(frame);
  }
}
