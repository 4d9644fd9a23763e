import type { ServerContext } from './context.js';

/** A transport once listening: its address, and how to end it. */
export interface RunningTransport {
  readonly host: string;
  readonly port: number;
  /** Connections accepted that are not (yet) streaming clients: handshakes, HTTP requests. */
  pendingHandshakes(): number;
  /** Send every client a goodbye and stop listening; resolves when all sockets are gone. */
  close(): Promise<void>;
}

/** A transport startServer() starts besides the TCP port (the HTTP port is one). */
export interface ExtraTransport {
  start(ctx: ServerContext): Promise<RunningTransport>;
}
