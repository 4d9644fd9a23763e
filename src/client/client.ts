/**
 * The client library: connect(url) → a FramewireClient you iterate with `for await (const frame of client)`.
 * It reads eagerly and acknowledges every frame on arrival (so the server's window keeps latency at about
 * one frame end to end), and keeps only the newest frame(s) for your code: a slow consumer drops frames
 * here, counted in stats.dropped, instead of building a backlog.
 *
 * The pieces: conversation.ts (framewire/1, no I/O), connection.ts (sockets), seed-connection.ts (the
 * tutorial's format), frame-queue.ts (newest frames for your loop), reconnect.ts (backoff).
 */
import type net from 'node:net';
import { FramewireError } from '../errors.js';
import { Codec, type CodecId } from '../protocol/constants.js';
import type { AcceptMessage, StatusMessage, StreamParams } from '../protocol/messages.js';
import { ClockOffset } from './clock-offset.js';
import { ConversationSocket, openSocket, type TlsClientOptions } from './connection.js';
import { Conversation, type ConversationEvent } from './conversation.js';
import { FrameQueue } from './frame-queue.js';
import { isFatal, redial, type ReconnectOptions } from './reconnect.js';
import { SeedSocket } from './seed-connection.js';
import { StatsWindow, type ClientStats } from './stats.js';
import { parseStreamUrl, type StreamUrl } from './url.js';

export type { ReconnectOptions } from './reconnect.js';
export type { TlsClientOptions } from './connection.js';

export interface Frame {
  /** Server's frame sequence number (source frame index). For tutorial servers: count of frames received. */
  seq: number;
  /** Capture time on the server's clock, µs since the epoch; for tutorial servers, the receive time. */
  captureUs: number;
  /** Local receive time, µs since the epoch. */
  receivedUs: number;
  /** Capture-to-receive latency corrected by the clock offset; null when the server cannot tell (tutorial format). */
  latencyMs: number | null;
  width: number;
  height: number;
  /** The payload's codec: the one the server granted (accepted.codec). */
  codec: CodecName;
  /** Decodes on its own: every JPEG frame; an H.264 frame whose FRAME says keyframe (docs/protocol.md §3.4). */
  keyframe: boolean;
  /** Part of a catch-up burst: decode it, do not show it (§4.2.1). Always false for JPEG. */
  catchUp: boolean;
  /** The payload: a JPEG file, or (codec 'h264') one H.264 access unit in Annex-B form. */
  payload: Uint8Array;
  /** The same bytes as `payload` (the name from before H.264). */
  jpeg: Uint8Array;
}

export type CodecName = 'jpeg' | 'h264';
const CODEC_IDS: Record<CodecName, CodecId> = { jpeg: Codec.JPEG, h264: Codec.H264 };
function codecName(id: CodecId): CodecName {
  return id === Codec.H264 ? 'h264' : 'jpeg';
}

export interface ConnectOptions extends Partial<StreamParams> {
  token?: string;
  /**
   * Codecs this client can take (framewire/1 only, docs/protocol.md §4.1.1; default ['jpeg']). JPEG is
   * always included: a server that cannot serve another grants JPEG, and accepted.codec says which.
   */
  codecs?: readonly CodecName[];
  /** Reconnect with exponential backoff after a lost connection (not after close() or a refusal). */
  reconnect?: boolean | ReconnectOptions;
  connectTimeoutMs?: number;
  /**
   * A server that sends nothing (no frame, no ping) for this long is taken as gone: E_TIMEOUT, then a
   * reconnect if enabled (default 30 s; a framewire server pings every 10 s, a tutorial server sends frames).
   */
  idleTimeoutMs?: number;
  /** Largest message accepted from the server, checked before allocation (default 16 MiB). */
  maxMessageBytes?: number;
  /**
   * Frames kept for a slow consumer before older ones are dropped (default 1; 64 when H.264 is offered, so a
   * catch-up burst reaches the consumer whole). H.264 frames are never dropped singly: when the queue is full,
   * frames are dropped up to the next keyframe, so what the consumer gets always decodes.
   */
  queue?: number;
  tls?: TlsClientOptions;
  /** Called for server STATUS messages (source lost/resumed) and connection changes. */
  onStatus?: (text: string, status: StatusMessage | null) => void;
}

const DEFAULT_SEED_PARAMS: StreamParams = { width: 640, height: 480, fps: 15, quality: 0 };

/** What a connection is to the client, whichever format it speaks. */
interface Link {
  close(): Promise<void>;
}

interface PendingRenegotiation {
  resolve: (a: AcceptMessage) => void;
  reject: (e: FramewireError) => void;
}

export class FramewireClient implements AsyncIterable<Frame> {
  private link: Link | null = null;
  private readonly stats_ = new StatsWindow();
  /** Outlives connections: a reconnect keeps measuring latency with what it knows. */
  private readonly clock = new ClockOffset();
  private readonly frames: FrameQueue<Frame>;
  /** An H.264 frame was dropped: drop until the next keyframe. */
  private h264Skipping = false;
  private readonly renegotiations: PendingRenegotiation[] = [];
  private decodeErrors = 0;
  private reconnects = 0;
  private closedByUser = false;
  private params: StreamParams;
  private granted: AcceptMessage | null = null;

  private constructor(
    readonly url: StreamUrl,
    private readonly options: ConnectOptions,
  ) {
    const d = url.scheme === 'seed' ? DEFAULT_SEED_PARAMS : { width: 0, height: 0, fps: 0, quality: 0 };
    this.params = {
      width: options.width ?? d.width,
      height: options.height ?? d.height,
      fps: options.fps ?? d.fps,
      quality: options.quality ?? d.quality,
    };
    this.frames = new FrameQueue(Math.max(1, options.queue ?? (options.codecs?.includes('h264') ? 64 : 1)));
  }

  /** Connect and complete the handshake; rejects with a FramewireError (E_CONNECT, E_AUTH, …). */
  static async connect(url: string, options: ConnectOptions = {}): Promise<FramewireClient> {
    const c = new FramewireClient(parseStreamUrl(url), options);
    await c.dial();
    return c;
  }

  /** What the server granted (framewire/1), or what was asked (tutorial format, which has no answer). */
  get accepted(): Readonly<StreamParams> & { source: string; codec: CodecName } {
    if (this.granted) {
      const g = this.granted;
      return { width: g.width, height: g.height, fps: g.fps, quality: g.quality, source: g.source, codec: codecName(g.codec) };
    }
    return { ...this.params, source: `tutorial server ${this.url.host}:${this.url.port}`, codec: 'jpeg' };
  }

  get stats(): ClientStats {
    const s = this.stats_.summary();
    const best = this.clock.best;
    return {
      frames: this.stats_.frames,
      bytes: this.stats_.bytes,
      seconds: s.seconds,
      fps: s.fps,
      kbps: s.kbps,
      latencyMs: s.latencyMs,
      rttMs: best ? best.rttUs / 1000 : null,
      clockOffsetMs: best ? best.offsetUs / 1000 : null,
      dropped: this.frames.dropped,
      decodeErrors: this.decodeErrors,
      reconnects: this.reconnects,
      width: this.granted?.width ?? this.params.width,
      height: this.granted?.height ?? this.params.height,
    };
  }

  /** Count a frame your code could not decode (it shows in stats.decodeErrors). */
  reportDecodeError(): void {
    this.decodeErrors++;
  }

  /** Change resolution, rate or quality mid-stream; resolves with what the server granted. */
  async renegotiate(p: Partial<StreamParams>, timeoutMs = 5000): Promise<StreamParams> {
    this.params = { ...this.params, ...p };
    if (this.url.scheme === 'seed') throw new FramewireError('E_UNSUPPORTED', 'the tutorial format cannot renegotiate; reconnect instead');
    const link = this.link;
    if (!(link instanceof ConversationSocket) || !link.streaming) throw new FramewireError('E_CLOSED', 'not connected');
    const answer = new Promise<AcceptMessage>((resolve, reject) => this.renegotiations.push({ resolve, reject }));
    link.renegotiate(this.params);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FramewireError('E_TIMEOUT', `no answer to renegotiate within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const a = await Promise.race([answer, timeout]);
      return { width: a.width, height: a.height, fps: a.fps, quality: a.quality };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Say goodbye and end the stream; iteration finishes normally. */
  async close(): Promise<void> {
    this.closedByUser = true;
    const link = this.link;
    this.link = null;
    await link?.close();
    this.finish(null);
  }

  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return {
      next: () => this.frames.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private async dial(): Promise<void> {
    const { host, port, scheme } = this.url;
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 30_000;
    const socket = await openSocket(this.url, connectTimeoutMs, this.options.tls);
    const peer = `${host}:${port}`;
    if (scheme === 'seed') {
      const seed: SeedSocket = new SeedSocket(socket, { params: this.params, maxMessageBytes: this.options.maxMessageBytes, idleTimeoutMs, peer }, {
        frame: (f) => this.deliver({ ...f, payload: f.jpeg, captureUs: f.receivedUs, latencyMs: null, codec: 'jpeg', keyframe: true, catchUp: false }),
        end: (e) => this.lost(seed, e),
      });
      this.link = seed;
      return seed.start();
    }
    const conversation = new Conversation({
      params: this.params,
      token: this.options.token ?? '',
      codecs: (this.options.codecs ?? []).map((c) => CODEC_IDS[c]),
      peer,
      maxMessageBytes: this.options.maxMessageBytes,
      handshakeTimeoutMs: connectTimeoutMs,
      idleTimeoutMs,
      clock: this.clock,
    });
    return this.handshake(socket, conversation);
  }

  /** Resolves on ACCEPT; rejects on anything else, the connection then already closed. */
  private handshake(socket: net.Socket, conversation: Conversation): Promise<void> {
    return new Promise((resolve, reject) => {
      let accepted = false;
      const link: ConversationSocket = new ConversationSocket(socket, conversation, (e) => {
        if (accepted) return this.onEvent(link, e);
        // Before ACCEPT the conversation ends or accepts, nothing else.
        if (e.type === 'end') return reject(e.error ?? new FramewireError('E_CLOSED', 'closed before the server answered'));
        if (e.type !== 'accepted') return;
        accepted = true;
        this.granted = e.accept;
        resolve();
      });
      this.link = link;
      link.start();
    });
  }

  private onEvent(link: ConversationSocket, e: ConversationEvent): void {
    if (this.link !== link) return;
    switch (e.type) {
      case 'frame': {
        const f = e.frame;
        const jpeg = f.codec === Codec.JPEG;
        this.deliver({
          seq: f.seq,
          captureUs: f.captureUs,
          receivedUs: e.receivedUs,
          latencyMs: e.latencyMs,
          width: f.width,
          height: f.height,
          codec: codecName(f.codec),
          keyframe: jpeg || f.keyframe === true,
          catchUp: f.catchUp === true,
          payload: f.payload,
          jpeg: f.payload,
        });
        return;
      }
      case 'accepted':
        this.granted = e.accept;
        if (e.answers === 'renegotiate') this.renegotiations.shift()?.resolve(e.accept);
        return;
      case 'status':
        this.options.onStatus?.(e.status.text, e.status);
        return;
      case 'end':
        if (e.reason === 'goodbye') this.options.onStatus?.(`server said goodbye: ${e.text}`, null);
        return this.lost(link, e.error);
    }
  }

  private deliver(f: Frame): void {
    const j = f.jpeg;
    if (f.codec === 'jpeg' && (j.length < 4 || j[0] !== 0xff || j[1] !== 0xd8 || j[j.length - 2] !== 0xff || j[j.length - 1] !== 0xd9)) this.decodeErrors++;
    this.stats_.record(j.length, f.latencyMs);
    if (f.codec === 'h264') {
      // A picture whose reference was dropped cannot be shown: drop up to the next keyframe instead.
      if (f.keyframe) {
        this.h264Skipping = false;
        if (this.frames.full) this.frames.clear();
      } else if (this.h264Skipping || this.frames.full) {
        this.h264Skipping = true;
        this.frames.dropped++;
        return;
      }
    }
    this.frames.push(f);
  }

  /** The connection ended. Reconnect if asked to and it can help; otherwise end the iteration. */
  private lost(link: Link, err: FramewireError | null): void {
    if (this.link !== link) return;
    this.link = null;
    for (const r of this.renegotiations.splice(0)) r.reject(err ?? new FramewireError('E_CLOSED', 'connection closed'));
    if (this.closedByUser || this.frames.isEnded) return this.finish(null);
    const r = this.options.reconnect;
    if (!r || (err && isFatal(err.code))) return this.finish(err);
    this.options.onStatus?.(`connection lost${err ? ` (${err.code}: ${err.message})` : ''}; reconnecting`, null);
    void redial(typeof r === 'object' ? r : {}, () => this.dial(), () => this.closedByUser).then((result) => {
      if (!result.connected) return this.finish(result.error);
      this.reconnects++;
      this.options.onStatus?.('reconnected', null);
    });
  }

  private finish(err: FramewireError | null): void {
    this.frames.end(this.closedByUser ? null : err);
  }
}

/** Connect to a framewire server (tcp://, tls://) or a tutorial server (seed://). */
export function connect(url: string, options: ConnectOptions = {}): Promise<FramewireClient> {
  return FramewireClient.connect(url, options);
}
