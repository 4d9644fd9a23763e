/**
 * The frame hub: one capture, one encode per profile in use, fan-out to every subscriber.
 *
 *   Source ──frame──▶ FrameHub ──(encode once per profile, on the thread pool)──▶ subscribers of that profile
 *
 * Pacing: each subscriber has its own rate; a source frame is encoded for a profile only if at least one of
 * its subscribers is due, and delivered only to those that are due.
 * Newest frame wins twice: a profile whose previous encode is still running skips the new frame
 * (counted), and each viewer keeps at most one frame waiting (see server/newest-frame-slot.ts).
 * While the source is lost, subscribers that cannot be told so in words get the no-signal picture of their
 * profile instead, once a second (no-signal.ts).
 */
import { nowUs } from '../clock.js';
import type { RawFrame, Source, SourceAccessUnit, SourceEvent } from '../sources/source.js';
import { redactText } from '../sources/redact.js';
import { encodeForProfile } from './encoder.js';
import { EncodedFrame, type MediaCodec } from './encoded-frame.js';
import { NoSignalPictures } from './no-signal.js';
import { codecOf, describeCoding, profileKey, type Profile } from './profile.js';
import { FramewireError, toFramewireError } from '../errors.js';
import { H264Encoder, zeroH264Stats, type EncodedAccessUnit, type H264EncoderStats } from './h264-encoder.js';
import type { H264EncoderChoice } from './h264-encoder-args.js';
import { GopCache } from '../codecs/h264/gop-cache.js';

export interface Subscriber {
  /** A frame for this subscriber; called synchronously on the event loop. Must not throw. */
  deliver(frame: EncodedFrame): void;
  /** Source lost/resumed, so a client can be told instead of left in silence. */
  sourceEvent(event: SourceEvent): void;
  /** Deliver the no-signal picture while the source is lost (a viewer with no way to show a status text). */
  readonly standIn?: boolean;
}

export interface Subscription {
  readonly profile: Profile;
  readonly fps: number;
  /**
   * H.264: the access units since the last keyframe (GopCache bounds), oldest first, for a joiner to decode
   * up to the newest picture at once; [] for JPEG or when none is cached. Live frames continue from the last.
   */
  catchUp(): EncodedFrame[];
  /** Move to another profile/rate without leaving the hub (renegotiation). */
  change(profile: Profile, fps: number): void;
  cancel(): void;
}

export interface ProfileStats {
  key: string;
  width: number;
  height: number;
  quality: number;
  /** Absent for JPEG. */
  codec?: MediaCodec;
  /** H.264: bit/s. */
  bitrate?: number;
  subscribers: number;
  encoded: number;
  passedThrough: number;
  skippedBusy: number;
  lastEncodeMs: number;
  /** H.264 profiles only: the encoder's own counters (docs/h264.md, "The encoder process"). */
  h264?: H264ProfileStats;
}

export interface H264ProfileStats extends H264EncoderStats {
  /** The encoder in use ('libx264', 'h264_vaapi', …); null until it has been picked. */
  encoder: string | null;
  /** Frames given to the encoder whose access unit has not come out yet. */
  inFlight: number;
}

/** An H.264 profile's encoder counters since the server started, for /metrics: live encoders plus those stopped. */
export interface H264Counters {
  /** The profile key, or 'other' for profiles past MAX_RETIRED_H264_PROFILES that are no longer live. */
  key: string;
  /** The live encoder's name; null for a profile not encoded now. */
  encoder: string | null;
  inFlight: number;
  stats: H264EncoderStats;
}

/**
 * Counters of H.264 profiles whose encoder has stopped are kept (so /metrics counters never go down), for at
 * most this many profile keys: clients choose sizes, so past it they are summed under 'other'.
 */
export const MAX_RETIRED_H264_PROFILES = 64;

export interface HubOptions {
  passthrough?: boolean;
  /** Distinct profiles encoded at once. */
  maxProfiles?: number;
  /** Encoding work all profiles may cost together, in pixels per second (see encodeCost). */
  encodeBudget?: number;
  /** How H.264 profiles are encoded (one H264Encoder each, docs/h264.md). */
  h264?: H264HubOptions;
}

export interface H264HubOptions {
  /** Seconds from one keyframe to the next; default 2. */
  gopSeconds?: number;
  /** Default 'auto'. */
  encoder?: H264EncoderChoice;
  ffmpegPath?: string;
}

/**
 * An H.264 profile's encoder: started with its first subscriber, stopped when the last one leaves. null for a
 * passthrough profile, whose access units are the source's own.
 */
interface H264State {
  encoder: H264Encoder | null;
  gop: GopCache<{ keyframe: boolean; data: Uint8Array; frame: EncodedFrame }>;
}

export interface HubObserver {
  captured?(frame: RawFrame): void;
  encoded?(profile: Profile, ms: number, bytes: number, passthrough: boolean): void;
  sourceEvent?(event: SourceEvent): void;
  encodeFailed?(error: FramewireError): void;
}

interface SubState {
  subscriber: Subscriber;
  fps: number;
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
  h264: H264State | null;
}

/**
 * Two encodes of one profile may overlap, on two pool threads: when an encode takes longer than the frame
 * interval (1080p at 120 fps: ~9 ms per encode, 8.3 ms between frames), one at a time would halve the rate.
 * More than two would only queue on a 2-core machine.
 */
const MAX_ENCODES_IN_FLIGHT = 2;
/** One-off snapshot encodes (sizes no client streams) running at once. */
const MAX_SNAPSHOT_ENCODES = 2;
/**
 * The no-signal picture is sent again this often while the source is lost: players keep showing it, and
 * readers that time out a silent stream (ffmpeg, OpenCV) stay connected until the source is back.
 */
export const STAND_IN_INTERVAL_MS = 1000;

export class FrameHub {
  private readonly profiles = new Map<string, ProfileState>();
  private readonly observers: HubObserver[] = [];
  private slackUs: number;
  private stopped = false;
  private latestRaw: RawFrame | null = null;
  private releaseLatestRaw: (() => void) | undefined;
  private readonly snapshots = new Map<string, Promise<EncodedFrame>>();
  private readonly noSignal = new NoSignalPictures();
  /** Runs while the source is lost: the no-signal picture for subscribers that want it. */
  private standInTimer: NodeJS.Timeout | null = null;
  captured = 0;
  lastSourceEvent: SourceEvent | null = null;

  /** The server's default profile: always granted as asked (the operator chose it), never shrunk by the budget. */
  defaultProfile: Profile | null = null;
  private lastFormat: RawFrame['format'] | null = null;
  private h264Options: H264HubOptions | null;
  /** Counters of stopped H.264 encoders, by profile key (bounded, see MAX_RETIRED_H264_PROFILES). */
  private readonly retiredH264 = new Map<string, H264EncoderStats>();

  constructor(
    readonly source: Source,
    private readonly options: HubOptions = {},
  ) {
    this.slackUs = 500_000 / Math.max(1, source.info.fps);
    this.h264Options = options.h264 ?? null;
  }

  /** Serve H.264 profiles (set once the encoder is known to work here, before any subscriber can ask for one). */
  enableH264(options: H264HubOptions): void {
    this.h264Options = options;
  }

  observe(o: HubObserver): void {
    this.observers.push(o);
  }

  async start(): Promise<void> {
    await this.source.start({
      frame: (f) => this.onFrame(f),
      accessUnit: (au) => this.onAccessUnit(au),
      event: (e) => this.onSourceEvent(e),
    });
    this.slackUs = 500_000 / Math.max(1, this.source.info.fps);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopStandIn();
    const encoders = [...this.profiles.values()].flatMap((p) => (p.h264?.encoder ? [p.h264.encoder.stop()] : []));
    await Promise.all([this.source.stop(), ...encoders]);
    this.releaseLatestRaw?.();
    this.latestRaw = null;
  }

  /**
   * Pixels one encode of a profile touches: its output, plus the source picture when it is resized (reading
   * the source costs as much as writing a small output: measured, 320x180 from 720p takes 1.5x the time of
   * 720p itself). A profile the source's JPEG passes through untouched costs nothing.
   */
  encodeCost(p: Profile): number {
    if (p.passthrough) return 0;
    const { width: sw, height: sh } = this.source.info;
    const same = p.width === sw && p.height === sh;
    if (same && this.lastFormat === 'jpeg' && (this.options.passthrough ?? true)) return 0;
    return p.width * p.height + (same ? 0 : sw * sh);
  }

  /** Encoding work now, in pixels per second: each live profile at the highest rate one of its subscribers takes. */
  encodeLoad(without?: SubState): number {
    let load = 0;
    for (const ps of this.profiles.values()) load += this.encodeCost(ps.profile) * this.rateOf(ps, without);
    return load;
  }

  private rateOf(ps: ProfileState, without?: SubState): number {
    let r = 0;
    for (const s of ps.subs) if (s !== without) r = Math.max(r, s.fps);
    return Math.min(r, Math.max(1, this.source.info.fps));
  }

  /**
   * The profile a subscriber actually gets (docs/protocol.md §4.1 "When the server is busy"): the one asked
   * for while it fits both the profile table (maxProfiles) and the encode budget; otherwise the largest live
   * profile at or below it in width, height and quality that fits; otherwise, with room in the table, the
   * asked profile shrunk (same shape) until it fits the budget. Never anything larger than asked. With no
   * such profile, E_TOO_MANY_CLIENTS. `without`: a subscriber moving away (renegotiation) is not counted.
   */
  fitProfile(p: Profile, fps = this.source.info.fps, without?: SubState): Profile {
    // The source's own H.264 costs no encode: granted whatever the table and the budget hold.
    const pass = this.passthroughOf(p);
    if (pass) return this.profiles.get(profileKey(pass))?.profile ?? pass;
    const key = profileKey(p);
    const same = this.profiles.get(key);
    if (this.defaultProfile && key === profileKey(this.defaultProfile)) return same?.profile ?? p;
    const maxProfiles = this.options.maxProfiles ?? Infinity;
    const budget = this.options.encodeBudget ?? Infinity;
    const rate = Math.min(Math.max(1, fps), Math.max(1, this.source.info.fps));
    const load = this.encodeLoad(without);
    const live = [...this.profiles.values()].filter((ps) => [...ps.subs].some((s) => s !== without));
    /** Extra work if this subscriber joins ps (a profile already encoded at this rate costs nothing more). */
    const extra = (q: Profile, ps?: ProfileState): number => this.encodeCost(q) * Math.max(0, rate - (ps ? this.rateOf(ps, without) : 0));
    const fits = (q: Profile, ps?: ProfileState): boolean => load + extra(q, ps) <= budget;
    const sameLive = same && live.includes(same) ? same : undefined;
    if (sameLive ? fits(p, sameLive) : live.length < maxProfiles && fits(p)) return sameLive?.profile ?? p;
    let best: Profile | null = null;
    for (const ps of live) {
      const q = ps.profile;
      if (codecOf(q) !== codecOf(p) || (q.bitrate ?? 0) > (p.bitrate ?? 0)) continue;
      if (q.width > p.width || q.height > p.height || q.quality > p.quality || !fits(q, ps)) continue;
      if (!best || q.width * q.height > best.width * best.height || (q.width * q.height === best.width * best.height && q.quality > best.quality)) best = q;
    }
    if (best) return best;
    if (live.length < maxProfiles) {
      for (let s = 0.9; p.width * s >= 16 && p.height * s >= 16; s *= 0.9) {
        const q = { ...p, width: 2 * Math.floor((p.width * s) / 2), height: 2 * Math.floor((p.height * s) / 2) };
        const ps = this.profiles.get(profileKey(q));
        if (fits(q, ps && live.includes(ps) ? ps : undefined)) return ps?.profile ?? q;
      }
    }
    throw new FramewireError(
      'E_TOO_MANY_CLIENTS',
      `no encoding capacity for ${p.width}x${p.height} ${describeCoding(p)} (${live.length} of ${maxProfiles} profiles, --max-profiles; ` +
        `budget ${Math.round(budget / 1e6)} Mpx/s, --encode-budget): ask for less, or a size others already get`,
    );
  }

  /**
   * The passthrough profile an H.264 request at the source's own size gets when the source delivers its
   * input's H.264 (and passthrough is on); null otherwise. Its bitrate is the source's, whatever was asked.
   */
  passthroughOf(p: Profile): Profile | null {
    const info = this.source.info;
    if (codecOf(p) !== 'h264' || !info.h264 || !(this.options.passthrough ?? true)) return null;
    if (p.width !== info.width || p.height !== info.height) return null;
    return { width: p.width, height: p.height, quality: 0, codec: 'h264', passthrough: true };
  }

  /** Subscribe at the profile fitProfile() grants (read it back from Subscription.profile). */
  subscribe(profile: Profile, asked: number, subscriber: Subscriber): Subscription {
    const fps = this.deliveredFps(profile, asked);
    const state: SubState = { subscriber, fps, intervalUs: 1e6 / fps, nextDueUs: 0, profile: this.profileState(this.fitProfile(profile, fps)) };
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
      catchUp() {
        return state.profile.h264?.gop.catchUp().map((e) => e.frame) ?? [];
      },
      change(p: Profile, askedFps: number) {
        const newFps = hub.deliveredFps(p, askedFps);
        // With no capacity for the new request the subscriber keeps what it has (read back profile and fps).
        let fitted: Profile;
        try {
          fitted = hub.fitProfile(p, newFps, state);
        } catch {
          return;
        }
        hub.leave(state);
        state.profile = hub.profileState(fitted);
        state.profile.subs.add(state);
        state.fps = newFps;
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
      // A passthrough profile has no encoder: its counters are passedThrough's.
      ...(p.h264?.encoder ? { h264: { encoder: p.h264.encoder.encoder, inFlight: p.h264.encoder.inFlight, ...p.h264.encoder.stats } } : {}),
    }));
  }

  /** Every H.264 profile's encoder counters since start: live encoders' plus stopped ones' (folded in as each stops). */
  h264Counters(): H264Counters[] {
    const out = new Map<string, H264Counters>();
    for (const [key, stats] of this.retiredH264) out.set(key, { key, encoder: null, inFlight: 0, stats: { ...stats } });
    for (const p of this.profiles.values()) {
      const e = p.h264?.encoder;
      if (!e) continue;
      const c = out.get(p.key) ?? { key: p.key, encoder: null, inFlight: 0, stats: zeroH264Stats() };
      addStats(c.stats, e.stats);
      c.encoder = e.encoder;
      c.inFlight = e.inFlight;
      out.set(p.key, c);
    }
    return [...out.values()];
  }

  private profileState(profile: Profile): ProfileState {
    const key = profileKey(profile);
    let s = this.profiles.get(key);
    if (!s) {
      s = { profile: Object.freeze({ ...profile }), key, subs: new Set(), encoding: 0, lastDeliveredUs: 0, encoded: 0, passedThrough: 0, skippedBusy: 0, lastEncodeMs: 0, latest: null, h264: null };
      this.profiles.set(key, s);
      if (profile.passthrough) s.h264 = { encoder: null, gop: new GopCache() };
      else if (codecOf(profile) === 'h264') this.startH264(s);
    }
    return s;
  }

  /** The encode rate of H.264 profiles: the source's own (an inter-coded stream cannot skip frames per viewer). */
  private h264Fps(): number {
    return Math.min(120, Math.max(1, Math.round(this.source.info.fps)));
  }

  /** The rate a subscriber of `profile` really gets: what it asked for, except H.264, which runs at the encode rate. */
  deliveredFps(profile: Profile, asked: number): number {
    return codecOf(profile) === 'h264' ? this.h264Fps() : asked;
  }

  private startH264(p: ProfileState): void {
    const o = this.h264Options ?? {};
    const fps = this.h264Fps();
    const encoder = new H264Encoder({
      width: p.profile.width,
      height: p.profile.height,
      fps,
      bitrate: p.profile.bitrate ?? 2_000_000,
      gop: Math.min(3600, Math.max(1, Math.round((o.gopSeconds ?? 2) * fps))),
      encoder: o.encoder ?? 'auto',
      ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
    });
    p.h264 = { encoder, gop: new GopCache() };
    const log = (level: 'info' | 'warn' | 'error', text: string): void => {
      for (const ob of this.observers) ob.sourceEvent?.({ kind: 'log', level, text });
    };
    encoder
      .start({
        accessUnit: (au) => this.deliverAccessUnit(p, au),
        // The encoder's own faults are the log's business: the source is fine, and viewers skip to the keyframe it resumes with.
        event: (e) => {
          if (e.kind === 'log') log(e.level, e.text);
          else if (e.kind === 'lost') {
            // The encoder restarts with a keyframe; what is cached predates it.
            p.h264?.gop.clear();
            log('warn', `H.264 ${p.key}: encoder lost: ${e.reason}`);
          }
          else log('info', `H.264 ${p.key}: encoder resumed`);
        },
      })
      .catch((e: unknown) => {
        const err = toFramewireError(e, 'E_UNSUPPORTED');
        for (const ob of this.observers) ob.encodeFailed?.(err);
      });
  }

  private deliverAccessUnit(p: ProfileState, au: EncodedAccessUnit): void {
    if (this.profiles.get(p.key) !== p || p.subs.size === 0) return;
    this.publishAccessUnit(p, au.seq, au.captureUs, au.encodedUs, au.data, au.keyframe, false);
  }

  private leave(state: SubState): void {
    const p = state.profile;
    p.subs.delete(state);
    if (p.subs.size === 0 && p.encoding === 0) this.dropProfile(p);
  }

  private dropProfile(p: ProfileState): void {
    if (this.profiles.get(p.key) === p) this.profiles.delete(p.key);
    if (p.h264?.encoder) {
      void p.h264.encoder.stop();
      this.retireH264(p.key, p.h264.encoder.stats);
    }
    p.h264 = null;
  }

  private retireH264(key: string, stats: H264EncoderStats): void {
    const k = this.retiredH264.has(key) || this.retiredH264.size < MAX_RETIRED_H264_PROFILES ? key : 'other';
    const into = this.retiredH264.get(k) ?? zeroH264Stats();
    addStats(into, stats);
    this.retiredH264.set(k, into);
  }

  private isDue(s: SubState, captureUs: number): boolean {
    return captureUs >= s.nextDueUs - this.slackUs;
  }

  private onFrame(frame: RawFrame): void {
    if (this.stopped) return;
    this.captured++;
    this.lastFormat = frame.format;
    this.releaseLatestRaw?.();
    this.latestRaw = frame;
    this.releaseLatestRaw = frame.retain?.();
    for (const o of this.observers) o.captured?.(frame);
    for (const p of this.profiles.values()) {
      if (p.h264) {
        // Every frame, whatever rate its viewers asked: the encoder runs at the source's rate, paces itself
        // (a bounded number of frames in flight) and counts what it refuses.
        if (p.h264.encoder && p.subs.size > 0 && !p.h264.encoder.encode(frame)) p.skippedBusy++;
        continue;
      }
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

  /** The source's own H.264: every access unit to every subscriber of the passthrough profile at its size. */
  private onAccessUnit(au: SourceAccessUnit): void {
    if (this.stopped) return;
    for (const p of this.profiles.values()) {
      if (!p.profile.passthrough || !p.h264 || p.profile.width !== au.width || p.profile.height !== au.height) continue;
      // After a gap the run cached so far is no reference for what follows (the keyframe starts a new one anyway).
      if (au.restart) p.h264.gop.clear();
      if (p.subs.size === 0) continue;
      this.publishAccessUnit(p, au.seq, au.captureUs, nowUs(), au.data, au.keyframe, true);
    }
  }

  /** An access unit of an H.264 profile, encoded or passed through: counted, cached for joiners, to every subscriber. */
  private publishAccessUnit(p: ProfileState, seq: number, captureUs: number, encodedUs: number, data: Buffer, keyframe: boolean, passthrough: boolean): void {
    const ms = passthrough ? 0 : Math.max(0, (encodedUs - captureUs) / 1000);
    if (passthrough) p.passedThrough++;
    else p.encoded++;
    p.lastEncodeMs = ms;
    for (const o of this.observers) o.encoded?.(p.profile, ms, data.length, passthrough);
    const ef = new EncodedFrame(seq, captureUs, p.profile, data, encodedUs, false, { codec: 'h264', keyframe });
    p.h264?.gop.push({ keyframe, data, frame: ef });
    // Every subscriber gets every access unit: each one predicts from the one before.
    for (const s of p.subs) s.subscriber.deliver(ef);
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
      if (p.subs.size === 0 && p.encoding === 0) this.dropProfile(p);
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
      if (p.encoding === 0) this.dropProfile(p);
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

  private onSourceEvent(event: SourceEvent): void {
    // Whatever a source says may reach viewers (STATUS), the log and /healthz: no URL goes out with its secrets.
    const e: SourceEvent =
      event.kind === 'lost' ? { ...event, reason: redactText(event.reason) } : { ...event, text: redactText(event.text) };
    if (e.kind !== 'log') this.lastSourceEvent = e;
    // A restarted source starts again at a keyframe: what passthrough profiles cached predates it.
    if (e.kind === 'lost') for (const p of this.profiles.values()) if (p.profile.passthrough) p.h264?.gop.clear();
    for (const o of this.observers) o.sourceEvent?.(e);
    if (e.kind === 'log') return;
    for (const p of this.profiles.values()) for (const s of p.subs) s.subscriber.sourceEvent(e);
    if (e.kind === 'lost') this.startStandIn();
    else this.stopStandIn();
  }

  private startStandIn(): void {
    if (this.standInTimer || this.stopped) return;
    const tick = (): void => {
      for (const p of this.profiles.values()) void this.deliverStandIn(p);
    };
    this.standInTimer = setInterval(tick, STAND_IN_INTERVAL_MS);
    this.standInTimer.unref();
    tick();
  }

  private stopStandIn(): void {
    if (this.standInTimer) clearInterval(this.standInTimer);
    this.standInTimer = null;
    this.noSignal.clear();
  }

  /** One no-signal frame per profile and tick, shared by its subscribers like any frame. */
  private async deliverStandIn(p: ProfileState): Promise<void> {
    // The no-signal picture is a JPEG: an H.264 viewer is told in words (STATUS) instead.
    if (p.h264 || ![...p.subs].some((s) => s.subscriber.standIn)) return;
    let payload: Buffer;
    try {
      payload = await this.noSignal.jpeg(p.profile);
    } catch (e) {
      const err = toFramewireError(e, 'E_SOURCE');
      for (const o of this.observers) o.encodeFailed?.(err);
      return;
    }
    // The source may have come back while the picture was being encoded.
    if (this.standInTimer === null) return;
    const now = nowUs();
    const ef = new EncodedFrame(this.latestRaw?.seq ?? 0, now, p.profile, payload, now, true);
    for (const s of p.subs) if (s.subscriber.standIn) s.subscriber.deliver(ef);
  }
}

function addStats(into: H264EncoderStats, from: Readonly<H264EncoderStats>): void {
  for (const k of Object.keys(into) as (keyof H264EncoderStats)[]) into[k] += from[k];
}
