import type { EncodedFrame, MediaCodec } from '../pipeline/encoded-frame.js';

export interface FrameSink {
  /** Transport-specific readiness on top of "no write pending" (open socket, ack window). */
  ready(): boolean;
  /** Write one frame; call done() once its bytes are handed to the OS. */
  write(frame: EncodedFrame, done: () => void): void;
}

/**
 * What waits when a frame arrives for a viewer that cannot take it yet: the codec's rule for dropping.
 * JPEG: every frame stands alone, so the newer one replaces the waiting one. H.264: a frame that predicts
 * from a dropped one cannot be shown, so once one is dropped the viewer skips to the next keyframe
 * (EncodedFrame.keyframe). A policy may keep state; each viewer has its own (slotPolicyFor makes a new one).
 */
export interface SlotPolicy {
  /**
   * `frame` arrives while `waiting` (or nothing) waits; `canSend`: the wire is free. Returns the one frame
   * to write now or to keep waiting, or null for none; whichever of the two it does not return is dropped.
   */
  offer(waiting: EncodedFrame | null, frame: EncodedFrame, canSend: boolean): EncodedFrame | null;
  /** Frames dropped only because an earlier one of their reference chain was (H.264); 0 for JPEG. */
  readonly skipped?: number;
  /** The stream restarts (NewestFrameSlot.clear: another profile, the waiting frame thrown away): what follows may lack its references. */
  broken?(): void;
  /** A catch-up run from a keyframe went out (NewestFrameSlot.burst): frames that follow it are decodable. */
  joined?(): void;
}

/** JPEG: the newest frame wins. */
export const replaceWaiting: SlotPolicy = {
  offer: (_waiting, frame) => frame,
};

/**
 * H.264: a viewer gets an unbroken run from a keyframe or nothing. Frames queue behind one another (a
 * waiting frame is never replaced: the next one predicts from it), so when a frame arrives while one
 * already waits, one of them must go, and with it every frame up to the next keyframe. A newer keyframe
 * replaces the waiting frame at once (it needs nothing before it); otherwise the newcomer is dropped and
 * the viewer skips until a keyframe comes. A viewer starts skipping: its first frame is a keyframe.
 * `skipped` counts the frames dropped while skipping (a joiner's wait for its first keyframe included),
 * beyond the one whose drop started the skip.
 */
export class SkipToKeyframe implements SlotPolicy {
  private skipping = true;
  skipped = 0;

  broken(): void {
    this.skipping = true;
  }

  joined(): void {
    this.skipping = false;
  }

  offer(waiting: EncodedFrame | null, frame: EncodedFrame, _canSend: boolean): EncodedFrame | null {
    if (frame.keyframe) {
      // Whatever waits is older than a picture that needs nothing before it: the keyframe replaces it.
      this.skipping = false;
      return frame;
    }
    if (this.skipping) {
      this.skipped++;
      return waiting;
    }
    if (waiting === null) return frame;
    // Two frames, room for one: keep the older (its chain is intact so far), drop this one and its followers.
    this.skipping = true;
    return waiting;
  }
}

/** The drop rule for a codec: a new one per viewer, since H.264's keeps state. */
export function slotPolicyFor(codec: MediaCodec): SlotPolicy {
  switch (codec) {
    case 'jpeg':
      return replaceWaiting;
    case 'h264':
      return new SkipToKeyframe();
  }
}

/**
 * Where a frame gets dropped for a slow viewer: at most one frame waits per viewer. While a write is
 * pending, a newer frame replaces the waiting one (as its codec's SlotPolicy says; the older is counted as
 * dropped), so a slow or stalled viewer costs one frame of memory and never delays anyone else. Every
 * viewer of every transport has one (server/viewer.ts).
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

  constructor(
    private readonly sink: FrameSink,
    private readonly policy: SlotPolicy = replaceWaiting,
  ) {}

  offer(frame: EncodedFrame): void {
    const waiting = this.waiting;
    const canSend = waiting === null && this.canSend();
    const keep = this.policy.offer(waiting, frame, canSend);
    if (waiting !== null && waiting !== keep) this.dropped++;
    if (frame !== keep) this.dropped++;
    this.waiting = null;
    if (keep === null) return;
    if (canSend) this.push(keep);
    else this.waiting = keep;
  }

  /**
   * A joiner's catch-up run (H.264, from a keyframe): written at once, back to back, whatever the sink's
   * readiness says (docs/protocol.md §4.2.1: the burst is not held by the window; it counts in it afterwards).
   * Bounded by the GOP cache's bounds. Only when nothing is pending or waiting (a fresh viewer); else ignored.
   */
  burst(frames: readonly EncodedFrame[]): void {
    if (frames.length === 0 || this.writeStartedMs >= 0 || this.waiting !== null || !frames[0]!.keyframe) return;
    let left = frames.length;
    this.writeStartedMs = Date.now();
    for (const f of frames) {
      this.sent++;
      this.bytes += f.payload.length;
      this.sink.write(f, () => {
        if (--left === 0) this.onDone();
      });
    }
    this.policy.joined?.();
  }

  /** The sink became ready (write finished, ack arrived): send the waiting frame if any. */
  kick(): void {
    const f = this.waiting;
    if (f !== null && this.canSend()) {
      this.waiting = null;
      this.push(f);
    }
  }

  /** True when a write has been pending longer than limitMs: the peer takes no data. */
  stalled(limitMs: number, now?: number): boolean {
    return this.writeStartedMs >= 0 && (now ?? Date.now()) - this.writeStartedMs > limitMs;
  }

  /** Frames the codec's policy dropped to keep a reference chain whole (H.264), within `dropped`. */
  get skipped(): number {
    return this.policy.skipped ?? 0;
  }

  clear(): void {
    this.policy.broken?.();
    this.waiting = null;
  }

  private canSend(): boolean {
    return this.writeStartedMs < 0 && this.sink.ready();
  }

  private push(frame: EncodedFrame): void {
    this.sent++;
    this.bytes += frame.payload.length;
    this.writeStartedMs = Date.now();
    this.sink.write(frame, this.onDone);
  }
}
