/**
 * The Node client's sockets: opening TCP or TLS (with certificate pinning, docs/protocol.md §4.8), and running
 * a framewire/1 Conversation over one. Everything the conversation decides (what to send, when it is over) is
 * in conversation.ts; this file only moves its bytes and keeps one timer for its next deadline.
 */
import net from 'node:net';
import tls from 'node:tls';
import { nowUs } from '../clock.js';
import { FramewireError } from '../errors.js';
import { encodeMessage } from '../protocol/encode.js';
import type { StreamParams } from '../protocol/messages.js';
import type { Conversation, ConversationEvent, EndReason, Step } from './conversation.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { StreamUrl } from './url.js';

export interface TlsClientOptions {
  /** SHA-256 fingerprint of the server certificate ("AA:BB:…"); when set, only that certificate is accepted. */
  fingerprint?: string;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string | Buffer;
  /** Verify the certificate chain (default true unless a fingerprint pins the certificate). */
  rejectUnauthorized?: boolean;
}

/** A connected socket (TLS handshake and pin check done), or E_CONNECT / E_TLS. */
export function openSocket(url: StreamUrl, connectTimeoutMs: number, t: TlsClientOptions | undefined): Promise<net.Socket> {
  const { host, port, scheme } = url;
  return new Promise((resolve, reject) => {
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
      reject(new FramewireError('E_CONNECT', `could not connect to ${host}:${port} within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
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

/** §4.8: case and every character that is not a hex digit are ignored. */
function normaliseFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/** Half-close and wait for the server to close too (§4.5); after a second, close regardless. */
export function endSocket(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

/** A framewire/1 Conversation over a socket. Events reach `onEvent`; 'end' comes once, last. */
export class ConversationSocket {
  private readonly timer = new DeadlineTimer(() => this.apply(this.conversation.tick(nowUs())));

  constructor(
    private readonly socket: net.Socket,
    private readonly conversation: Conversation,
    private readonly onEvent: (e: ConversationEvent) => void,
  ) {}

  get streaming(): boolean {
    return this.conversation.state === 'streaming';
  }

  /** Say HELLO; the answer comes as an 'accepted' or an 'end' event. */
  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.apply(this.conversation.receiveBytes(chunk, nowUs())));
    this.socket.on('error', () => {});
    this.socket.on('close', () => this.apply(this.conversation.transportClosed()));
    this.apply(this.conversation.start(nowUs()));
  }

  renegotiate(params: StreamParams): void {
    this.apply(this.conversation.renegotiate(params));
  }

  /** GOODBYE (once HELLO has gone), then close the socket. */
  close(): Promise<void> {
    this.apply(this.conversation.close('client closing'));
    return endSocket(this.socket);
  }

  private apply(step: Step): void {
    for (const m of step.send) if (this.socket.writable) this.socket.write(encodeMessage(m));
    for (const e of step.events) {
      if (e.type === 'end') this.ended(e.reason);
      this.onEvent(e);
    }
    this.timer.set(this.conversation.deadlineUs);
  }

  /**
   * The server said why it ends (GOODBYE, ERROR): it closes its side, so half-close ours. After a refusal, a
   * peer breaking the protocol or a timeout there is nothing left to hear: drop the connection at once.
   * close() closes the socket itself; a closed one needs nothing.
   */
  private ended(reason: EndReason): void {
    if (reason === 'goodbye' || reason === 'error') this.socket.end();
    else if (reason !== 'local' && reason !== 'closed') this.socket.destroy();
  }
}
