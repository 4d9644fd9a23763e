/**
 * framewire/1 over WebSocket, for browsers: one framewire/1 message per binary WebSocket message, the
 * same FramewireSession as TCP (hello, window of unacknowledged frames, ping/pong, renegotiate).
 * Upgrades come from the HTTP server (noServer mode), which has already checked the path and rate limit.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FramewireError } from '../../errors.js';
import { ENVELOPE_SIZE } from '../../protocol/constants.js';
import { isFramewireStart, MessageDecoder } from '../../protocol/decoder.js';
import type { Message } from '../../protocol/messages.js';
import type { ServerContext } from '../context.js';
import { FramewireSession, type SessionTransport } from '../framewire/session.js';

export interface WebSocketEndpoint {
  /**
   * Take over an upgrade request. tokenProven: the upgrade itself carried the right token (?token= or
   * Authorization), so a hello with an empty token is accepted. onStreaming: called once, when the hello
   * has been accepted.
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, address: string, tokenProven: boolean, onStreaming?: () => void): void;
  /** Goodbye to every session; resolves when their sockets are gone (forced after a grace period). */
  close(): Promise<void>;
}

/** WebSocket close code after an oversized message (RFC 6455 §7.4.1, "message too big"). */
const CLOSE_TOO_BIG = 1009;

/**
 * ws closes a connection whose message exceeds maxPayload with a bare close 1009, before any event reaches
 * us. This subclass gets one call in first, so the peer is told E_TOO_LARGE in framewire/1 terms, as on TCP.
 */
class FramewireWebSocket extends WebSocket {
  onTooLarge: (() => void) | null = null;

  override close(code?: number, data?: string | Buffer): void {
    if (code === CLOSE_TOO_BIG && this.readyState === WebSocket.OPEN && this.onTooLarge) {
      const tell = this.onTooLarge;
      this.onTooLarge = null;
      tell();
    }
    super.close(code, data);
  }
}

function wsSessionTransport(ws: WebSocket, address: string, closeCode: () => number): SessionTransport {
  return {
    remoteAddress: address,
    protocol: 'websocket',
    sendMessage: (bytes, done) => {
      ws.send(bytes, { binary: true }, () => done());
    },
    sendFrame: (bytes, done) => {
      // One buffer holding the whole FRAME message, built once per frame and shared by every WebSocket client.
      ws.send(bytes, { binary: true }, () => done());
    },
    isOpen: () => ws.readyState === WebSocket.OPEN,
    end: () => {
      // The framewire/1 message before this close says why; the close code only says whether it was size.
      if (ws.readyState === WebSocket.OPEN) ws.close(closeCode());
      setTimeout(() => ws.terminate(), 2000).unref();
    },
    pauseInput: () => ws.pause(),
    resumeInput: () => ws.resume(),
  };
}

export function createWebSocketEndpoint(ctx: ServerContext): WebSocketEndpoint {
  const { config } = ctx;
  const wss = new WebSocketServer({
    noServer: true,
    // One framewire/1 message per WebSocket message: its envelope plus the body TCP would accept.
    maxPayload: config.maxClientMessageBytes + ENVELOPE_SIZE,
    WebSocket: FramewireWebSocket,
    perMessageDeflate: false,
    // Framewire has no subprotocol negotiation; clients that offer one simply get none back.
    clientTracking: true,
  });
  const sessions = new Set<FramewireSession>();

  const onConnection = (ws: FramewireWebSocket, address: string, tokenProven: boolean, onStreaming?: () => void): void => {
    let closeCode = 1000;
    const session = new FramewireSession(wsSessionTransport(ws, address, () => closeCode), ctx);
    sessions.add(session);
    ws.onTooLarge = () => {
      closeCode = CLOSE_TOO_BIG;
      session.onDecodeError(new FramewireError('E_TOO_LARGE', `a WebSocket message over ${config.maxClientMessageBytes + ENVELOPE_SIZE} bytes (--max-message)`));
    };
    const decoder = new MessageDecoder({ maxMessageBytes: config.maxClientMessageBytes });
    let first = true;
    const deliver = (m: Message): void => {
      // The upgrade already proved the token (a browser cannot set headers; ?token= is how it proves it).
      if (m.type === 'hello' && tokenProven && m.token === '' && config.token !== null) session.onMessage({ ...m, token: config.token });
      else session.onMessage(m);
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return session.onDecodeError(new FramewireError('E_MALFORMED', 'framewire/1 over WebSocket uses binary messages only'));
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      // The opening bytes are judged as on TCP (§6.1, without its tutorial and HTTP cases): what is no
      // framewire/1 message at all is E_BAD_MAGIC on both transports.
      if (first && bytes.length >= 4 && !isFramewireStart(bytes)) {
        const hex = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
        return session.onDecodeError(new FramewireError('E_BAD_MAGIC', `not a framewire/1 message (first bytes: ${hex})`));
      }
      first = false;
      const { messages, error } = decoder.push(bytes);
      // Judge the whole WebSocket message before acting on any of it: a HELLO with a PING stuck to it is
      // refused (REJECT), not answered with ACCEPT and PONG first.
      if (error) return session.onDecodeError(error);
      if (messages.length !== 1 || decoder.bufferedBytes !== 0) {
        return session.onDecodeError(new FramewireError('E_MALFORMED', 'each WebSocket message must hold exactly one framewire/1 message'));
      }
      deliver(messages[0]!);
      if (onStreaming && session.streaming) {
        onStreaming();
        onStreaming = undefined;
      }
    });
    // The WebSocket layer answers each ping with a pong: a reply the peer triggers like a framewire/1 PING.
    ws.on('ping', () => session.onTransportPing());
    ws.on('error', () => {
      // 'close' follows (a peer that vanishes, an oversized message): the session cleans up there.
    });
    ws.on('close', () => {
      sessions.delete(session);
      session.onClosed();
    });
  };

  return {
    handleUpgrade(req, socket, head, address, tokenProven, onStreaming) {
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws as FramewireWebSocket, address, tokenProven, onStreaming));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.goodbye();
        const force = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, 1500);
        force.unref();
        wss.close(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
