/**
 * One viewer of the stream, whatever carries it: the lifecycle every transport shares, written once
 * (docs/architecture.md). A transport adds only how a frame goes on its wire and how its peer talks.
 *
 *   open    grant the profile (grant.ts) → admit against the limits (client-registry.ts) → one hub call,
 *           which fits the grant to the encoding capacity → the transport's yes on its wire (begin) → a log
 *           line with what was granted → the source's state if it is down
 *   frames  hub → stall check → the newest-frame slot (newest-frame-slot.ts) → the transport's write
 *   source  lost/resumed told in words where the transport can (framewire/1 STATUS); every other viewer is
 *           subscribed to the hub's no-signal picture, which it gets instead of frames until the source is back
 *   close   idempotent: leave the hub, drop the waiting frame, fold the counters into the registry's totals
 */
import { FramewireError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EncodedFrame } from '../pipeline/encoded-frame.js';
import type { FrameHub, Subscription } from '../pipeline/frame-hub.js';
import { describeCoding, type Profile } from '../pipeline/profile.js';
import type { StreamParams } from '../protocol/messages.js';
import type { SourceEvent } from '../sources/source.js';
import type { ClientProtocol, ClientRecord, ClientRegistry, ClientTotals } from './client-registry.js';
import type { ServerContext } from './context.js';
import { grantParams, type GrantPolicy } from './grant.js';
import { NewestFrameSlot, slotPolicyFor, type FrameSink } from './newest-frame-slot.js';

/** What a viewer gets: the profile the hub encodes for it, and its rate. */
export type Grant = StreamParams;

/** A change of the source a viewer is told about. */
export type SourceStatus = Exclude<SourceEvent, { kind: 'log' }>;

/** A transport's side of one viewer. */
export interface ViewerWire extends FrameSink {
  /** Admitted and subscribed, before any frame: say yes on the wire (ACCEPT, the HTTP response head). */
  begin?(grant: Grant): void;
  /** The source was lost or is back, for a peer that can be told in words; without this, it is shown the no-signal picture. */
  status?(event: SourceStatus): void;
  /** The viewer ended itself (its reader stalled) and has logged why: close the connection. */
  end(reason: FramewireError): void;
}

/** A viewer at the other end of a connection: counted against the limits. */
export interface Peer {
  readonly address: string;
  readonly protocol: ClientProtocol;
}

/** How a viewer's frames are coded: JPEG at the granted quality, or H.264 at a bitrate (bit/s). */
export type ViewerCoding = { readonly codec: 'jpeg' } | { readonly codec: 'h264'; readonly bitrate: number };

const JPEG: ViewerCoding = { codec: 'jpeg' };

function profileOf(g: Grant, coding: ViewerCoding = JPEG): Profile {
  if (coding.codec === 'jpeg') return { width: g.width, height: g.height, quality: g.quality };
  // 4:2:0 H.264 needs even sizes of at least 16 (h264-encoder-args.ts).
  const even = (v: number): number => Math.max(16, v - (v % 2));
  return { width: even(g.width), height: even(g.height), quality: 0, codec: 'h264', bitrate: coding.bitrate };
}

export class Viewer {
  private readonly slot: NewestFrameSlot;
  private sub: Subscription | null = null;
  private current: Grant = { width: 0, height: 0, fps: 0, quality: 0 };
  private record: ClientRecord | null = null;
  private closed = false;

  private constructor(
    private readonly hub: FrameHub,
    private readonly log: Logger,
    /** For the log: "mjpeg client 10.0.0.7", "recording". */
    private readonly who: string,
    /** Peers: the server's grant rules and limits. Null for the server's own viewer, which takes what it asks. */
    private readonly peer: { policy: GrantPolicy; registry: ClientRegistry; stallAfterMs: number } | null,
    private readonly wire: ViewerWire,
    private readonly coding: ViewerCoding = JPEG,
  ) {
    // H.264: a viewer that had to skip gets the frames it missed from the GOP cache once it is ready again.
    this.slot = new NewestFrameSlot(wire, slotPolicyFor(coding.codec), coding.codec === 'h264' ? () => this.sub?.catchUp() ?? [] : undefined);
  }

  /**
   * A peer asking for `asked` (0: the server's default) becomes a viewer: granted, admitted, subscribed, told
   * yes (wire.begin). Throws a FramewireError (E_TOO_MANY_CLIENTS) with nothing left behind when it cannot be.
   */
  static open(ctx: ServerContext, peer: Peer, asked: StreamParams, wire: ViewerWire, coding: ViewerCoding = JPEG): Viewer {
    const { config, hub, registry } = ctx;
    const v = new Viewer(hub, config.log, `${peer.protocol} client ${peer.address}`, { policy: config, registry, stallAfterMs: config.idleTimeoutMs }, wire, coding);
    v.record = registry.admit(peer.address, peer.protocol, () => v.counters());
    try {
      v.attach(grantParams(asked, config, hub.source.info));
    } catch (e) {
      v.close();
      throw e;
    }
    return v;
  }

  /** The server's own viewer (a recording): the operator's profile as given, not counted as a client, never timed out. */
  static own(hub: FrameHub, log: Logger, who: string, want: Grant, wire: ViewerWire, coding: ViewerCoding = JPEG): Viewer {
    const v = new Viewer(hub, log, who, null, wire, coding);
    v.attach(want);
    return v;
  }

  /**
   * What `asked` would be granted now, without admitting or subscribing anyone: for a transport that must
   * answer before it opens the viewer (an HTTP HEAD, a refusal before the response starts).
   */
  static preview(ctx: ServerContext, asked: StreamParams, coding: ViewerCoding = JPEG): Grant {
    const want = grantParams(asked, ctx.config, ctx.hub.source.info);
    const profile = profileOf(want, coding);
    // H.264 runs at the encode rate whatever was asked, as subscribe() grants it.
    const fps = ctx.hub.deliveredFps(profile, want.fps);
    return { ...ctx.hub.fitProfile(profile, fps), fps };
  }

  private attach(want: Grant): void {
    this.sub = this.hub.subscribe(profileOf(want, this.coding), want.fps, {
      deliver: (f) => this.offer(f),
      sourceEvent: (e) => {
        if (e.kind !== 'log' && !this.closed) this.wire.status?.(e);
      },
      standIn: this.wire.status === undefined,
    });
    this.granted();
    const grant = this.current;
    this.wire.begin?.(grant);
    if (this.coding.codec === 'h264') {
      // Joining mid-GOP: the run since the last keyframe, all but the newest marked catch-up (§4.2.1).
      const run = this.sub.catchUp();
      this.slot.burst(run.map((f, i) => (i < run.length - 1 ? f.asCatchUp() : f)));
    }
    if (this.peer) this.log.info(`${this.who} streaming ${grant.width}x${grant.height}@${grant.fps} ${describeCoding(this.sub.profile)}`);
    // A viewer arriving while the source is down is told so at once, not at its next change.
    const last = this.hub.lastSourceEvent;
    if (last?.kind === 'lost' && !this.closed) this.wire.status?.(last);
  }

  /** The profile and rate this viewer gets now. */
  get grant(): Grant {
    return this.current;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A new request (framewire/1 RENEGOTIATE): the new grant, or the old one kept when there is no capacity for it. */
  change(asked: StreamParams): Grant {
    if (this.closed || !this.peer) return this.grant;
    const want = grantParams(asked, this.peer.policy, this.hub.source.info);
    this.sub!.change(profileOf(want, this.coding), want.fps);
    this.granted();
    // A frame of the old profile may still be waiting; the viewer asked for the new one.
    this.slot.clear();
    return this.grant;
  }

  /** The wire became ready by the transport's own rule (an ACK opened the framewire/1 window). */
  kick(): void {
    this.slot.kick();
  }

  /**
   * The stall policy: a frame write pending longer than the idle timeout means the peer takes no data,
   * whatever else it sends, and the viewer ends itself. Checked at every frame, and by a transport with its
   * own timer (framewire/1's keep-alive) for when no frame comes.
   */
  checkStall(now?: number): boolean {
    if (this.closed || !this.peer || !this.slot.stalled(this.peer.stallAfterMs, now)) return false;
    const reason = new FramewireError('E_TIMEOUT', `took no frame data for ${this.peer.stallAfterMs} ms`);
    this.log.info(`${reason.code}: ${this.who}: ${reason.message}`);
    this.close();
    this.wire.end(reason);
    return true;
  }

  /** For the registry's totals and /metrics: counts that only grow (a resumed viewer's drops settle late). */
  counters(): ClientTotals {
    return { sent: this.slot.sent, bytes: this.slot.bytes, ...this.slot.settled(this.closed) };
  }

  /** Leave the hub, drop the waiting frame, fold the counters into the registry's totals. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.cancel();
    this.sub = null;
    this.slot.clear();
    if (this.record) this.peer!.registry.remove(this.record);
    this.record = null;
  }

  private offer(f: EncodedFrame): void {
    if (this.checkStall()) return;
    this.slot.offer(f);
  }

  /** Read back what the hub granted (it may fit a request to a smaller live profile) and show it in the registry. */
  private granted(): void {
    const { profile, fps } = this.sub!;
    this.current = { ...profile, fps };
    if (this.record) {
      this.record.profile = profile;
      this.record.fps = fps;
    }
  }
}
