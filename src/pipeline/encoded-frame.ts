import { Codec } from '../protocol/constants.js';
import { encodeFrameHeader } from '../protocol/encode.js';
import { encodeSeedFrameHeader } from '../protocol/seed.js';
import type { Profile } from './profile.js';

/**
 * One encoded frame of one profile, shared by every client on that profile.
 * Each transport's complete wire form (header + payload, and the trailer for MJPEG) is built lazily, once,
 * and reused for every client: the hot path (one frame to N clients) is one write() of the same buffer per
 * client. Joining costs one payload copy per frame and transport; writing header and payload separately
 * (cork + two writes) costs more on every client (measured: writev was 61 % of the event loop at 400 clients).
 */
const CRLF = Uint8Array.of(0x0d, 0x0a);

function join(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class EncodedFrame {
  private fwHeader: Uint8Array | null = null;
  private seedHeader: Uint8Array | null = null;
  private mjpegHeader: Uint8Array | null = null;
  private fwMessage: Uint8Array | null = null;
  private seedMessage: Uint8Array | null = null;
  private mjpegMessage: Uint8Array | null = null;

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

  /** The whole framewire/1 FRAME message in one buffer (TCP, TLS and WebSocket). */
  framewireMessage(): Uint8Array {
    return (this.fwMessage ??= join(this.framewireHeader(), this.payload));
  }

  /** Header + JPEG in the tutorial's format, in one buffer. */
  tutorialMessage(): Uint8Array {
    return (this.seedMessage ??= join(this.tutorialHeader(), this.payload));
  }

  /** One multipart part: part header, JPEG, CRLF. */
  mjpegPart(boundary: string): Uint8Array {
    return (this.mjpegMessage ??= join(this.mjpegPartHeader(boundary), this.payload, CRLF));
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
