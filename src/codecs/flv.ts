/**
 * FLV (Adobe Flash Video File Format v10.1, annex E), read incrementally: the container ffmpeg writes the
 * H.264 encoder's output in. Each tag carries its own length, so an access unit is complete the moment its
 * last byte arrives; a raw Annex-B stream on a pipe cannot show where its last NAL unit ends until the next
 * access unit's start code, which would hold every picture back one frame interval.
 *
 * Bounded: a tag's size is read from its 11-byte header and checked against maxTagBytes before any of its
 * body is held (E_TOO_LARGE); a stream that is not FLV is E_MALFORMED. Both are thrown: the producer is then
 * broken, and its reader is reset with it. With `skipUnreadable`, a tag over the bound, or one marked
 * encrypted (its filter bit; E_UNSUPPORTED otherwise), is instead passed over as its bytes arrive (never held)
 * and returned in its place with an empty body and `skippedBytes` (and `encrypted`): for a producer whose
 * tags are framed right but whose content (a camera's access unit) may be too large or unreadable, so that
 * only a stream that is not FLV at all throws.
 */
import { FramewireError } from '../errors.js';
import { ChunkQueue } from '../protocol/chunk-queue.js';

export const FlvTagType = { AUDIO: 8, VIDEO: 9, SCRIPT: 18 } as const;

export interface FlvTag {
  type: number;
  /** Milliseconds, 32 bits (the 24-bit field and its extension byte). */
  timestampMs: number;
  body: Buffer;
  /** skipUnreadable: the tag was over maxTagBytes or encrypted and its body was passed over (body empty); its size. */
  skippedBytes?: number;
  /** skipUnreadable: the tag was passed over because it is marked encrypted. */
  encrypted?: true;
}

const FILE_HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;
const PREVIOUS_TAG_SIZE_BYTES = 4;

export const DEFAULT_MAX_FLV_TAG_BYTES = 8 * 1024 * 1024 + 16;

type State = 'file-header' | 'skip' | 'tag-header' | 'body' | 'discard';

export class FlvTagReader {
  readonly maxTagBytes: number;
  private readonly queue = new ChunkQueue();
  private state: State = 'file-header';
  private need = FILE_HEADER_BYTES;
  private tag: Omit<FlvTag, 'body'> = { type: 0, timestampMs: 0 };
  private readonly skipUnreadable: boolean;

  constructor(options: { maxTagBytes?: number; skipUnreadable?: boolean } = {}) {
    this.skipUnreadable = options.skipUnreadable ?? false;
    const max = options.maxTagBytes ?? DEFAULT_MAX_FLV_TAG_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new FramewireError('E_BAD_PARAMS', `maxTagBytes must be a positive integer, got ${max}`);
    this.maxTagBytes = max;
  }

  /** Bytes received and not yet part of a returned tag. */
  get heldBytes(): number {
    return this.queue.length;
  }

  /** Feed the next chunk; returns the tags it completed, in order. */
  push(chunk: Uint8Array): FlvTag[] {
    this.queue.push(chunk);
    const out: FlvTag[] = [];
    for (;;) {
      if (this.state === 'discard') {
        const n = Math.min(this.need, this.queue.length);
        if (n > 0) this.queue.take(n);
        this.need -= n;
        if (this.need > 0) break;
        this.state = 'tag-header';
        this.need = TAG_HEADER_BYTES;
      }
      if (this.queue.length < this.need) break;
      const bytes = this.queue.take(this.need);
      switch (this.state) {
        case 'file-header': {
          if (bytes[0] !== 0x46 || bytes[1] !== 0x4c || bytes[2] !== 0x56) {
            throw new FramewireError('E_MALFORMED', 'not an FLV stream (no "FLV" signature)');
          }
          const dataOffset = readU32(bytes, 5);
          if (dataOffset < FILE_HEADER_BYTES || dataOffset > 1024) throw new FramewireError('E_MALFORMED', `FLV header size ${dataOffset}`);
          // Whatever lies between the header and the first tag, then PreviousTagSize0.
          this.state = 'skip';
          this.need = dataOffset - FILE_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES;
          break;
        }
        case 'skip':
          this.state = 'tag-header';
          this.need = TAG_HEADER_BYTES;
          break;
        case 'tag-header': {
          const encrypted = (bytes[0]! & 0x20) !== 0;
          const size = (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
          if ((encrypted || size > this.maxTagBytes) && this.skipUnreadable) {
            out.push({ type: bytes[0]! & 0x1f, timestampMs: 0, body: Buffer.alloc(0), skippedBytes: size, ...(encrypted ? { encrypted: true as const } : {}) });
            this.state = 'discard';
            this.need = size + PREVIOUS_TAG_SIZE_BYTES;
            break;
          }
          if (encrypted) throw new FramewireError('E_UNSUPPORTED', 'encrypted FLV tag');
          if (size > this.maxTagBytes) throw new FramewireError('E_TOO_LARGE', `FLV tag of ${size} bytes (limit ${this.maxTagBytes})`);
          const timestampMs = ((bytes[7]! << 24) | (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]!) >>> 0;
          this.tag = { type: bytes[0]! & 0x1f, timestampMs };
          this.state = 'body';
          this.need = size + PREVIOUS_TAG_SIZE_BYTES;
          break;
        }
        case 'body': {
          const body = bytes.subarray(0, bytes.length - PREVIOUS_TAG_SIZE_BYTES);
          out.push({ ...this.tag, body: Buffer.from(body.buffer, body.byteOffset, body.length) });
          this.state = 'tag-header';
          this.need = TAG_HEADER_BYTES;
          break;
        }
      }
    }
    return out;
  }

  reset(): void {
    this.queue.clear();
    this.state = 'file-header';
    this.need = FILE_HEADER_BYTES;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export const AvcPacketType = { SEQUENCE_HEADER: 0, NALU: 1, END_OF_SEQUENCE: 2 } as const;

export interface FlvAvcPacket {
  /** FLV frame type 1 (the muxer's claim; the NAL units are what count). */
  keyframe: boolean;
  packetType: number;
  compositionTimeMs: number;
  /** AVCDecoderConfigurationRecord (sequence header) or length-prefixed NAL units. */
  data: Buffer;
}

/** The body of a video tag carrying H.264 (codec id 7); E_UNSUPPORTED for any other codec. */
export function parseFlvAvcPacket(body: Buffer): FlvAvcPacket {
  if (body.length < 5) throw new FramewireError('E_MALFORMED', `FLV video tag of ${body.length} bytes`);
  const codecId = body[0]! & 0x0f;
  if (codecId !== 7) throw new FramewireError('E_UNSUPPORTED', `FLV video codec id ${codecId}, expected 7 (H.264)`);
  const cts = (body[2]! << 16) | (body[3]! << 8) | body[4]!;
  return {
    keyframe: body[0]! >> 4 === 1,
    packetType: body[1]!,
    compositionTimeMs: cts & 0x800000 ? cts - 0x1000000 : cts,
    data: body.subarray(5),
  };
}
