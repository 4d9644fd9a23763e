/**
 * A client speaking the tutorial's own format (docs/protocol.md §6): an 8-byte hello, then frames with
 * the 8-byte little-endian header. Unlike the tutorial's server it captures once, paces by the negotiated
 * rate and uses the server's JPEG quality (the tutorial passed the frame rate as the quality).
 */
import type { Socket } from 'node:net';
import { FramewireError } from '../../errors.js';
import { decodeSeedHello, SEED_HEADER_SIZE } from '../../protocol/seed.js';
import { grantParams } from '../../pipeline/profile.js';
import type { Subscription } from '../../pipeline/frame-hub.js';
import type { ClientRecord } from '../client-registry.js';
import type { ServerContext } from '../framewire-session.js';
import { writeFrame } from '../direct-write.js';
import { NewestFrameSlot } from '../newest-frame-slot.js';

export class TutorialSession {
  private hello = Buffer.alloc(0);
  private sub: Subscription | null = null;
  private record: ClientRecord | null = null;
  private closed = false;
  /** The first bytes looked like a tutorial hello; the rest of it must follow in time too (slow-loris). */
  private handshakeTimer: NodeJS.Timeout | null;
  private readonly slot: NewestFrameSlot;

  constructor(
    private readonly socket: Socket,
    private readonly address: string,
    private readonly ctx: ServerContext,
  ) {
    this.slot = new NewestFrameSlot({
      ready: () => !socket.destroyed && socket.writable,
      send: (f, done) => writeFrame(socket, f.tutorialMessage(), done),
    });
    this.handshakeTimer = setTimeout(() => {
      ctx.config.log.info(`E_TIMEOUT: tutorial client ${address} sent ${this.hello.length} of 8 hello bytes within ${ctx.config.handshakeTimeoutMs} ms`);
      this.end();
    }, ctx.config.handshakeTimeoutMs);
  }

  /** Bytes from the client. Only the first 8 mean anything; the tutorial's client sends nothing after them. */
  onData(chunk: Uint8Array): void {
    if (this.sub || this.closed) return;
    this.hello = Buffer.concat([this.hello, chunk.subarray(0, SEED_HEADER_SIZE - this.hello.length)]);
    if (this.hello.length < SEED_HEADER_SIZE) return;
    this.clearHandshakeTimer();
    const { config, hub, registry } = this.ctx;
    if (config.token !== null && !config.allowSeedClients) {
      // Logged with the other refusals, in bounded lines: anyone can send these 8 bytes in a loop.
      this.ctx.auth.refusedAnonymous(this.address, 'tutorial client', 'cannot send a token; refused (see --allow-seed-clients)');
      return this.end();
    }
    try {
      const h = decodeSeedHello(this.hello);
      this.record = registry.admit(this.address, 'tutorial', () => ({ sent: this.slot.sent, dropped: this.slot.dropped, bytes: this.slot.bytes }));
      const g = grantParams({ width: h.width, height: h.height, fps: h.fps, quality: 0 }, config, hub.source.info);
      this.sub = hub.subscribe({ width: g.width, height: g.height, quality: g.quality }, g.fps, {
        deliver: (f) => {
          // Tutorial clients never send after the hello, so a stall shows as a write that never completes.
          if (this.slot.stalled(config.idleTimeoutMs)) {
            config.log.info(`E_TIMEOUT: tutorial client ${this.address} took no data for ${config.idleTimeoutMs} ms`);
            return this.end();
          }
          this.slot.offer(f);
        },
        sourceEvent: () => {},
      });
      this.record.profile = this.sub.profile;
      this.record.fps = g.fps;
      // Nothing after the hello means anything: stop reading, so a peer that keeps sending costs nothing.
      // A peer that leaves is noticed on the next frame write instead.
      this.socket.pause();
      config.log.info(`tutorial client ${this.address} streaming ${g.width}x${g.height}@${g.fps} q${g.quality}`);
    } catch (e) {
      const err = e instanceof FramewireError ? e : new FramewireError('E_MALFORMED', String(e));
      // The tutorial format has no error message: log it and close.
      config.log.warn(`${err.code}: tutorial client ${this.address}: ${err.message}`);
      this.end();
    }
  }

  get clientRecord(): ClientRecord | null {
    return this.record;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  onClosed(): void {
    this.clearHandshakeTimer();
    this.closed = true;
    this.sub?.cancel();
    this.sub = null;
    this.slot.clear();
    if (this.record) this.ctx.registry.remove(this.record);
    this.record = null;
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
