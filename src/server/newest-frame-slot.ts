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
  /** True while frames are dropped up to the next keyframe (H.264): a catch-up run may end that sooner. */
  readonly skipping?: boolean;
  /**
   * The frames missed since the last one sent went out as a catch-up run (NewestFrameSlot, "resume"): the
   * chain is whole again. `recovered`: how many of them had been dropped.
   */
  resumed?(recovered: number): void;
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
  skipping = true;
  skipped = 0;

  broken(): void {
    this.skipping = true;
  }

  joined(): void {
    this.skipping = false;
  }

  resumed(recovered: number): void {
    this.skipping = false;
    // The first of them was the drop that started the skip, counted as dropped but not as skipped.
    this.skipped -= Math.max(0, recovered - 1);
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
 * A viewer that skipped (H.264) and is ready again gets the frames it missed as a catch-up run, instead of
 * waiting up to a GOP for the next keyframe, only when they span at most this much capture time: the run goes
 * out past the window (docs/protocol.md §4.2.1), so on a link too slow for the stream this bounds how far
 * behind real time a run can put it (a longer stall waits for the keyframe, as before).
 */
export const MAX_RESUME_US = 500_000;

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
  /** The seq of the last frame written, null before the first and after clear() (another profile's frames follow). */
  private lastSentSeq: number | null = null;
  /** A resume failed in this GOP: it cannot succeed before the next keyframe (the run only grows older). */
  private noResume = false;
  sent = 0;
  dropped = 0;
  bytes = 0;
  /**
   * `dropped` and `skipped` as they stood before the current skip (H.264): a frame dropped while skipping may
   * still go out in a resume's catch-up run and stop counting as dropped, so the live figures can step back;
   * these only grow, as a Prometheus counter must, and catch up once the viewer is not skipping.
   */
  private finalDropped = 0;
  private finalSkipped = 0;

  /**
   * @param runSince H.264: the access units since the last keyframe, oldest first, the newest being the frame
   *   just offered (the hub caches before it delivers): the source of a skipping viewer's catch-up run.
   */
  constructor(
    private readonly sink: FrameSink,
    private readonly policy: SlotPolicy = replaceWaiting,
    private readonly runSince?: () => readonly EncodedFrame[],
  ) {}

  offer(frame: EncodedFrame): void {
    if (this.policy.skipping !== true) {
      this.finalDropped = this.dropped;
      this.finalSkipped = this.skipped;
    }
    const waiting = this.waiting;
    const canSend = waiting === null && this.canSend();
    if (frame.keyframe) this.noResume = false;
    else if (canSend && this.policy.skipping === true && this.resume(frame)) return;
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
    this.writeRun(frames);
    this.policy.joined?.();
  }

  /**
   * A skipping viewer that can take a frame again gets the frames it missed since the last one it was sent
   * (that one and its references it has: all are of the GOP still cached) as a catch-up run ending at `frame`,
   * written at once like a joiner's burst. Not possible, and not tried again before the next keyframe, when
   * the last frame sent is not in the cached run (another GOP, the cache cleared or past its bounds) or the
   * missed frames span more than MAX_RESUME_US.
   */
  private resume(frame: EncodedFrame): boolean {
    const last = this.lastSentSeq;
    if (last === null || this.runSince === undefined || this.noResume) return false;
    const run = this.runSince();
    const from = run.findIndex((f) => f.seq === last);
    if (from < 0 || from >= run.length - 1 || !run[0]!.keyframe || run[run.length - 1] !== frame || frame.captureUs - run[from + 1]!.captureUs > MAX_RESUME_US) {
      this.noResume = true;
      return false;
    }
    const missed = run.slice(from + 1);
    // All but `frame` were dropped when they arrived; now they are sent after all.
    this.dropped -= missed.length - 1;
    this.policy.resumed?.(missed.length - 1);
    this.writeRun(missed.map((f, i) => (i < missed.length - 1 ? f.asCatchUp() : f)));
    return true;
  }

  /** Frames written back to back, past the sink's readiness; the slot is free again when the last is done. */
  private writeRun(frames: readonly EncodedFrame[]): void {
    let left = frames.length;
    this.writeStartedMs = Date.now();
    this.lastSentSeq = frames[frames.length - 1]!.seq;
    for (const f of frames) {
      this.sent++;
      this.bytes += f.payload.length;
      this.sink.write(f, () => {
        if (--left === 0) this.onDone();
      });
    }
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

  /** Drops no catch-up run can undo any more (see `finalDropped`); every drop once the viewer is gone. */
  settled(closed: boolean): { dropped: number; skipped: number } {
    return closed ? { dropped: this.dropped, skipped: this.skipped } : { dropped: this.finalDropped, skipped: this.finalSkipped };
  }

  clear(): void {
    this.policy.broken?.();
    this.waiting = null;
    // What follows is another profile's: its seqs are the same source frames, but not its pictures.
    this.lastSentSeq = null;
  }

  private canSend(): boolean {
    return this.writeStartedMs < 0 && this.sink.ready();
  }

  private push(frame: EncodedFrame): void {
    this.sent++;
    this.bytes += frame.payload.length;
    this.writeStartedMs = Date.now();
    this.lastSentSeq = frame.seq;
    this.sink.write(frame, this.onDone);
  }
}
