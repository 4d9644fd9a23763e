/**
 * The tutorial's own format (docs/protocol.md §6) over a socket: one hello, then frames until the server
 * stops. There is no conversation to hold: no acknowledgements, no pings, no answers.
 */
import type net from 'node:net';
import { nowUs } from '../clock.js';
import { FramewireError } from '../errors.js';
import type { StreamParams } from '../protocol/messages.js';
import { encodeSeedHello, SeedFrameDecoder } from '../protocol/seed.js';
import { endSocket } from './connection.js';

export interface SeedFrame {
  /** Frames received on this connection, counted from 0: the format has no sequence number. */
  seq: number;
  /** When it arrived, µs since the epoch: the format carries no capture time. */
  receivedUs: number;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

export interface SeedOptions {
  params: StreamParams;
  maxMessageBytes?: number;
  /** Nothing from the server this long: E_TIMEOUT (a tutorial server sends frames, nothing else). */
  idleTimeoutMs: number;
  /** Names the server in error texts ("host:port"). */
  peer: string;
}

export class SeedSocket {
  private count = 0;
  private over = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: SeedOptions,
    private readonly on: { frame(f: SeedFrame): void; end(error: FramewireError): void },
  ) {}

  start(): void {
    const { socket, options } = this;
    const decoder = new SeedFrameDecoder(options.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => {
      if (this.over) return;
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) {
        this.on.frame({ seq: this.count++, receivedUs: nowUs(), width: f.width, height: f.height, jpeg: f.payload });
      }
      if (error) this.end(error);
    });
    socket.on('error', () => {});
    socket.on('close', () => this.end(new FramewireError('E_CLOSED', 'connection closed by the server')));
    // The client writes nothing after its hello, so the socket's own inactivity timer is the server's silence.
    socket.setTimeout(options.idleTimeoutMs, () => {
      this.end(new FramewireError('E_TIMEOUT', `nothing heard from ${options.peer} for ${options.idleTimeoutMs} ms`));
    });
    const { fps, width, height } = options.params;
    socket.write(encodeSeedHello({ fps, width, height }));
  }

  close(): Promise<void> {
    this.over = true;
    return endSocket(this.socket);
  }

  private end(error: FramewireError): void {
    if (this.over) return;
    this.over = true;
    this.socket.destroy();
    this.on.end(error);
  }
}
