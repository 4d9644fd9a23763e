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
import { FramewireSession, type ServerContext, type SessionTransport } from '../framewire-session.js';
import { TutorialSession } from './tutorial-session.js';

export interface TcpTransportOptions {
  /** TLS certificate and key (PEM); absent: plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Shown to HTTP clients that knock on this port. */
  httpUrl?: string | null;
}

export interface RunningTransport {
  readonly host: string;
  readonly port: number;
  /** Send every client a goodbye and stop listening; resolves when all sockets are gone. */
  close(): Promise<void>;
}

/** Connections still in their handshake, on top of --max-clients: bounds what slow or idle peers can hold. */
const MAX_PENDING_HANDSHAKES = 256;

function peer(socket: net.Socket): string {
  return socket.remoteAddress ?? 'unknown';
}

function tcpSessionTransport(socket: net.Socket, address: string): SessionTransport {
  return {
    remoteAddress: address,
    protocol: 'framewire',
    sendMessage: (bytes) => {
      socket.write(bytes);
    },
    sendFrame: (frame, done) => {
      // One write of a buffer shared by every client of this frame and profile.
      socket.write(frame.framewireMessage(), done);
    },
    isOpen: () => !socket.destroyed && socket.writable,
    end: () => {
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    },
  };
}

export function startTcpTransport(ctx: ServerContext, options: TcpTransportOptions = {}): Promise<RunningTransport> {
  const { config } = ctx;
  const live = new Set<{ goodbye(): void }>();
  const sockets = new Set<net.Socket>();
  let pending = 0;

  const onConnection = (socket: net.Socket): void => {
    const address = peer(socket);
    sockets.add(socket);
    socket.setNoDelay(true);
    if (pending >= MAX_PENDING_HANDSHAKES) {
      config.log.warn(`E_TOO_MANY_CLIENTS: ${address}: ${pending} handshakes already pending; closed`);
      socket.destroy();
      return;
    }
    pending++;
    let first = Buffer.alloc(0);
    let handle: { onData(c: Uint8Array): void; onClosed(): void; goodbye(): void } | null = null;
    let entry: { goodbye(): void } | null = null;
    let counted = true;
    const uncount = (): void => {
      if (counted) pending--;
      counted = false;
    };
    // Until the first bytes arrive nothing else guards the socket: close it if they never do.
    const detectTimer = setTimeout(() => {
      config.log.info(`E_TIMEOUT: ${address} sent no hello within ${config.handshakeTimeoutMs} ms`);
      socket.destroy();
    }, config.handshakeTimeoutMs);

    const start = (kind: 'framewire' | 'seed'): void => {
      clearTimeout(detectTimer);
      uncount();
      if (kind === 'framewire') {
        const decoder = new MessageDecoder({ maxMessageBytes: config.maxClientMessageBytes });
        const session = new FramewireSession(tcpSessionTransport(socket, address), ctx);
        handle = {
          onData: (c) => {
            const { messages, error } = decoder.push(c);
            for (const m of messages) session.onMessage(m);
            if (error) session.onDecodeError(error);
          },
          onClosed: () => session.onClosed(),
          goodbye: () => session.goodbye(),
        };
      } else {
        const session = new TutorialSession(socket, address, ctx);
        handle = { onData: (c) => session.onData(c), onClosed: () => session.onClosed(), goodbye: () => session.goodbye() };
      }
      entry = { goodbye: handle.goodbye };
      live.add(entry);
    };

    socket.on('data', (chunk: Buffer) => {
      if (handle) return handle.onData(chunk);
      first = Buffer.concat([first, chunk]);
      let kind;
      try {
        kind = detectProtocol(first);
      } catch (e) {
        const err = toFramewireError(e, 'E_BAD_MAGIC');
        config.log.info(`${err.code}: ${address}: ${err.message}`);
        clearTimeout(detectTimer);
        socket.end(encodeMessage({ type: 'reject', code: err.code, text: err.message }));
        setTimeout(() => socket.destroy(), 1000).unref();
        socket.pause();
        return;
      }
      if (kind === 'need-more') return;
      if (kind === 'http') {
        clearTimeout(detectTimer);
        const where = options.httpUrl ? `Watch in a browser at ${options.httpUrl}` : 'HTTP is turned off on this server.';
        const body = `This is framewire's TCP port (framewire/1 and tutorial clients).\n${where}\n`;
        socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        socket.pause();
        return;
      }
      start(kind);
      const buffered = first;
      first = Buffer.alloc(0);
      handle!.onData(buffered);
    });
    socket.on('error', () => {
      // 'close' follows; a peer that vanishes is normal, not worth more than the close.
    });
    socket.on('close', () => {
      clearTimeout(detectTimer);
      uncount();
      sockets.delete(socket);
      if (entry) live.delete(entry);
      handle?.onClosed();
    });
  };

  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: config.handshakeTimeoutMs }, onConnection)
    : net.createServer(onConnection);
  if (options.tls) {
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
      config.log.info(`E_TLS: ${s.remoteAddress ?? 'unknown'}: ${err.message}`);
    });
  }
  server.maxConnections = config.maxClients + MAX_PENDING_HANDSHAKES;

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
