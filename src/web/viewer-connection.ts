/**
 * The browser's framewire/1 connection: the Node client's conversation (src/client/conversation.ts: hello →
 * accept, an ack for every frame on arrival, pings for the clock offset, renegotiation) carried over a
 * WebSocket, one framewire/1 message per WebSocket message, and dialled again with backoff when lost.
 */
import { nowUs } from '../clock.js';
import { ClockOffset } from '../client/clock-offset.js';
import { Conversation, type ConversationEvent, type Step } from '../client/conversation.js';
import { DeadlineTimer } from '../client/deadline-timer.js';
import { Backoff, isFatal } from '../client/reconnect.js';
import { FramewireError, type ErrorCode } from '../errors.js';
import { encodeMessage } from '../protocol/encode.js';
import type { CodecId } from '../protocol/constants.js';
import type { AcceptMessage, FrameMessage, Message, StreamParams } from '../protocol/messages.js';

export type ViewerState = 'connecting' | 'streaming' | 'reconnecting' | 'disconnected' | 'unauthorized' | 'refused';

export interface ConnectionEvents {
  state(state: ViewerState, detail: string): void;
  accept(granted: AcceptMessage): void;
  frame(frame: FrameMessage, receivedUs: number): void;
  /** Server STATUS text (source lost/resumed). */
  status(text: string): void;
  /** The server refused our token. Resolve to a new token to try it at once, or null to stop. */
  authRefused(text: string): Promise<string | null>;
}

/** Server frames can be large; this only guards against a broken stream. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** No open WebSocket, then no ACCEPT, this long after dialling: dial again (the Node client's connect limit). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Not a byte from the server this long while streaming (it pings every 10 s): the connection is gone. */
const IDLE_TIMEOUT_MS = 30_000;

/** encodeMessage allocates a fresh, unshared buffer; the DOM's send() wants that said in the type. */
function wire(m: Message): Uint8Array<ArrayBuffer> {
  return encodeMessage(m) as Uint8Array<ArrayBuffer>;
}

type Ending = Extract<ConversationEvent, { type: 'end' }>;

export class ViewerConnection {
  private ws: WebSocket | null = null;
  private conversation: Conversation | null = null;
  /** Outlives connections, as the Node client's does. */
  private readonly clock = new ClockOffset();
  private readonly backoff = new Backoff();
  /** How the current conversation ended, for the decision once its WebSocket has closed. */
  private ending: Ending | null = null;
  private readonly timer = new DeadlineTimer(() => {
    const c = this.conversation;
    if (c) this.apply(c.tick(nowUs()));
  });
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  /** Numbers the token questions, so that the answer to one replaced by a newer one is ignored. */
  private authAsk = 0;
  /** True between start() and stop(): a lost connection is then retried. */
  private wanted = false;

  constructor(
    private readonly wsUrl: string,
    private token: string,
    private params: StreamParams,
    private readonly on: ConnectionEvents,
    /** Offered in HELLO besides JPEG (§4.1.1); empty: JPEG only. */
    private readonly codecs: readonly CodecId[] = [],
  ) {}

  /** Server clock − local clock in µs, or null before the first pong. */
  get offsetUs(): number | null {
    return this.clock.best?.offsetUs ?? null;
  }

  start(): void {
    this.wanted = true;
    this.backoff.reset();
    clearTimeout(this.retryTimer);
    this.open('connecting');
  }

  /** Say goodbye and stay disconnected until start(). */
  stop(detail = 'disconnected'): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    const goodbye = this.conversation?.close('viewer closed');
    this.drop();
    if (ws && ws.readyState === WebSocket.OPEN) {
      for (const m of goodbye?.send ?? []) ws.send(wire(m));
      ws.close(1000);
    } else ws?.close();
    this.on.state('disconnected', detail);
  }

  /** Ask for another size/rate/quality (0 = server default); the server answers with ACCEPT. */
  renegotiate(p: StreamParams): void {
    this.params = { ...p };
    const c = this.conversation;
    // Without a conversation under way, the next one's HELLO asks for them.
    if (c && c.state !== 'ended') this.apply(c.renegotiate(this.params));
  }

  private open(state: ViewerState): void {
    this.on.state(state, state === 'connecting' ? 'connecting…' : 'reconnecting…');
    const ws = new WebSocket(this.wsUrl);
    ws.binaryType = 'arraybuffer';
    const conversation = new Conversation({
      params: this.params,
      token: this.token,
      peer: new URL(this.wsUrl).host,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      clock: this.clock,
      codecs: this.codecs,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
    });
    this.ws = ws;
    this.conversation = conversation;
    this.ending = null;
    // A WebSocket that never opens (a host that takes the connection and never answers) would otherwise
    // wait for the browser's own limit, minutes; the conversation's handshake limit starts once it is open.
    clearTimeout(this.openTimer);
    this.openTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState !== WebSocket.CONNECTING) return;
      const text = `no WebSocket to ${new URL(this.wsUrl).host} within ${HANDSHAKE_TIMEOUT_MS} ms`;
      this.ending = { type: 'end', reason: 'timeout', error: new FramewireError('E_TIMEOUT', text), text };
      ws.close();
    }, HANDSHAKE_TIMEOUT_MS);

    ws.onopen = () => {
      if (this.ws !== ws) return;
      clearTimeout(this.openTimer);
      this.apply(conversation.start(nowUs()));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws || !(ev.data instanceof ArrayBuffer)) return;
      this.apply(conversation.receiveBytes(new Uint8Array(ev.data), nowUs()));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.apply(conversation.transportClosed());
      this.drop();
      if (this.wanted) this.retry(this.ending);
    };
  }

  /** After a lost connection: a new token, a stop on a refusal retrying cannot fix, else a new dial later. */
  private retry(ending: Ending | null): void {
    // A GOODBYE (a server restarting) or a silent close is a reason to come back, not a refusal.
    const r: { code: ErrorCode; text: string } | null =
      ending?.error && ending.reason !== 'goodbye' && ending.reason !== 'closed' ? { code: ending.error.code, text: ending.text } : null;
    if (r?.code === 'E_AUTH') {
      const ask = ++this.authAsk;
      void this.on.authRefused(r.text).then((next) => {
        // A newer question, or stop() or start() while the user was asked: theirs is the last word.
        if (ask !== this.authAsk || !this.wanted || this.ws) return;
        if (next === null) {
          this.wanted = false;
          this.on.state('unauthorized', `server refused: ${r.text}`);
          return;
        }
        this.token = next;
        this.open('connecting');
      });
      return;
    }
    if (r && isFatal(r.code)) {
      this.wanted = false;
      this.on.state('refused', `server refused: ${r.code}: ${r.text}`);
      return;
    }
    this.on.state('reconnecting', r ? `${r.code}: ${r.text} — reconnecting…` : 'reconnecting…');
    this.retryTimer = setTimeout(() => {
      if (this.wanted) this.open('reconnecting');
    }, this.backoff.next());
  }

  /** Send what the conversation says, hand its events on, and wake it at its next deadline (pings). */
  private apply(step: Step): void {
    const ws = this.ws;
    if (ws?.readyState === WebSocket.OPEN) for (const m of step.send) ws.send(wire(m));
    for (const e of step.events) {
      switch (e.type) {
        case 'accepted':
          this.backoff.reset();
          this.on.state('streaming', e.accept.source);
          this.on.accept(e.accept);
          break;
        case 'frame':
          this.on.frame(e.frame, e.receivedUs);
          break;
        case 'status':
          this.on.status(e.status.text);
          break;
        case 'end':
          this.ending ??= e;
          // A server going away (restart, shutdown): the close that follows brings a reconnect.
          if (e.reason === 'goodbye') this.on.status(`server said goodbye: ${e.text}`);
          // The server closes after REJECT, ERROR and GOODBYE; after a violation it is this side's to close.
          if (e.reason === 'violation' || e.reason === 'timeout') ws?.close();
      }
    }
    this.timer.set(this.conversation?.deadlineUs ?? null);
  }

  /** Forget the current socket (it may still be closing). */
  private drop(): void {
    this.timer.clear();
    clearTimeout(this.openTimer);
    const ws = this.ws;
    this.ws = null;
    this.conversation = null;
    if (ws) ws.onmessage = null;
  }
}
