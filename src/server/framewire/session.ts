/**
 * One framewire/1 client, whatever carries its bytes (TCP, TLS, WebSocket): the conversation of
 * docs/protocol.md §4 — hello → accept/reject, frames paced and acknowledged, ping/pong, renegotiate, goodbye.
 * What every viewer shares (grant, admission, slot, stalls, counters, close) is its Viewer's (../viewer.ts);
 * this adds the framewire/1 wire: the FRAME message, the ack window, keep-alive and STATUS.
 */
import { Codec, PROTOCOL_VERSION, offeredCodecs, type CodecId } from '../../protocol/constants.js';
import { encodeFrameHeader, encodeMessage } from '../../protocol/encode.js';
import type { HelloMessage, Message, PingMessage, StreamParams } from '../../protocol/messages.js';
import { StatusCode } from '../../protocol/messages.js';
import { toFramewireError, type ErrorCode, type FramewireError } from '../../errors.js';
import type { EncodedFrame, WireFormat } from '../../pipeline/encoded-frame.js';
import { nowUs } from '../../clock.js';
import type { AuthVerdict } from '../authenticator.js';
import type { ClientProtocol } from '../client-registry.js';
import type { ServerContext } from '../context.js';
import { CONTROL_BACKLOG_BYTES, MESSAGE_RATE, PING_RATE, RateLimit, RENEGOTIATE_RATE } from '../peer-limits.js';
import { Viewer, type Grant, type SourceStatus } from '../viewer.js';

/** The framewire/1 FRAME message (§3): envelope, frame fields and JPEG in one buffer, shared by TCP, TLS and WebSocket viewers. */
export const FRAMEWIRE_FRAME: WireFormat = {
  name: 'framewire/1 FRAME',
  build: (f: EncodedFrame) =>
    Buffer.concat([
      encodeFrameHeader(
        f.codec === 'h264'
          ? { seq: f.seq, captureUs: f.captureUs, width: f.width, height: f.height, codec: Codec.H264, keyframe: f.keyframe, catchUp: f.catchUp }
          : { seq: f.seq, captureUs: f.captureUs, width: f.width, height: f.height, codec: Codec.JPEG },
        f.payload.length,
      ),
      f.payload,
    ]),
};

/**
 * The codec a conversation is granted (§4.1.1), from the HELLO's `codecs` byte and what this server serves
 * (ServerContext.codecs: H.264 when --codec allows it and the encoder works here). A client offering H.264
 * to a server that does not serve it gets JPEG, and the ACCEPT says so: a fallback, not an error. The FRAME
 * builder follows each frame's codec.
 */
export function grantCodec(codecs: number, serves: readonly CodecId[] = [Codec.JPEG]): CodecId {
  // JPEG is in every offer (a HELLO's codecs byte 0 means JPEG only), so it is always the fallback.
  return offeredCodecs(codecs).includes(Codec.H264) && serves.includes(Codec.H264) ? Codec.H264 : Codec.JPEG;
}

export interface SessionTransport {
  readonly remoteAddress: string;
  readonly protocol: ClientProtocol;
  /** Write one control message; call done() once its bytes are handed to the OS (or the write failed). */
  sendMessage(bytes: Uint8Array, done: () => void): void;
  /** Write one FRAME message; call done() once the bytes are handed to the OS. */
  sendFrame(bytes: Uint8Array, done: () => void): void;
  /** False once the peer is gone or the connection is closing. */
  isOpen(): boolean;
  /** Flush what was queued, then close. */
  end(): void;
  /** Stop reading from the peer (its replies are backed up) until resumeInput(). */
  pauseInput(): void;
  resumeInput(): void;
}

export class FramewireSession {
  /** 'auth': the hello arrived and its token is being checked (which may wait its turn, see auth-limiter.ts). */
  private state: 'hello' | 'auth' | 'streaming' | 'closed' = 'hello';
  private viewer: Viewer | null = null;
  /** Granted once, from the HELLO; every ACCEPT of the conversation repeats it (§4.1.1). */
  private codec: CodecId = Codec.JPEG;
  /** Sequence numbers sent and not yet acknowledged, oldest first. */
  private readonly inFlight: number[] = [];
  /** The newest seq sent on this connection (null before the first frame): no ACK may go past it. */
  private newestSent: number | null = null;
  /** Last proof that the peer reads: an ACK of a frame in flight or a PONG to our PING (not its own PINGs). */
  private lastHeardMs = Date.now();
  private handshakeTimer: NodeJS.Timeout | null;
  private idleTimer: NodeJS.Timeout | null = null;
  private pingId = 0;
  /** Our PINGs not yet answered, id → t1: only a PONG that echoes one proves the peer reads. */
  private readonly pingsOut = new Map<number, number>();
  private readonly messageLimit = new RateLimit(MESSAGE_RATE.perSecond, MESSAGE_RATE.burst);
  private readonly pingLimit = new RateLimit(PING_RATE.perSecond, PING_RATE.burst);
  private readonly renegotiateLimit = new RateLimit(RENEGOTIATE_RATE.perSecond, RENEGOTIATE_RATE.burst);
  /** Bytes of control messages written and not yet handed to the OS: replies the peer has not read. */
  private controlQueued = 0;
  private drainTimer: NodeJS.Timeout | null = null;
  /** The newest source status not yet sent because replies were backed up (only the latest state matters). */
  private heldStatus: Message | null = null;

  constructor(
    private readonly transport: SessionTransport,
    private readonly ctx: ServerContext,
  ) {
    this.handshakeTimer = setTimeout(
      () => this.fail('E_TIMEOUT', `no hello within ${ctx.config.handshakeTimeoutMs} ms`, true),
      ctx.config.handshakeTimeoutMs,
    );
  }

  /** Accepted and streaming (no longer a pending handshake). */
  get streaming(): boolean {
    return this.viewer !== null;
  }

  /** Nothing the peer sends matters any more (the transport need not even decode it). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** One decoded message from the client. */
  onMessage(m: Message): void {
    if (this.state === 'closed') return;
    if (this.state === 'hello') {
      if (m.type !== 'hello') return this.fail('E_UNEXPECTED', `expected hello, got ${m.type}`, true);
      return this.onHello(m);
    }
    if (this.state === 'auth') {
      if (m.type === 'goodbye') return this.close();
      return this.fail('E_UNEXPECTED', `a client may not send ${m.type} before ACCEPT`, true);
    }
    if (!this.messageLimit.take()) return this.fail('E_RATE_LIMITED', `more than ${MESSAGE_RATE.perSecond} messages a second`);
    switch (m.type) {
      case 'ack':
        return this.onAck(m.seq);
      case 'ping':
        return this.onPing(m);
      case 'pong':
        if (this.pingsOut.get(m.id) === m.t1) {
          this.pingsOut.delete(m.id);
          this.lastHeardMs = Date.now();
        }
        return;
      case 'renegotiate':
        if (!this.renegotiateLimit.take()) {
          return this.fail('E_RATE_LIMITED', `more than ${RENEGOTIATE_RATE.burst} renegotiations at once or ${RENEGOTIATE_RATE.perSecond} a second`);
        }
        return this.onRenegotiate(m);
      case 'goodbye':
        return this.close();
      default:
        return this.fail('E_UNEXPECTED', `a client may not send ${m.type} while streaming`);
    }
  }

  /**
   * The carrier's own keep-alive (a WebSocket ping, answered by the WebSocket layer): it costs a reply like
   * a framewire/1 PING, so it counts against the same rate.
   */
  onTransportPing(): void {
    if (this.state !== 'closed' && !this.pingLimit.take()) this.rateLimitedPing();
  }

  /** The bytes could not be decoded: tell the client why, then close. */
  onDecodeError(e: FramewireError): void {
    this.fail(e.code, e.message, this.state === 'hello');
  }

  /** The transport closed (peer left, error, or our own end()). */
  onClosed(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.handshakeTimer = this.idleTimer = this.drainTimer = null;
    this.state = 'closed';
    this.viewer?.close();
  }

  /** Server shutdown: GOODBYE E_SHUTDOWN (§4.5; code 0 is a peer simply leaving), then close. */
  goodbye(text = 'server shutting down'): void {
    if (this.state === 'closed') return;
    if (this.transport.isOpen()) this.send({ type: 'goodbye', code: 'E_SHUTDOWN', text });
    this.close();
  }

  private onHello(h: HelloMessage): void {
    // The hello is here: from now on the wait is the server's own (a check waiting its turn, bounded there).
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'auth';
    const isOpen = (): boolean => this.state === 'auth' && this.transport.isOpen();
    const v = this.ctx.auth.check(this.transport.remoteAddress, h.token, `${this.transport.protocol} client`, isOpen);
    if (v instanceof Promise) void v.then((x) => this.onVerdict(h, x));
    else this.onVerdict(h, v);
  }

  private onVerdict(h: HelloMessage, v: AuthVerdict): void {
    if (this.state !== 'auth') return;
    if (!v.ok) {
      if (v.code === 'E_CLOSED') return this.close();
      // Already logged (rate-limited) by the authenticator.
      return this.fail(v.code, v.missing ? `${v.text} (--token)` : v.text, true, false);
    }
    const peer = { address: this.transport.remoteAddress, protocol: this.transport.protocol };
    this.codec = grantCodec(h.codecs ?? 0, this.ctx.codecs);
    try {
      this.viewer = Viewer.open(this.ctx, peer, h, {
        ready: () => this.inFlight.length < this.ctx.config.window && this.transport.isOpen(),
        write: (f, done) => {
          this.inFlight.push(f.seq);
          this.newestSent = f.seq;
          this.transport.sendFrame(f.wire(FRAMEWIRE_FRAME), done);
        },
        // The hub may grant a smaller live profile than asked (--max-profiles, --encode-budget): ACCEPT says which.
        begin: (g) => {
          this.state = 'streaming';
          this.lastHeardMs = Date.now();
          this.sendAccept(g);
        },
        status: (e) => this.onSourceStatus(e),
        end: (reason) => this.fail(reason.code, reason.message, false, false),
      }, this.codec === Codec.H264 ? { codec: 'h264', bitrate: this.ctx.config.bitrate * 1000 } : { codec: 'jpeg' });
    } catch (e) {
      const err = toFramewireError(e);
      return this.fail(err.code, err.message, true);
    }
    this.startIdleWatch();
  }

  private sendAccept(g: Grant): void {
    this.send({
      type: 'accept',
      version: PROTOCOL_VERSION,
      ...g,
      codec: this.codec,
      window: this.ctx.config.window,
      serverTimeUs: nowUs(),
      source: this.ctx.hub.source.info.description,
    });
  }

  private onPing(m: PingMessage): void {
    if (!this.pingLimit.take()) return this.rateLimitedPing();
    this.send({ type: 'pong', id: m.id, t1: m.t1, t2: nowUs(), t3: nowUs() });
  }

  private rateLimitedPing(): void {
    this.fail('E_RATE_LIMITED', `more than ${PING_RATE.burst} pings at once or ${PING_RATE.perSecond} a second`);
  }

  /**
   * Every control message goes out here, so what the peer leaves unread is counted: past
   * CONTROL_BACKLOG_BYTES the server stops reading from it (it cannot ask for more replies), and a peer
   * that does not drain them within a third of the idle timeout is closed.
   */
  private send(m: Message): void {
    const bytes = encodeMessage(m);
    const n = bytes.length;
    this.controlQueued += n;
    this.transport.sendMessage(bytes, () => {
      this.controlQueued -= n;
      if (!this.drainTimer || this.controlQueued > CONTROL_BACKLOG_BYTES / 2) return;
      this.resumeInput();
      const held = this.heldStatus;
      this.heldStatus = null;
      if (held && this.state === 'streaming') this.send(held);
    });
    if (!this.drainTimer && this.controlQueued > CONTROL_BACKLOG_BYTES && this.state !== 'closed') this.pauseInput();
  }

  private pauseInput(): void {
    this.transport.pauseInput();
    const ms = this.pingEveryMs();
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      this.fail('E_TIMEOUT', `left ${this.controlQueued} bytes of replies unread for ${ms} ms`);
    }, ms);
    this.drainTimer.unref();
  }

  private get backedUp(): boolean {
    return this.drainTimer !== null;
  }

  private resumeInput(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    if (this.state !== 'closed') this.transport.resumeInput();
  }

  private onRenegotiate(p: StreamParams): void {
    // Without capacity for the request the client keeps what it had; the ACCEPT says which (§4.3).
    this.sendAccept(this.viewer!.change(p));
  }

  private onAck(seq: number): void {
    // §4.2: an ACK past the newest frame sent acknowledges frames the client cannot have received (it would
    // open the window ahead of the network); one at or before the oldest in flight (late, repeated) changes nothing.
    if (this.newestSent === null || ((seq - this.newestSent) | 0) > 0) {
      return this.fail('E_UNEXPECTED', `ack for frame ${seq >>> 0}, which was not sent${this.newestSent === null ? ' (no frame sent yet)' : ` (newest sent: ${this.newestSent >>> 0})`}`);
    }
    // Only an ACK of a frame actually sent shows the peer reads; a blind ACK does not keep it alive.
    const newest = this.inFlight[this.inFlight.length - 1];
    if (newest !== undefined && ((this.inFlight[0]! - seq) | 0) <= 0 && ((seq - newest) | 0) <= 0) this.lastHeardMs = Date.now();
    // Cumulative: everything up to seq (serial-number arithmetic, so wrap-around after 2^32 frames is fine).
    while (this.inFlight.length > 0 && ((this.inFlight[0]! - seq) | 0) <= 0) this.inFlight.shift();
    this.viewer!.kick();
  }

  private onSourceStatus(e: SourceStatus): void {
    if (this.state !== 'streaming') return;
    const status = e.kind === 'lost' ? StatusCode.SOURCE_LOST : StatusCode.SOURCE_RESUMED;
    const text = e.kind === 'lost' ? e.reason : e.text;
    // A flapping source must not queue a message per change for a peer that is not reading.
    if (this.backedUp) this.heldStatus = { type: 'status', status, text };
    else this.send({ type: 'status', status, text });
  }

  private pingEveryMs(): number {
    return Math.max(50, Math.floor(this.ctx.config.idleTimeoutMs / 3));
  }

  private startIdleWatch(): void {
    const idle = this.ctx.config.idleTimeoutMs;
    const every = this.pingEveryMs();
    this.idleTimer = setInterval(() => {
      const now = Date.now();
      // A frame write that never completes: the peer reads nothing, whatever it sends.
      if (this.viewer!.checkStall(now)) return;
      if (now - this.lastHeardMs > idle) return this.fail('E_TIMEOUT', `nothing heard for ${idle} ms`);
      if (this.backedUp) return; // it could not read this ping either
      const id = ++this.pingId >>> 0;
      const t1 = nowUs();
      this.pingsOut.set(id, t1);
      if (this.pingsOut.size > 4) this.pingsOut.delete(this.pingsOut.keys().next().value!);
      this.send({ type: 'ping', id, t1 });
    }, every);
    this.idleTimer.unref();
  }

  private fail(code: ErrorCode, text: string, asReject = false, log = true): void {
    if (this.state === 'closed') return;
    if (log) this.ctx.config.log.info(`${code}: ${this.transport.protocol} client ${this.transport.remoteAddress}: ${text}`);
    if (this.transport.isOpen()) this.send(asReject ? { type: 'reject', code, text } : { type: 'error', code, text });
    this.close();
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.onClosed();
    this.transport.end();
  }
}
