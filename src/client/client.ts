/**
 * The client library: connect(url) → a FramewireClient you iterate with `for await (const frame of client)`.
 * It reads eagerly and acknowledges every frame on arrival (so the server's window keeps latency at about
 * one frame end to end), and keeps only the newest frame(s) for your code: a slow consumer drops frames
 * here, counted in stats.dropped, instead of building a backlog.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FramewireError, toFramewireError, type ErrorCode } from '../errors.js';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import { MessageDecoder, parseSupportedVersions } from '../protocol/decoder.js';
import { encodeMessage } from '../protocol/encode.js';
import type { AcceptMessage, Message, StatusMessage, StreamParams } from '../protocol/messages.js';
import { encodeSeedHello, SeedFrameDecoder } from '../protocol/seed.js';
import { nowUs } from '../clock.js';
import { ClockOffset, offsetSample } from './clock-offset.js';
import { printable } from './printable.js';
import { StatsWindow, type ClientStats } from './stats.js';
import { parseStreamUrl, type StreamUrl } from './url.js';

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
  /** The JPEG bytes. */
  jpeg: Uint8Array;
}

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

export interface TlsClientOptions {
  /** SHA-256 fingerprint of the server certificate ("AA:BB:…"); when set, only that certificate is accepted. */
  fingerprint?: string;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string | Buffer;
  /** Verify the certificate chain (default true unless a fingerprint pins the certificate). */
  rejectUnauthorized?: boolean;
}

export interface ConnectOptions extends Partial<StreamParams> {
  token?: string;
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
  /** Frames kept for a slow consumer before older ones are dropped (default 1). */
  queue?: number;
  tls?: TlsClientOptions;
  /** Called for server STATUS messages (source lost/resumed) and connection changes. */
  onStatus?: (text: string, status: StatusMessage | null) => void;
}

/** Refusals that reconnecting cannot fix. */
const FATAL: ReadonlySet<ErrorCode> = new Set(['E_AUTH', 'E_VERSION', 'E_BAD_PARAMS', 'E_TLS', 'E_UNSUPPORTED', 'E_BAD_MAGIC']);

const DEFAULT_SEED_PARAMS: StreamParams = { width: 640, height: 480, fps: 15, quality: 0 };

interface Waiter {
  resolve: (r: IteratorResult<Frame>) => void;
  reject: (e: unknown) => void;
}

export class FramewireClient implements AsyncIterable<Frame> {
  private socket: net.Socket | null = null;
  private readonly stats_ = new StatsWindow();
  private readonly clock = new ClockOffset();
  private readonly queue: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  private dropped = 0;
  private decodeErrors = 0;
  private reconnects = 0;
  private closedByUser = false;
  private ended = false;
  private fatal: FramewireError | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private pingId = 0;
  private readonly pingSent = new Map<number, number>();
  private params: StreamParams;
  private granted: AcceptMessage | null = null;
  private pendingAccept: { resolve: (a: AcceptMessage) => void; reject: (e: FramewireError) => void } | null = null;
  private seedCount = 0;

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
  }

  /** Connect and complete the handshake; rejects with a FramewireError (E_CONNECT, E_AUTH, …). */
  static async connect(url: string, options: ConnectOptions = {}): Promise<FramewireClient> {
    const c = new FramewireClient(parseStreamUrl(url), options);
    await c.dial();
    return c;
  }

  /** What the server granted (framewire/1), or what was asked (tutorial format, which has no answer). */
  get accepted(): Readonly<StreamParams> & { source: string } {
    if (this.granted) {
      const g = this.granted;
      return { width: g.width, height: g.height, fps: g.fps, quality: g.quality, source: g.source };
    }
    return { ...this.params, source: `tutorial server ${this.url.host}:${this.url.port}` };
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
      dropped: this.dropped,
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
    const s = this.socket;
    if (!s || s.destroyed) throw new FramewireError('E_CLOSED', 'not connected');
    const accepted = new Promise<AcceptMessage>((resolve, reject) => {
      this.pendingAccept = { resolve, reject };
    });
    s.write(encodeMessage({ type: 'renegotiate', ...this.params }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FramewireError('E_TIMEOUT', `no answer to renegotiate within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const a = await Promise.race([accepted, timeout]);
      return { width: a.width, height: a.height, fps: a.fps, quality: a.quality };
    } finally {
      clearTimeout(timer);
      this.pendingAccept = null;
    }
  }

  /** Say goodbye and end the stream; iteration finishes normally. */
  async close(): Promise<void> {
    this.closedByUser = true;
    const s = this.socket;
    if (s && !s.destroyed) {
      if (this.url.scheme !== 'seed' && this.granted) s.write(encodeMessage({ type: 'goodbye', code: 'OK', text: 'client closing' }));
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      });
    }
    this.finish(null);
  }

  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return {
      next: () => {
        const f = this.queue.shift();
        if (f) return Promise.resolve({ value: f, done: false });
        if (this.fatal) return Promise.reject(this.fatal);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  // ── connection ──────────────────────────────────────────────────────────────────────────────────

  private openSocket(): Promise<net.Socket> {
    const { host, port, scheme } = this.url;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const t = this.options.tls;
      const socket =
        scheme === 'tls'
          ? tls.connect({
              host,
              port,
              servername: net.isIP(host) ? undefined : host,
              ca: t?.ca,
              rejectUnauthorized: t?.rejectUnauthorized ?? !t?.fingerprint,
            })
          : net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new FramewireError('E_CONNECT', `could not connect to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const ready = scheme === 'tls' ? 'secureConnect' : 'connect';
      socket.once(ready, () => {
        clearTimeout(timer);
        if (scheme === 'tls' && t?.fingerprint) {
          const got = (socket as tls.TLSSocket).getPeerCertificate().fingerprint256 ?? '';
          if (normaliseFingerprint(got) !== normaliseFingerprint(t.fingerprint)) {
            socket.destroy();
            reject(new FramewireError('E_TLS', `server certificate fingerprint ${got} does not match the pinned ${t.fingerprint}`));
            return;
          }
        }
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const code = e.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(e.message) ? 'E_TLS' : 'E_CONNECT';
        reject(new FramewireError(code, `could not connect to ${host}:${port}: ${e.message}`, { cause: e }));
      });
    });
  }

  private async dial(): Promise<void> {
    const socket = await this.openSocket();
    this.socket = socket;
    if (this.url.scheme === 'seed') return this.runSeed(socket);
    const decoder = new MessageDecoder({ maxMessageBytes: this.options.maxMessageBytes });
    let accepted: (a: AcceptMessage) => void = () => {};
    let refused: (e: FramewireError) => void = () => {};
    const handshake = new Promise<AcceptMessage>((res, rej) => {
      accepted = res;
      refused = rej;
    });
    let handshakeDone = false;
    const onMessage = (m: Message): void => {
      if (!handshakeDone) {
        if (m.type === 'accept') {
          handshakeDone = true;
          return accepted({ ...m, source: printable(m.source) });
        }
        if (m.type === 'reject' && m.code === 'E_VERSION') {
          const versions = parseSupportedVersions(m.text);
          const speaks = versions ? `it speaks framewire/${versions.join(', framewire/')}` : m.text;
          return refused(new FramewireError('E_VERSION', `server refused framewire/${PROTOCOL_VERSION}: ${speaks}`));
        }
        if (m.type === 'reject' || m.type === 'error') return refused(new FramewireError(m.code, `server refused: ${printable(m.text)}`));
        return refused(new FramewireError('E_UNEXPECTED', `expected accept, got ${m.type}`));
      }
      this.onMessage(socket, m);
    };
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = decoder.push(chunk);
      for (const m of messages) onMessage(m);
      if (error) {
        if (!handshakeDone) refused(error);
        else this.lost(error);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!handshakeDone) refused(new FramewireError('E_CONNECT', 'server closed the connection during the handshake'));
      else if (this.socket === socket) this.lost(new FramewireError('E_CLOSED', 'connection closed by the server'));
    });
    socket.write(encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, ...this.params, token: this.options.token ?? '' }));
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      this.granted = await Promise.race([
        handshake,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new FramewireError('E_TIMEOUT', `no answer to hello within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.startPings(socket);
    this.watchIdle(socket);
  }

  /** Closes a connection on which the server has gone silent (half-open peer, frozen server). */
  private watchIdle(socket: net.Socket): void {
    const idle = this.options.idleTimeoutMs ?? 30_000;
    let lastHeard = performance.now();
    socket.on('data', () => {
      lastHeard = performance.now();
    });
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = setInterval(() => {
      if (this.socket !== socket || performance.now() - lastHeard <= idle) return;
      this.lost(new FramewireError('E_TIMEOUT', `nothing heard from ${this.url.host}:${this.url.port} for ${idle} ms`));
      socket.destroy();
    }, Math.max(20, Math.min(1000, Math.floor(idle / 4))));
    this.idleTimer.unref();
  }

  private runSeed(socket: net.Socket): void {
    const decoder = new SeedFrameDecoder(this.options.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) {
        const t = nowUs();
        this.accept({ seq: this.seedCount++, captureUs: t, receivedUs: t, latencyMs: null, width: f.width, height: f.height, jpeg: f.payload });
      }
      if (error) {
        this.lost(error);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.lost(new FramewireError('E_CLOSED', 'connection closed by the server'));
    });
    socket.write(encodeSeedHello({ fps: this.params.fps, width: this.params.width, height: this.params.height }));
    this.watchIdle(socket);
  }

  private onMessage(socket: net.Socket, m: Message): void {
    switch (m.type) {
      case 'frame': {
        socket.write(encodeMessage({ type: 'ack', seq: m.seq }));
        const receivedUs = nowUs();
        const best = this.clock.best;
        const latencyMs = best ? (receivedUs + best.offsetUs - m.captureUs) / 1000 : null;
        this.accept({ seq: m.seq, captureUs: m.captureUs, receivedUs, latencyMs, width: m.width, height: m.height, jpeg: m.payload });
        return;
      }
      case 'ping':
        socket.write(encodeMessage({ type: 'pong', id: m.id, t1: m.t1, t2: nowUs(), t3: nowUs() }));
        return;
      case 'pong': {
        const sent = this.pingSent.get(m.id);
        if (sent === undefined || sent !== m.t1) return;
        this.pingSent.delete(m.id);
        this.clock.add(offsetSample(m.t1, m.t2, m.t3, nowUs()));
        return;
      }
      case 'accept': {
        const a = { ...m, source: printable(m.source) };
        this.granted = a;
        this.pendingAccept?.resolve(a);
        return;
      }
      case 'status': {
        // Server-controlled text: never hand control characters to whoever prints it.
        const s = { ...m, text: printable(m.text) };
        this.options.onStatus?.(s.text, s);
        return;
      }
      case 'goodbye':
        this.options.onStatus?.(`server said goodbye: ${printable(m.text)}`, null);
        // A goodbye is a normal end, a server shutting down included; reconnecting (if enabled) may find it back.
        this.lost(m.code === 'OK' || m.code === 'E_SHUTDOWN' ? null : new FramewireError(m.code, printable(m.text)));
        socket.end();
        return;
      case 'error':
        this.lost(new FramewireError(m.code, `server error: ${printable(m.text)}`));
        socket.end();
        return;
      default:
        this.lost(new FramewireError('E_UNEXPECTED', `server sent ${m.type} while streaming`));
        socket.destroy();
    }
  }

  private startPings(socket: net.Socket): void {
    const ping = (): void => {
      if (socket.destroyed) return;
      const id = ++this.pingId >>> 0;
      const t1 = nowUs();
      this.pingSent.set(id, t1);
      if (this.pingSent.size > 32) this.pingSent.delete(this.pingSent.keys().next().value!);
      socket.write(encodeMessage({ type: 'ping', id, t1 }));
    };
    // A quick burst for a first offset estimate, then one a second to follow drift.
    let burst = 0;
    ping();
    const fast = setInterval(() => {
      ping();
      if (++burst >= 4) clearInterval(fast);
    }, 50);
    fast.unref();
    this.pingTimer = setInterval(ping, 1000);
    this.pingTimer.unref();
  }

  private accept(f: Frame): void {
    const j = f.jpeg;
    if (j.length < 4 || j[0] !== 0xff || j[1] !== 0xd8 || j[j.length - 2] !== 0xff || j[j.length - 1] !== 0xd9) this.decodeErrors++;
    this.stats_.record(j.length, f.latencyMs);
    const w = this.waiters.shift();
    if (w) return w.resolve({ value: f, done: false });
    this.queue.push(f);
    const max = Math.max(1, this.options.queue ?? 1);
    while (this.queue.length > max) {
      this.queue.shift();
      this.dropped++;
    }
  }

  /** The connection ended. Reconnect if asked to and it can help; otherwise end the iteration. */
  private lost(err: FramewireError | null): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.pingTimer = this.idleTimer = null;
    this.socket = null;
    this.pendingAccept?.reject(err ?? new FramewireError('E_CLOSED', 'connection closed'));
    if (this.closedByUser || this.ended) return this.finish(null);
    const r = this.options.reconnect;
    if (!r || (err && FATAL.has(err.code))) return this.finish(err);
    this.options.onStatus?.(`connection lost${err ? ` (${err.code}: ${err.message})` : ''}; reconnecting`, null);
    void this.reconnectLoop(typeof r === 'object' ? r : {});
  }

  private async reconnectLoop(r: ReconnectOptions): Promise<void> {
    let delay = r.initialDelayMs ?? 250;
    const max = r.maxDelayMs ?? 5000;
    for (let attempt = 1; ; attempt++) {
      await new Promise((res) => setTimeout(res, delay * (0.8 + 0.4 * Math.random())));
      if (this.closedByUser) return this.finish(null);
      try {
        await this.dial();
        this.reconnects++;
        this.options.onStatus?.('reconnected', null);
        return;
      } catch (e) {
        const err = toFramewireError(e, 'E_CONNECT');
        if (FATAL.has(err.code) || (r.maxAttempts !== undefined && attempt >= r.maxAttempts)) return this.finish(err);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  private finish(err: FramewireError | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (err && !this.closedByUser) this.fatal = err;
    for (const w of this.waiters.splice(0)) {
      if (this.fatal && this.queue.length === 0) w.reject(this.fatal);
      else w.resolve({ value: undefined, done: true });
    }
  }
}

function normaliseFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/** Connect to a framewire server (tcp://, tls://) or a tutorial server (seed://). */
export function connect(url: string, options: ConnectOptions = {}): Promise<FramewireClient> {
  return FramewireClient.connect(url, options);
}

