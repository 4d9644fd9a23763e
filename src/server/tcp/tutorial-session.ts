/**
 * A client speaking the tutorial's own format (docs/protocol.md §6): an 8-byte hello, then frames with
 * the 8-byte little-endian header. Unlike the tutorial's server it captures once, paces by the negotiated
 * rate and uses the server's JPEG quality (the tutorial passed the frame rate as the quality).
 * The format has no status message: while the source is lost its clients are shown the no-signal picture.
 */
import type { Socket } from 'node:net';
import { FramewireError } from '../../errors.js';
import type { EncodedFrame, WireFormat } from '../../pipeline/encoded-frame.js';
import { decodeSeedHello, encodeSeedFrameHeader, SEED_HEADER_SIZE } from '../../protocol/seed.js';
import type { ServerContext } from '../context.js';
import { writeFrame } from '../direct-write.js';
import { Viewer } from '../viewer.js';

/** Header + JPEG in the tutorial's format, in one buffer shared by every tutorial client of the frame. */
export const TUTORIAL_FRAME: WireFormat = {
  name: 'tutorial frame',
  build: (f: EncodedFrame) => Buffer.concat([encodeSeedFrameHeader(f.payload.length, f.width, f.height), f.payload]),
};

export class TutorialSession {
  private hello = Buffer.alloc(0);
  private viewer: Viewer | null = null;
  private closed = false;
  /** The first bytes looked like a tutorial hello; the rest of it must follow in time too (slow-loris). */
  private handshakeTimer: NodeJS.Timeout | null;

  constructor(
    private readonly socket: Socket,
    private readonly address: string,
    private readonly ctx: ServerContext,
  ) {
    this.handshakeTimer = setTimeout(() => {
      ctx.config.log.info(`E_TIMEOUT: tutorial client ${address} sent ${this.hello.length} of 8 hello bytes within ${ctx.config.handshakeTimeoutMs} ms`);
      this.end();
    }, ctx.config.handshakeTimeoutMs);
  }

  /** Bytes from the client. Only the first 8 mean anything; the tutorial's client sends nothing after them. */
  onData(chunk: Uint8Array): void {
    if (this.viewer || this.closed) return;
    this.hello = Buffer.concat([this.hello, chunk.subarray(0, SEED_HEADER_SIZE - this.hello.length)]);
    if (this.hello.length < SEED_HEADER_SIZE) return;
    this.clearHandshakeTimer();
    const { config } = this.ctx;
    if (config.token !== null && !config.allowSeedClients) {
      // Logged with the other refusals, in bounded lines: anyone can send these 8 bytes in a loop.
      this.ctx.auth.refusedAnonymous(this.address, 'tutorial client', 'cannot send a token; refused (see --allow-seed-clients)');
      return this.end();
    }
    const socket = this.socket;
    try {
      const h = decodeSeedHello(this.hello);
      // Tutorial clients never send after the hello, so a stall shows only as a write that never completes
      // (the viewer's stall check at each frame).
      this.viewer = Viewer.open(this.ctx, { address: this.address, protocol: 'tutorial' }, { width: h.width, height: h.height, fps: h.fps, quality: 0 }, {
        ready: () => !socket.destroyed && socket.writable,
        write: (f, done) => writeFrame(socket, f.wire(TUTORIAL_FRAME), done),
        end: () => this.end(),
      });
      // Nothing after the hello means anything: stop reading, so a peer that keeps sending costs nothing.
      // A peer that leaves is noticed on the next frame write instead.
      socket.pause();
    } catch (e) {
      const err = e instanceof FramewireError ? e : new FramewireError('E_MALFORMED', String(e));
      // The tutorial format has no error message: log it and close.
      config.log.warn(`${err.code}: tutorial client ${this.address}: ${err.message}`);
      this.end();
    }
  }

  /** Accepted and streaming (no longer a pending handshake). */
  get streaming(): boolean {
    return this.viewer !== null;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  onClosed(): void {
    this.clearHandshakeTimer();
    this.closed = true;
    this.viewer?.close();
  }

  goodbye(): void {
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.onClosed();
    this.socket.end();
    // A stalled peer never drains what end() must flush first.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
