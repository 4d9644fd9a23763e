/**
 * framewire/1 over WebSocket, for browsers: one framewire/1 message per binary WebSocket message, the
 * same FramewireSession as TCP (hello, window of unacknowledged frames, ping/pong, renegotiate).
 * Upgrades come from the HTTP server (noServer mode), which has already checked the path and rate limit.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FramewireError } from '../../errors.js';
import { MessageDecoder } from '../../protocol/decoder.js';
import type { Message } from '../../protocol/messages.js';
import { FramewireSession, type ServerContext, type SessionTransport } from '../framewire-session.js';

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

function wsSessionTransport(ws: WebSocket, address: string): SessionTransport {
  return {
    remoteAddress: address,
    protocol: 'websocket',
    sendMessage: (bytes, done) => {
      ws.send(bytes, { binary: true }, () => done());
    },
    sendFrame: (frame, done) => {
      // One buffer holding the whole FRAME message, built once per frame and shared by every WebSocket client.
      ws.send(frame.framewireMessage(), { binary: true }, () => done());
    },
    isOpen: () => ws.readyState === WebSocket.OPEN,
    end: () => {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
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
    maxPayload: config.maxClientMessageBytes,
    perMessageDeflate: false,
    // Framewire has no subprotocol negotiation; clients that offer one simply get none back.
    clientTracking: true,
  });
  const sessions = new Set<FramewireSession>();

  const onConnection = (ws: WebSocket, address: string, tokenProven: boolean, onStreaming?: () => void): void => {
    const session = new FramewireSession(wsSessionTransport(ws, address), ctx);
    sessions.add(session);
    const decoder = new MessageDecoder({ maxMessageBytes: config.maxClientMessageBytes });
    const deliver = (m: Message): void => {
      // The upgrade already proved the token (a browser cannot set headers; ?token= is how it proves it).
      if (m.type === 'hello' && tokenProven && m.token === '' && config.token !== null) session.onMessage({ ...m, token: config.token });
      else session.onMessage(m);
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return session.onDecodeError(new FramewireError('E_MALFORMED', 'framewire/1 over WebSocket uses binary messages only'));
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const { messages, error } = decoder.push(bytes);
      for (const m of messages) deliver(m);
      if (onStreaming && session.clientRecord) {
        onStreaming();
        onStreaming = undefined;
      }
      if (error) return session.onDecodeError(error);
      // One message per WebSocket message: a leftover fragment would otherwise wait for the next message.
      if (messages.length !== 1 || decoder.bufferedBytes !== 0) {
        session.onDecodeError(new FramewireError('E_MALFORMED', 'each WebSocket message must hold exactly one framewire/1 message'));
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
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, address, tokenProven, onStreaming));
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
