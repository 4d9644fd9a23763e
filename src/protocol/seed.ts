/**
 * The tutorial's own wire format ("seed"), as its Python programs produced it on Windows,
 * where struct's native 'lhh' is 8 bytes little-endian: int32, int16, int16 (docs/protocol.md §6).
 *
 *   client hello:  int32 (888 + fps), int16 width, int16 height
 *   each frame:    int32 payload length, int16 width, int16 height, then the JPEG
 */
import { FramewireError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './constants.js';
import { isFramewireStart } from './decoder.js';

export const SEED_HEADER_SIZE = 8;
/** The tutorial adds 888 to the frame rate as a check value. */
export const SEED_FPS_OFFSET = 888;
/** Largest fps the detector accepts in a tutorial hello; larger values are not a tutorial client. */
export const SEED_MAX_FPS = 1000;

export interface SeedHello {
  fps: number;
  width: number;
  height: number;
}

export interface SeedFrame {
  width: number;
  height: number;
  payload: Uint8Array;
}

export function encodeSeedHello(h: SeedHello): Uint8Array {
  const out = new Uint8Array(SEED_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setInt32(0, SEED_FPS_OFFSET + h.fps, true);
  v.setInt16(4, h.width, true);
  v.setInt16(6, h.height, true);
  return out;
}

export function decodeSeedHello(b: Uint8Array): SeedHello {
  if (b.length < SEED_HEADER_SIZE) throw new FramewireError('E_MALFORMED', `tutorial hello needs 8 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, SEED_HEADER_SIZE);
  const raw = v.getInt32(0, true);
  const fps = raw - SEED_FPS_OFFSET;
  if (fps < 1 || fps > SEED_MAX_FPS) {
    throw new FramewireError('E_BAD_MAGIC', `tutorial hello check value ${raw} is not 888 + a frame rate`);
  }
  const width = v.getInt16(4, true);
  const height = v.getInt16(6, true);
  if (width <= 0 || height <= 0) throw new FramewireError('E_BAD_PARAMS', `tutorial hello asks for ${width}x${height}`);
  return { fps, width, height };
}

/** The 8 bytes before each JPEG, built once per frame and shared by every tutorial client. */
export function encodeSeedFrameHeader(payloadLength: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(SEED_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setInt32(0, payloadLength, true);
  v.setInt16(4, Math.min(width, 0x7fff), true);
  v.setInt16(6, Math.min(height, 0x7fff), true);
  return out;
}

export type Detected = 'framewire' | 'seed' | 'http' | 'need-more';

/**
 * Tell a framewire/1 client from a tutorial client by its first bytes (docs/protocol.md §6.1).
 * A framewire/1 message starts TT 00 00 00 (a known type, zero flags and reserved; a HELLO is 01 00 00 00);
 * read as the tutorial's int32 that is at most 0x7f, never a valid 888 + fps. Throws E_BAD_MAGIC for anything else.
 */
export function detectProtocol(first: Uint8Array): Detected {
  if (first.length < 4) return 'need-more';
  // Any framewire/1 envelope start, not only a HELLO's: the session then answers a first message that is
  // not a HELLO with E_UNEXPECTED, as over WebSocket (§4.1). Read as the tutorial's int32 these are 1..0x7f.
  if (isFramewireStart(first)) return 'framewire';
  const raw = new DataView(first.buffer, first.byteOffset, 4).getInt32(0, true);
  if (raw > SEED_FPS_OFFSET && raw <= SEED_FPS_OFFSET + SEED_MAX_FPS) return 'seed';
  const ascii = String.fromCharCode(first[0]!, first[1]!, first[2]!, first[3]!);
  if (/^(GET |HEAD|POST|PUT |OPTI)$/.test(ascii)) return 'http';
  const hex = Array.from(first.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new FramewireError('E_BAD_MAGIC', `not a framewire/1 or tutorial hello (first bytes: ${hex})`);
}

/** Incremental decoder for the tutorial's frame stream, bounded by maxMessageBytes. */
export class SeedFrameDecoder {
  private readonly queue = new ChunkQueue();
  private header: { length: number; width: number; height: number } | null = null;
  private failed: FramewireError | null = null;
  constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  push(chunk: Uint8Array): { frames: SeedFrame[]; error: FramewireError | null } {
    const frames: SeedFrame[] = [];
    if (this.failed) return { frames, error: this.failed };
    this.queue.push(chunk);
    for (;;) {
      if (!this.header) {
        if (this.queue.length < SEED_HEADER_SIZE) break;
        const h = this.queue.take(SEED_HEADER_SIZE);
        const v = new DataView(h.buffer, h.byteOffset, SEED_HEADER_SIZE);
        const length = v.getInt32(0, true);
        const width = v.getInt16(4, true);
        const height = v.getInt16(6, true);
        if (length <= 0 || length > this.maxMessageBytes) {
          this.failed = new FramewireError(length <= 0 ? 'E_MALFORMED' : 'E_TOO_LARGE', `tutorial frame length ${length} outside 1..${this.maxMessageBytes}`);
          this.queue.clear();
          return { frames, error: this.failed };
        }
        this.header = { length, width, height };
      }
      if (this.queue.length < this.header.length) break;
      frames.push({ width: this.header.width, height: this.header.height, payload: this.queue.take(this.header.length) });
      this.header = null;
    }
    return { frames, error: null };
  }
}
