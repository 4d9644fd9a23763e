import { Codec } from '../protocol/constants.js';
import { encodeFrameHeader } from '../protocol/encode.js';
import { encodeSeedFrameHeader } from '../protocol/seed.js';
import type { Profile } from './profile.js';

/**
 * One encoded frame of one profile, shared by every client on that profile.
 * Per-transport headers are built lazily, once, and then reused for every client: the hot path
 * (one frame to N clients) writes the same two buffers N times and allocates nothing per client.
 */
export class EncodedFrame {
  private fwHeader: Uint8Array | null = null;
  private seedHeader: Uint8Array | null = null;
  private mjpegHeader: Uint8Array | null = null;
  private fwMessage: Uint8Array | null = null;

  constructor(
    readonly seq: number,
    readonly captureUs: number,
    readonly profile: Profile,
    readonly payload: Buffer,
    /** When the encode finished, µs since the epoch (server clock). */
    readonly encodedUs: number,
  ) {}

  get width(): number {
    return this.profile.width;
  }
  get height(): number {
    return this.profile.height;
  }

  /** envelope + frame fields of framewire/1 (docs/protocol.md §3). */
  framewireHeader(): Uint8Array {
    return (this.fwHeader ??= encodeFrameHeader(
      { seq: this.seq, captureUs: this.captureUs, width: this.width, height: this.height, codec: Codec.JPEG },
      this.payload.length,
    ));
  }

  /** The whole framewire/1 FRAME message in one buffer, for transports that need one (WebSocket). */
  framewireMessage(): Uint8Array {
    if (!this.fwMessage) {
      const h = this.framewireHeader();
      const m = Buffer.allocUnsafe(h.length + this.payload.length);
      m.set(h, 0);
      m.set(this.payload, h.length);
      this.fwMessage = m;
    }
    return this.fwMessage;
  }

  /** The tutorial's 8-byte little-endian header (docs/protocol.md §6). */
  tutorialHeader(): Uint8Array {
    return (this.seedHeader ??= encodeSeedFrameHeader(this.payload.length, this.width, this.height));
  }

  /** The multipart part header for MJPEG over HTTP, boundary included. */
  mjpegPartHeader(boundary: string): Uint8Array {
    return (this.mjpegHeader ??= Buffer.from(
      `--${boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: ${this.payload.length}\r\nX-Timestamp-Us: ${this.captureUs}\r\n\r\n`,
      'latin1',
    ));
  }
}
