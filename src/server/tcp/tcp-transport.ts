/**
 * The TCP port: one listener serving framewire/1 clients and the tutorial's clients, told apart by their
 * first bytes (docs/protocol.md §6.1). A browser or curl that knocks here gets a plain-text pointer to HTTP.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FramewireError, toFramewireError } from '../../errors.js';
import { MessageDecoder } from '../../protocol/decoder.js';
import { encodeMessage } from '../../protocol/encode.js';
import { detectProtocol } from '../../protocol/seed.js';
import type { ServerContext } from '../context.js';
import { writeFrame } from '../direct-write.js';
import { FramewireSession, type SessionTransport } from '../framewire/session.js';
import { dropLogger, MAX_PENDING_HANDSHAKES, PendingHandshakes, poolConnections } from '../pending-handshakes.js';
import type { RunningTransport } from '../transport.js';
import { TutorialSession } from './tutorial-session.js';

export interface TcpTransportOptions {
  /** TLS certificate and key (PEM); absent: plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Shown to HTTP clients that knock on this port. */
  httpUrl?: string | null;
}

/**
 * Answers that end a handshake (REJECT, the HTTP pointer) get this long to reach the peer before the socket
 * is destroyed: a peer that never reads or never closes its side would otherwise keep it open.
 */
export const HANDSHAKE_LINGER_MS = 1000;
/** What a refused or closing peer may still send, read and dropped, before reading from it stops: more than
 * the kernel's buffers hold, so a peer that was mid-write when refused still reads its refusal. */
const DISCARD_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * The last word on a pending connection: the first bytes get --handshake-timeout, then the hello gets
 * --handshake-timeout, then a refusal lingers up to 2 s (end() below); past all that it is destroyed.
 */
export function pendingDeadlineMs(handshakeTimeoutMs: number): number {
  return 2 * handshakeTimeoutMs + 2000;
}

function peer(socket: net.Socket): string {
  return socket.remoteAddress ?? 'unknown';
}

function tcpSessionTransport(socket: net.Socket, address: string): SessionTransport {
  return {
    remoteAddress: address,
    protocol: 'framewire',
    sendMessage: (bytes, done) => {
      socket.write(bytes, () => done());
    },
    sendFrame: (bytes, done) => {
      // One write of a buffer shared by every client of this frame and profile.
      writeFrame(socket, bytes, done);
    },
    isOpen: () => !socket.destroyed && socket.writable,
    end: () => {
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    },
    pauseInput: () => socket.pause(),
    resumeInput: () => socket.resume(),
  };
}

export function startTcpTransport(ctx: ServerContext, options: TcpTransportOptions = {}): Promise<RunningTransport> {
  const { config } = ctx;
  const live = new Set<{ goodbye(): void }>();
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    const address = peer(socket);
    sockets.add(socket);
    socket.setNoDelay(true);
    let first = Buffer.alloc(0);
    let handle: { onData(c: Uint8Array): void; onClosed(): void; goodbye(): void; streaming(): boolean } | null = null;
    let entry: { goodbye(): void } | null = null;
    // Until the first bytes arrive nothing else guards the socket: close it if they never do.
    const detectTimer = setTimeout(() => {
      config.log.info(`E_TIMEOUT: ${address} sent no hello within ${config.handshakeTimeoutMs} ms`);
      socket.destroy();
    }, config.handshakeTimeoutMs);
    // After a refusal the socket is half-closed and whatever the peer still sends is read and dropped until it
    // closes or the linger ends, not left unread: closing with unread data sends an RST, which can destroy the
    // refusal before the peer reads it (docs/protocol.md §4.5). The linger bounds what dropping can cost.
    let discarding = false;
    // A peer may have a few MB in flight when it is refused (what the kernel buffers hold); a flooding one could
    // keep this loop reading, and the heap collecting dropped chunks, for the whole linger (measured: +50–63 MB
    // RSS under 4 s of 8 PING floods). Past DISCARD_LIMIT_BYTES reading stops: an RST then only costs the
    // peer that caused it.
    let dropped = 0;
    const drop = (c: Buffer | Uint8Array): void => {
      dropped += c.length;
      if (dropped > DISCARD_LIMIT_BYTES) socket.pause();
    };
    /** Say one last thing and close, even if the peer never reads it nor closes its side. */
    const refuse = (last: Uint8Array | string): void => {
      clearTimeout(detectTimer);
      socket.end(last);
      discarding = true;
      first = Buffer.alloc(0);
      setTimeout(() => socket.destroy(), HANDSHAKE_LINGER_MS).unref();
    };

    const start = (kind: 'framewire' | 'seed'): void => {
      clearTimeout(detectTimer);
      if (kind === 'framewire') {
        const decoder = new MessageDecoder({ maxMessageBytes: config.maxClientMessageBytes });
        const session = new FramewireSession(tcpSessionTransport(socket, address), ctx);
        handle = {
          onData: (c) => {
            // After an error or goodbye the socket lingers until flushed (end(), at most 2 s); what the peer
            // still sends is dropped undecoded but read, so the close is a FIN, not an RST (§4.5).
            if (session.closed) return drop(c);
            const { messages, error } = decoder.push(c);
            for (const m of messages) session.onMessage(m);
            if (error) session.onDecodeError(error);
          },
          onClosed: () => session.onClosed(),
          goodbye: () => session.goodbye(),
          streaming: () => session.streaming,
        };
      } else {
        const session = new TutorialSession(socket, address, ctx);
        handle = {
          onData: (c) => session.onData(c),
          onClosed: () => session.onClosed(),
          goodbye: () => session.goodbye(),
          streaming: () => session.streaming,
        };
      }
      entry = { goodbye: handle.goodbye };
      live.add(entry);
    };

    const onData = (chunk: Buffer): void => {
      if (discarding) return drop(chunk);
      if (handle) return handle.onData(chunk);
      first = Buffer.concat([first, chunk]);
      let kind;
      try {
        kind = detectProtocol(first);
      } catch (e) {
        const err = toFramewireError(e, 'E_BAD_MAGIC');
        config.log.info(`${err.code}: ${address}: ${err.message}`);
        return refuse(encodeMessage({ type: 'reject', code: err.code, text: err.message }));
      }
      if (kind === 'need-more') return;
      if (kind === 'http') {
        const where = options.httpUrl ? `Watch in a browser at ${options.httpUrl}` : 'HTTP is turned off on this server.';
        const body = `This is framewire's TCP port (framewire/1 and tutorial clients).\n${where}\n`;
        return refuse(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
      start(kind);
      const buffered = first;
      first = Buffer.alloc(0);
      handle!.onData(buffered);
    };
    let pending = true;
    socket.on('data', (chunk: Buffer) => {
      onData(chunk);
      // Streaming: it no longer counts against the pending handshakes.
      if (pending && handle?.streaming()) {
        pending = false;
        admitted(socket);
      }
    });
    socket.on('error', () => {
      // 'close' follows; a peer that vanishes is normal, not worth more than the close.
    });
    socket.on('close', () => {
      clearTimeout(detectTimer);
      sockets.delete(socket);
      if (entry) live.delete(entry);
      handle?.onClosed();
    });
  };

  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: config.handshakeTimeoutMs })
    : net.createServer();
  const pool = new PendingHandshakes({ capacity: MAX_PENDING_HANDSHAKES, deadlineMs: pendingDeadlineMs(config.handshakeTimeoutMs) });
  const admitted = poolConnections(server, pool, dropLogger(config.log, 'TCP port'));
  server.on(options.tls ? 'secureConnection' : 'connection', onConnection);
  if (options.tls) {
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
      config.log.info(`E_TLS: ${s.remoteAddress ?? 'unknown'}: ${err.message}`);
      // Node reports a handshake timeout here but leaves the socket open.
      s.destroy();
    });
  }
  // A hard cap for the process's descriptors; the pool keeps it from being reached (room for refusals
  // and goodbyes still lingering).
  server.maxConnections = config.maxClients + 2 * MAX_PENDING_HANDSHAKES;

  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const what = e.code === 'EADDRINUSE' ? `port ${config.port} is already in use (--port)` : e.message;
      reject(new FramewireError('E_IO', `cannot listen on ${config.host}:${config.port}: ${what}`, { cause: e }));
    });
    server.listen(config.port, config.host, () => {
      const a = server.address() as net.AddressInfo;
      resolve({
        host: a.address,
        port: a.port,
        pendingHandshakes: () => pool.size,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const e of live) e.goodbye();
            // Give goodbyes a moment to flush; sockets still in their handshake have nothing to be told.
            const t = setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, 1500);
            t.unref();
          }),
      });
    });
  });
}
