/**
 * The browser's framewire/1 conversation over WebSocket — the same one the Node client has over TCP
 * (src/client/client.ts): hello → accept, ack every frame on arrival (the server's window then keeps about
 * one frame in flight), answer pings, send our own pings for the clock offset, renegotiate on demand,
 * and reconnect with backoff when the connection is lost.
 */
import { ClockOffset, offsetSample } from '../client/clock-offset.js';
import type { ErrorCode } from '../errors.js';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import { MessageDecoder } from '../protocol/decoder.js';
import { encodeMessage } from '../protocol/encode.js';
import type { AcceptMessage, FrameMessage, Message, StreamParams } from '../protocol/messages.js';
import { nowUs } from '../clock.js';

export type ViewerState = 'connecting' | 'streaming' | 'reconnecting' | 'disconnected' | 'unauthorized' | 'refused';

export interface ConnectionEvents {
  state(state: ViewerState, detail: string): void;
  accept(granted: AcceptMessage): void;
  frame(frame: FrameMessage, receivedUs: number): void;
  /** Server STATUS text (source lost/resumed). */
  status(text: string): void;
  /** The server refused our token. Return a new token to try it at once, or null to stop. */
  authRefused(text: string): string | null;
}

/** Refusals that retrying cannot fix (E_AUTH is handled separately: the user may supply a token). */
const FATAL: ReadonlySet<ErrorCode> = new Set(['E_VERSION', 'E_BAD_PARAMS', 'E_UNSUPPORTED', 'E_BAD_MAGIC']);
const INITIAL_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;
/** Server frames can be large; this only guards against a broken stream. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** encodeMessage allocates a fresh, unshared buffer; the DOM's send() wants that said in the type. */
function wire(m: Message): Uint8Array<ArrayBuffer> {
  return encodeMessage(m) as Uint8Array<ArrayBuffer>;
}

export class ViewerConnection {
  private ws: WebSocket | null = null;
  private readonly clock = new ClockOffset();
  private readonly pingSent = new Map<number, number>();
  private pingId = 0;
  private pingTimer: number | undefined;
  private retryTimer: number | undefined;
  private backoffMs = INITIAL_BACKOFF_MS;
  /** True between start() and stop(): a lost connection is then retried. */
  private wanted = false;

  constructor(
    private readonly wsUrl: string,
    private token: string,
    private params: StreamParams,
    private readonly on: ConnectionEvents,
  ) {}

  /** Server clock − local clock in µs, or null before the first pong. */
  get offsetUs(): number | null {
    return this.clock.best?.offsetUs ?? null;
  }

  start(): void {
    this.wanted = true;
    this.backoffMs = INITIAL_BACKOFF_MS;
    window.clearTimeout(this.retryTimer);
    this.open('connecting');
  }

  /** Say goodbye and stay disconnected until start(). */
  stop(detail = 'disconnected'): void {
    this.wanted = false;
    window.clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.drop();
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(wire({ type: 'goodbye', code: 'OK', text: 'viewer closed' }));
      ws.close(1000);
    } else ws?.close();
    this.on.state('disconnected', detail);
  }

  /** Ask for another size/rate/quality (0 = server default); the server answers with ACCEPT. */
  renegotiate(p: StreamParams): void {
    this.params = { ...p };
    if (this.ws?.readyState === WebSocket.OPEN) this.send({ type: 'renegotiate', ...this.params });
  }

  private send(m: Message): void {
    this.ws?.send(wire(m));
  }

  private open(state: ViewerState): void {
    this.on.state(state, state === 'connecting' ? 'connecting…' : 'reconnecting…');
    const ws = new WebSocket(this.wsUrl);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const decoder = new MessageDecoder({ maxMessageBytes: MAX_MESSAGE_BYTES });
    let accepted = false;
    let refusal: { code: ErrorCode; text: string } | null = null;

    ws.onopen = () => {
      this.send({ type: 'hello', version: PROTOCOL_VERSION, ...this.params, token: this.token });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws || !(ev.data instanceof ArrayBuffer)) return;
      const receivedUs = nowUs();
      const { messages, error } = decoder.push(new Uint8Array(ev.data));
      for (const m of messages) {
        if (m.type === 'reject' || m.type === 'error') {
          refusal = { code: m.code, text: m.text };
          continue;
        }
        if (m.type === 'accept') {
          if (!accepted) this.startPings();
          accepted = true;
          this.backoffMs = INITIAL_BACKOFF_MS;
          this.on.state('streaming', m.source);
          this.on.accept(m);
        } else this.onMessage(m, receivedUs);
      }
      if (error) {
        refusal = { code: error.code, text: error.message };
        ws.close();
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop();
      if (!this.wanted) return;
      const r = refusal as { code: ErrorCode; text: string } | null;
      if (r?.code === 'E_AUTH') {
        const next = this.on.authRefused(r.text);
        if (next === null) {
          this.wanted = false;
          this.on.state('unauthorized', `server refused: ${r.text}`);
          return;
        }
        this.token = next;
        this.open('connecting');
        return;
      }
      if (r && FATAL.has(r.code)) {
        this.wanted = false;
        this.on.state('refused', `server refused: ${r.code}: ${r.text}`);
        return;
      }
      this.on.state('reconnecting', r ? `${r.code}: ${r.text} — reconnecting…` : 'reconnecting…');
      const delay = this.backoffMs * (0.8 + 0.4 * Math.random());
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      this.retryTimer = window.setTimeout(() => {
        if (this.wanted) this.open('reconnecting');
      }, delay);
    };
  }

  private onMessage(m: Message, receivedUs: number): void {
    switch (m.type) {
      case 'frame':
        // Ack on arrival, before decoding: the ack says "received", which is what the server's window counts.
        this.send({ type: 'ack', seq: m.seq });
        this.on.frame(m, receivedUs);
        return;
      case 'ping':
        this.send({ type: 'pong', id: m.id, t1: m.t1, t2: receivedUs, t3: nowUs() });
        return;
      case 'pong': {
        if (this.pingSent.get(m.id) !== m.t1) return;
        this.pingSent.delete(m.id);
        this.clock.add(offsetSample(m.t1, m.t2, m.t3, receivedUs));
        return;
      }
      case 'status':
        this.on.status(m.text);
        return;
      case 'goodbye':
        // The server is going away (restart, shutdown): the close that follows triggers a reconnect.
        this.on.status(`server said goodbye: ${m.text}`);
        return;
      default:
        return;
    }
  }

  private startPings(): void {
    const ping = (): void => {
      if (this.ws?.readyState !== WebSocket.OPEN) return;
      const id = ++this.pingId >>> 0;
      const t1 = nowUs();
      this.pingSent.set(id, t1);
      if (this.pingSent.size > 32) this.pingSent.delete(this.pingSent.keys().next().value!);
      this.send({ type: 'ping', id, t1 });
    };
    // A quick burst for a first offset estimate, then one a second to follow drift (as the Node client).
    ping();
    for (let i = 1; i <= 4; i++) window.setTimeout(ping, 50 * i);
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(ping, 1000);
  }

  /** Forget the current socket (it may still be closing). */
  private drop(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.onmessage = null;
  }
}
