/**
 * The frame hub: one capture, one encode per profile in use, fan-out to every subscriber.
 *
 *   Source ──frame──▶ FrameHub ──(encode once per profile, on the thread pool)──▶ subscribers of that profile
 *
 * Pacing: each subscriber has its own rate; a source frame is encoded for a profile only if at least one of
 * its subscribers is due, and delivered only to those that are due.
 * Newest frame wins twice: a profile whose previous encode is still running skips the new frame
 * (counted), and each transport keeps at most one frame waiting per client (see server/newest-frame-slot.ts).
 */
import { nowUs, type RawFrame, type Source, type SourceEvent } from '../sources/source.js';
import { encodeForProfile } from './encoder.js';
import { EncodedFrame } from './encoded-frame.js';
import { profileKey, type Profile } from './profile.js';
import { FramewireError, toFramewireError } from '../errors.js';

export interface Subscriber {
  /** A frame for this subscriber; called synchronously on the event loop. Must not throw. */
  deliver(frame: EncodedFrame): void;
  /** Source lost/resumed, so a client can be told instead of left in silence. */
  sourceEvent(event: SourceEvent): void;
}

export interface Subscription {
  readonly profile: Profile;
  readonly fps: number;
  /** Move to another profile/rate without leaving the hub (renegotiation). */
  change(profile: Profile, fps: number): void;
  cancel(): void;
}

export interface ProfileStats {
  key: string;
  width: number;
  height: number;
  quality: number;
  subscribers: number;
  encoded: number;
  passedThrough: number;
  skippedBusy: number;
  lastEncodeMs: number;
}

export interface HubObserver {
  captured?(frame: RawFrame): void;
  encoded?(profile: Profile, ms: number, bytes: number, passthrough: boolean): void;
  sourceEvent?(event: SourceEvent): void;
  encodeFailed?(error: FramewireError): void;
}

interface SubState {
  subscriber: Subscriber;
  intervalUs: number;
  nextDueUs: number;
  profile: ProfileState;
}

interface ProfileState {
  profile: Profile;
  key: string;
  subs: Set<SubState>;
  /** Encodes of this profile running now (at most MAX_ENCODES_IN_FLIGHT). */
  encoding: number;
  /** Capture time of the newest frame delivered; an encode that finishes after a newer one is dropped. */
  lastDeliveredUs: number;
  encoded: number;
  passedThrough: number;
  skippedBusy: number;
  lastEncodeMs: number;
  latest: EncodedFrame | null;
}

/**
 * Two encodes of one profile may overlap, on two pool threads: when an encode takes longer than the frame
 * interval (1080p at 120 fps: ~9 ms per encode, 8.3 ms between frames), one at a time would halve the rate.
 * More than two would only queue on a 2-core machine.
 */
const MAX_ENCODES_IN_FLIGHT = 2;
/** One-off snapshot encodes (sizes no client streams) running at once. */
const MAX_SNAPSHOT_ENCODES = 2;

export class FrameHub {
  private readonly profiles = new Map<string, ProfileState>();
  private readonly observers: HubObserver[] = [];
  private slackUs: number;
  private stopped = false;
  private latestRaw: RawFrame | null = null;
  private releaseLatestRaw: (() => void) | undefined;
  private readonly snapshots = new Map<string, Promise<EncodedFrame>>();
  captured = 0;
  lastSourceEvent: SourceEvent | null = null;

  constructor(
    readonly source: Source,
    private readonly options: { passthrough?: boolean; maxProfiles?: number } = {},
  ) {
    this.slackUs = 500_000 / Math.max(1, source.info.fps);
  }

  observe(o: HubObserver): void {
    this.observers.push(o);
  }

  async start(): Promise<void> {
    await this.source.start({
      frame: (f) => this.onFrame(f),
      event: (e) => this.onSourceEvent(e),
    });
    this.slackUs = 500_000 / Math.max(1, this.source.info.fps);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.source.stop();
    this.releaseLatestRaw?.();
    this.latestRaw = null;
  }

  /**
   * The profile a subscriber actually gets: the one asked for, unless that would be one more distinct profile
   * than maxProfiles allows — each costs an encode per frame, so a peer must not be able to add them without
   * bound — in which case the nearest live profile (by pixel count, then quality).
   */
  fitProfile(p: Profile): Profile {
    const max = this.options.maxProfiles ?? Infinity;
    const same = this.profiles.get(profileKey(p));
    if (same || this.profiles.size < max) return same?.profile ?? p;
    const distance = (q: Profile): number => Math.abs(Math.log((q.width * q.height) / (p.width * p.height))) + Math.abs(q.quality - p.quality) / 100;
    let best: Profile = p;
    let bestD = Infinity;
    for (const s of this.profiles.values()) {
      const d = distance(s.profile);
      if (d < bestD) {
        bestD = d;
        best = s.profile;
      }
    }
    return best;
  }

  /** Subscribe at the profile fitProfile() grants (read it back from Subscription.profile). */
  subscribe(profile: Profile, fps: number, subscriber: Subscriber): Subscription {
    const state: SubState = { subscriber, intervalUs: 1e6 / fps, nextDueUs: 0, profile: this.profileState(this.fitProfile(profile)) };
    state.profile.subs.add(state);
    let current = { profile: state.profile.profile, fps };
    const hub = this;
    return {
      get profile() {
        return current.profile;
      },
      get fps() {
        return current.fps;
      },
      change(p: Profile, newFps: number) {
        hub.leave(state);
        state.profile = hub.profileState(hub.fitProfile(p));
        state.profile.subs.add(state);
        state.intervalUs = 1e6 / newFps;
        state.nextDueUs = 0;
        current = { profile: state.profile.profile, fps: newFps };
      },
      cancel() {
        hub.leave(state);
      },
    };
  }

  /** Latest encoded frame of a profile, if any (for snapshots). */
  latest(profile: Profile): EncodedFrame | null {
    return this.profiles.get(profileKey(profile))?.latest ?? null;
  }

  /**
   * A JPEG of the newest frame for any profile: the profile's latest encode when it is live,
   * otherwise one encode of the newest captured frame. Rejects with E_SOURCE before the first frame.
   */
  async snapshot(profile: Profile): Promise<EncodedFrame> {
    const live = this.latest(profile);
    const raw = this.latestRaw;
    if (live && (!raw || live.seq === raw.seq || live.captureUs >= raw.captureUs - 2 * this.slackUs)) return live;
    if (!raw) throw new FramewireError('E_SOURCE', 'no frame has been captured yet');
    // Requests for the same size and frame share one encode; one-off encodes of other sizes are capped, so
    // a burst of snapshot requests cannot queue unbounded work on the thread pool.
    const key = `${profileKey(profile)}@${raw.seq}`;
    const pending = this.snapshots.get(key);
    if (pending) return pending;
    if (this.snapshots.size >= MAX_SNAPSHOT_ENCODES) {
      throw new FramewireError('E_RATE_LIMITED', `${MAX_SNAPSHOT_ENCODES} snapshots of other sizes are being encoded; retry in a moment`);
    }
    const job = (async () => {
      const release = raw.retain?.();
      try {
        const payload = await encodeForProfile(raw, profile, this.options.passthrough ?? true);
        return new EncodedFrame(raw.seq, raw.captureUs, Object.freeze({ ...profile }), payload, nowUs());
      } finally {
        release?.();
        this.snapshots.delete(key);
      }
    })();
    this.snapshots.set(key, job);
    return job;
  }

  profileStats(): ProfileStats[] {
    return [...this.profiles.values()].map((p) => ({
      key: p.key,
      ...p.profile,
      subscribers: p.subs.size,
      encoded: p.encoded,
      passedThrough: p.passedThrough,
      skippedBusy: p.skippedBusy,
      lastEncodeMs: p.lastEncodeMs,
    }));
  }

  private profileState(profile: Profile): ProfileState {
    const key = profileKey(profile);
    let s = this.profiles.get(key);
    if (!s) {
      s = { profile: Object.freeze({ ...profile }), key, subs: new Set(), encoding: 0, lastDeliveredUs: 0, encoded: 0, passedThrough: 0, skippedBusy: 0, lastEncodeMs: 0, latest: null };
      this.profiles.set(key, s);
    }
    return s;
  }

  private leave(state: SubState): void {
    const p = state.profile;
    p.subs.delete(state);
    if (p.subs.size === 0 && p.encoding === 0) this.profiles.delete(p.key);
  }

  private isDue(s: SubState, captureUs: number): boolean {
    return captureUs >= s.nextDueUs - this.slackUs;
  }

  private onFrame(frame: RawFrame): void {
    if (this.stopped) return;
    this.captured++;
    this.releaseLatestRaw?.();
    this.latestRaw = frame;
    this.releaseLatestRaw = frame.retain?.();
    for (const o of this.observers) o.captured?.(frame);
    for (const p of this.profiles.values()) {
      let due = false;
      for (const s of p.subs) {
        if (this.isDue(s, frame.captureUs)) {
          due = true;
          break;
        }
      }
      if (!due) continue;
      if (p.encoding >= MAX_ENCODES_IN_FLIGHT) {
        p.skippedBusy++;
        continue;
      }
      void this.encodeAndDeliver(p, frame);
    }
  }

  private async encodeAndDeliver(p: ProfileState, frame: RawFrame): Promise<void> {
    p.encoding++;
    const t0 = performance.now();
    let payload: Buffer;
    const release = frame.retain?.();
    try {
      payload = await encodeForProfile(frame, p.profile, this.options.passthrough ?? true);
    } catch (e) {
      release?.();
      p.encoding--;
      const err = toFramewireError(e, 'E_SOURCE');
      for (const o of this.observers) o.encodeFailed?.(err);
      if (p.subs.size === 0 && p.encoding === 0) this.profiles.delete(p.key);
      return;
    }
    release?.();
    p.encoding--;
    const ms = performance.now() - t0;
    const passthrough = payload === frame.data;
    if (passthrough) p.passedThrough++;
    else p.encoded++;
    p.lastEncodeMs = ms;
    for (const o of this.observers) o.encoded?.(p.profile, ms, payload.length, passthrough);
    if (p.subs.size === 0) {
      if (p.encoding === 0) this.profiles.delete(p.key);
      return;
    }
    if (frame.captureUs <= p.lastDeliveredUs) {
      // A newer frame of this profile finished first: never send frames out of order.
      p.skippedBusy++;
      return;
    }
    p.lastDeliveredUs = frame.captureUs;
    const ef = new EncodedFrame(frame.seq, frame.captureUs, p.profile, payload, nowUs());
    p.latest = ef;
    for (const s of p.subs) {
      if (!this.isDue(s, frame.captureUs)) continue;
      s.nextDueUs = Math.max(s.nextDueUs + s.intervalUs, frame.captureUs + s.intervalUs - this.slackUs);
      s.subscriber.deliver(ef);
    }
  }

  private onSourceEvent(e: SourceEvent): void {
    if (e.kind !== 'log') this.lastSourceEvent = e;
    for (const o of this.observers) o.sourceEvent?.(e);
    if (e.kind === 'log') return;
    for (const p of this.profiles.values()) for (const s of p.subs) s.subscriber.sourceEvent(e);
  }
}
