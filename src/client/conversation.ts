/**
 * The client's side of a framewire/1 conversation (docs/protocol.md §4) as a state machine with no I/O and
 * no timers: bytes and the time go in, messages to send and events come out. The Node client drives it over
 * TCP or TLS (connection.ts), the browser viewer over WebSocket (src/web/viewer-connection.ts), and tests
 * with hand-made messages, so the rules below are written once for all of them.
 */
import { FramewireError } from '../errors.js';
import { Codec, PROTOCOL_VERSION, codecBit, type CodecId } from '../protocol/constants.js';
import { MessageDecoder, parseSupportedVersions } from '../protocol/decoder.js';
import type { AcceptMessage, FrameMessage, Message, StatusMessage, StreamParams } from '../protocol/messages.js';
import { ClockOffset, offsetSample } from './clock-offset.js';
import { printable } from './printable.js';

export interface ConversationOptions {
  /** Asked for in HELLO (0 = server default). */
  params: StreamParams;
  token: string;
  /**
   * Codecs the client can take (§4.1.1); JPEG is always among them, as the fallback every server grants.
   * Default: JPEG only, which keeps the HELLO byte for byte what it was before codec negotiation.
   */
  codecs?: readonly CodecId[];
  /** Names the server in error texts ("host:port"). */
  peer: string;
  /** Largest message accepted, checked on the envelope before allocation (default 16 MiB, §5.2). */
  maxMessageBytes?: number;
  /** No ACCEPT or REJECT this long after start(): E_TIMEOUT. Absent: no limit here. */
  handshakeTimeoutMs?: number;
  /** Not a byte from the server this long once streaming (a framewire server pings every 10 s): E_TIMEOUT. */
  idleTimeoutMs?: number;
  /** Where clock-offset samples go; pass one that outlives the conversation to keep them across reconnects. */
  clock?: ClockOffset;
}

/**
 * Why a conversation ended. refused: REJECT (or ERROR) instead of ACCEPT. error, goodbye: the server ended it
 * while streaming, and closes its side. closed: the connection went without a word. violation: the server sent
 * bytes that do not decode or a message it may not send now. timeout: a handshake or idle limit passed.
 * local: close() was called.
 */
export type EndReason = 'refused' | 'error' | 'goodbye' | 'closed' | 'violation' | 'timeout' | 'local';

export type ConversationEvent =
  /** answers: what the ACCEPT answers; null for one the client did not ask for (taken as the new grant). */
  | { type: 'accepted'; accept: AcceptMessage; answers: 'hello' | 'renegotiate' | null }
  /** latencyMs: capture to receive, corrected by the clock offset; null before the first offset sample. */
  | { type: 'frame'; frame: FrameMessage; receivedUs: number; latencyMs: number | null }
  | { type: 'status'; status: StatusMessage }
  /**
   * The last event. error is null for a normal end (GOODBYE 0 or E_SHUTDOWN); text is the server's own words
   * where it gave some (REJECT, ERROR, GOODBYE), else the error's message. Server text is always printable().
   */
  | { type: 'end'; reason: EndReason; error: FramewireError | null; text: string };

/** What one input produced: messages for the transport to send (in order), then events for the application. */
export interface Step {
  send: Message[];
  events: ConversationEvent[];
}

export type ConversationState = 'new' | 'hello-sent' | 'streaming' | 'ended';

/** §4.4: a quick burst for a first offset estimate (five pings 50 ms apart), then one a second to follow drift. */
const BURST_PINGS = 5;
const BURST_GAP_US = 50_000;
const PING_EVERY_US = 1_000_000;
/** Pings remembered for matching their PONG; older unanswered ones are forgotten. */
const PINGS_REMEMBERED = 32;

export class Conversation {
  private state_: ConversationState = 'new';
  private readonly decoder: MessageDecoder;
  private readonly clock: ClockOffset;
  private readonly pingSent = new Map<number, number>();
  private pingId = 0;
  /** Index of the next slot in the ping schedule, counted from acceptedUs. */
  private pingSlot = 0;
  private acceptedUs = 0;
  private handshakeDeadlineUs = Infinity;
  private lastHeardUs = 0;
  /** RENEGOTIATEs sent and not answered yet; the server answers them in order (§4.3). */
  private renegotiations = 0;
  /** Asked for before the ACCEPT arrived, when only GOODBYE may be sent (§4.1): sent right after it. */
  private deferred: StreamParams | null = null;
  /** What HELLO asks for. */
  private params: StreamParams;
  /** HELLO's codecs byte: 0 (JPEG only) unless something else is offered. */
  private readonly codecMask: number;
  /** The codec the first ACCEPT granted; the whole conversation keeps it (§4.1.1). */
  private codec_: CodecId | null = null;

  constructor(private readonly options: ConversationOptions) {
    this.params = streamParams(options.params);
    const offered = options.codecs ?? [];
    this.codecMask = offered.some((c) => c !== Codec.JPEG) ? offered.reduce((m, c) => m | codecBit(c), codecBit(Codec.JPEG)) : 0;
    // The decoder refuses an ACCEPT or FRAME whose codec was not offered (E_UNSUPPORTED, §4.1.1).
    this.decoder = new MessageDecoder({ maxMessageBytes: options.maxMessageBytes, codecs: this.codecMask });
    this.clock = options.clock ?? new ClockOffset();
  }

  /** The codec the server granted (ACCEPT), or null before it. */
  get codec(): CodecId | null {
    return this.codec_;
  }

  get state(): ConversationState {
    return this.state_;
  }

  /** The best clock-offset sample so far (server clock − local clock), or null before the first PONG. */
  get offset(): { offsetUs: number; rttUs: number } | null {
    return this.clock.best;
  }

  /** The conversation opens with HELLO (§4.1). */
  start(nowUs: number): Step {
    const step = emptyStep();
    if (this.state_ !== 'new') return step;
    this.state_ = 'hello-sent';
    const ms = this.options.handshakeTimeoutMs;
    if (ms !== undefined) this.handshakeDeadlineUs = nowUs + ms * 1000;
    const codecs = this.codecMask !== 0 ? { codecs: this.codecMask } : {};
    step.send.push({ type: 'hello', version: PROTOCOL_VERSION, ...this.params, token: this.options.token, ...codecs });
    return step;
  }

  /** Bytes from the server, in any chunking (over WebSocket, one message each). */
  receiveBytes(chunk: Uint8Array, nowUs: number): Step {
    const step = emptyStep();
    if (this.state_ === 'ended') return step;
    this.lastHeardUs = nowUs;
    const { messages, error } = this.decoder.push(chunk);
    for (const m of messages) {
      this.handle(m, nowUs, step);
      // Nothing after the end counts: no ACK for a FRAME that follows a GOODBYE in the same read.
      if (this.over()) return step;
    }
    // §2.2: a framewire/1 stream cannot be resynchronised after a bad message.
    if (error) this.end(step, 'violation', error, error.message);
    return step;
  }

  /** One decoded message from the server. */
  receive(m: Message, nowUs: number): Step {
    const step = emptyStep();
    if (this.state_ !== 'ended') this.handle(m, nowUs, step);
    return step;
  }

  /** The transport closed (FIN, RST, WebSocket close) without the conversation having ended (§4.5 rule 5). */
  transportClosed(): Step {
    const step = emptyStep();
    if (this.state_ === 'hello-sent') this.end(step, 'closed', new FramewireError('E_CONNECT', 'server closed the connection during the handshake'));
    else if (this.state_ === 'streaming') this.end(step, 'closed', new FramewireError('E_CLOSED', 'connection closed by the server'));
    else this.state_ = 'ended';
    return step;
  }

  /** When tick() next has something to do, in µs on nowUs()'s clock; null when nothing is scheduled. */
  get deadlineUs(): number | null {
    if (this.state_ === 'hello-sent') return Number.isFinite(this.handshakeDeadlineUs) ? this.handshakeDeadlineUs : null;
    if (this.state_ !== 'streaming') return null;
    const idle = this.options.idleTimeoutMs;
    const ping = this.nextPingUs();
    return idle === undefined ? ping : Math.min(ping, this.lastHeardUs + idle * 1000);
  }

  /** Time passes: handshake and idle limits, the ping schedule. Early calls do nothing. */
  tick(nowUs: number): Step {
    const step = emptyStep();
    if (this.state_ === 'hello-sent' && nowUs >= this.handshakeDeadlineUs) {
      this.end(step, 'timeout', new FramewireError('E_TIMEOUT', `no answer to hello within ${this.options.handshakeTimeoutMs} ms`));
    }
    if (this.state_ !== 'streaming') return step;
    const idle = this.options.idleTimeoutMs;
    if (idle !== undefined && nowUs - this.lastHeardUs >= idle * 1000) {
      // A half-open connection or a frozen server: nothing else would ever end the wait.
      this.end(step, 'timeout', new FramewireError('E_TIMEOUT', `nothing heard from ${this.options.peer} for ${idle} ms`));
      return step;
    }
    if (nowUs >= this.nextPingUs()) {
      this.ping(nowUs, step);
      // After a stall, one ping and back on schedule, not a burst of the missed ones.
      while (this.nextPingUs() <= nowUs) this.pingSlot++;
    }
    return step;
  }

  /**
   * Ask for other parameters (§4.3); the answer comes as an 'accepted' event that answers 'renegotiate'.
   * Before start() they replace what HELLO asks for; while HELLO waits for its answer, they go after ACCEPT.
   */
  renegotiate(params: StreamParams): Step {
    const step = emptyStep();
    if (this.state_ === 'new') this.params = streamParams(params);
    else if (this.state_ === 'hello-sent') this.deferred = streamParams(params);
    else if (this.state_ === 'streaming') this.sendRenegotiate(params, step);
    else throw new FramewireError('E_CLOSED', 'not connected');
    return step;
  }

  /** End the conversation from this side: GOODBYE 0 once HELLO has gone (§4.5). Idempotent. */
  close(text: string): Step {
    const step = emptyStep();
    if (this.state_ === 'ended') return step;
    if (this.state_ !== 'new') step.send.push({ type: 'goodbye', code: 'OK', text });
    this.end(step, 'local', null, text);
    return step;
  }

  private over(): boolean {
    return this.state_ === 'ended';
  }

  private handle(m: Message, nowUs: number, step: Step): void {
    if (this.state_ === 'hello-sent') return this.handshake(m, nowUs, step);
    switch (m.type) {
      case 'frame': {
        if (m.codec !== this.codec_) {
          const e = new FramewireError('E_UNSUPPORTED', `frame with codec ${m.codec}, but the server granted codec ${this.codec_}`);
          return this.end(step, 'violation', e, e.message);
        }
        // §4.2: acknowledge on arrival, before decoding or display: the ACK says "received", which is what the
        // server's window counts, so the window bounds only what is on the network.
        step.send.push({ type: 'ack', seq: m.seq });
        const best = this.clock.best;
        const latencyMs = best ? (nowUs + best.offsetUs - m.captureUs) / 1000 : null;
        step.events.push({ type: 'frame', frame: m, receivedUs: nowUs, latencyMs });
        return;
      }
      case 'ping':
        step.send.push({ type: 'pong', id: m.id, t1: m.t1, t2: nowUs, t3: nowUs });
        return;
      case 'pong':
        // §4.4: a PONG that does not echo one of our PINGs is ignored.
        if (this.pingSent.get(m.id) !== m.t1) return;
        this.pingSent.delete(m.id);
        this.clock.add(offsetSample(m.t1, m.t2, m.t3, nowUs));
        return;
      case 'accept': {
        if (m.codec !== this.codec_) {
          const e = new FramewireError('E_UNSUPPORTED', `the server changed the codec from ${this.codec_} to ${m.codec}; a conversation keeps one (§4.1.1)`);
          return this.end(step, 'violation', e, e.message);
        }
        const answers = this.renegotiations > 0 ? 'renegotiate' : null;
        if (answers) this.renegotiations--;
        step.events.push({ type: 'accepted', accept: { ...m, source: printable(m.source) }, answers });
        return;
      }
      case 'status':
        // Server-controlled text: never hand control characters to whoever prints it.
        step.events.push({ type: 'status', status: { ...m, text: printable(m.text) } });
        return;
      case 'goodbye': {
        const text = printable(m.text);
        // A server shutting down is a normal end too: reconnecting later may find it back (§4.5).
        const error = m.code === 'OK' || m.code === 'E_SHUTDOWN' ? null : new FramewireError(m.code, text);
        return this.end(step, 'goodbye', error, text);
      }
      case 'error':
        return this.end(step, 'error', new FramewireError(m.code, `server error: ${printable(m.text)}`), printable(m.text));
      default:
        return this.end(step, 'violation', new FramewireError('E_UNEXPECTED', `server sent ${m.type} while streaming`));
    }
  }

  /** §4.1: the server's first message is ACCEPT or REJECT; a client also takes an ERROR as a refusal. */
  private handshake(m: Message, nowUs: number, step: Step): void {
    if (m.type === 'accept') {
      if (m.codec !== Codec.JPEG && (this.codecMask & codecBit(m.codec)) === 0) {
        // Only reachable through receive(): receiveBytes' decoder already refuses it.
        const e = new FramewireError('E_UNSUPPORTED', `the server granted codec ${m.codec}, which this client did not offer`);
        return this.end(step, 'violation', e, e.message);
      }
      this.codec_ = m.codec;
      this.state_ = 'streaming';
      this.acceptedUs = this.lastHeardUs = nowUs;
      step.events.push({ type: 'accepted', accept: { ...m, source: printable(m.source) }, answers: 'hello' });
      this.ping(nowUs, step);
      const d = this.deferred;
      this.deferred = null;
      if (d) this.sendRenegotiate(d, step);
      return;
    }
    if (m.type === 'reject' && m.code === 'E_VERSION') {
      // §4.7: the one text with a defined form names the versions the server speaks.
      const versions = parseSupportedVersions(m.text);
      const speaks = versions ? `it speaks framewire/${versions.join(', framewire/')}` : printable(m.text);
      const error = new FramewireError('E_VERSION', `server refused framewire/${PROTOCOL_VERSION}: ${speaks}`);
      return this.end(step, 'refused', error, printable(m.text));
    }
    if (m.type === 'reject' || m.type === 'error') {
      const text = printable(m.text);
      return this.end(step, 'refused', new FramewireError(m.code, `server refused: ${text}`), text);
    }
    this.end(step, 'violation', new FramewireError('E_UNEXPECTED', `expected accept, got ${m.type}`));
  }

  private sendRenegotiate(params: StreamParams, step: Step): void {
    this.renegotiations++;
    step.send.push({ type: 'renegotiate', ...streamParams(params) });
  }

  private nextPingUs(): number {
    const k = this.pingSlot;
    return this.acceptedUs + (k < BURST_PINGS ? k * BURST_GAP_US : (k - BURST_PINGS + 1) * PING_EVERY_US);
  }

  private ping(nowUs: number, step: Step): void {
    this.pingSlot++;
    const id = (this.pingId = (this.pingId + 1) >>> 0);
    this.pingSent.set(id, nowUs);
    if (this.pingSent.size > PINGS_REMEMBERED) this.pingSent.delete(this.pingSent.keys().next().value!);
    step.send.push({ type: 'ping', id, t1: nowUs });
  }

  private end(step: Step, reason: EndReason, error: FramewireError | null, text = error?.message ?? ''): void {
    this.state_ = 'ended';
    this.deferred = null;
    step.events.push({ type: 'end', reason, error, text });
  }
}

/** Only the four fields: a caller's object may carry more (an ACCEPT, say), which must not reach the wire. */
function streamParams({ width, height, fps, quality }: StreamParams): StreamParams {
  return { width, height, fps, quality };
}

function emptyStep(): Step {
  return { send: [], events: [] };
}
