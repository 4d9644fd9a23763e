/**
 * framewire/1 incremental decoder: a byte-level state machine (docs/protocol.md §3).
 * Feed it chunks of any size; it yields the same messages whatever the chunking.
 * The body length is checked against maxMessageBytes before anything is allocated for it.
 */
import {
  ACCEPT_FIXED_SIZE,
  Codec,
  FrameFlag,
  codecBit,
  DEFAULT_MAX_MESSAGE_BYTES,
  ENVELOPE_SIZE,
  FRAME_FIELDS_SIZE,
  HELLO_FIXED_SIZE,
  MAGIC,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
  MessageType,
  PROTOCOL_VERSION,
  type CodecId,
} from './constants.js';
import { FramewireError, errorCodeFromNumber } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { StatusCode, type Message, type StatusCodeId } from './messages.js';

const TWO_32 = 0x1_0000_0000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DecoderOptions {
  /** Largest body accepted, in bytes; larger ones fail with E_TOO_LARGE before allocation. */
  maxMessageBytes?: number;
  /**
   * Codecs this receiver offered in its HELLO, as the HELLO's `codecs` bitmask (§4.1.1); default 0, JPEG
   * only. An ACCEPT or FRAME with any other codec fails with E_UNSUPPORTED.
   */
  codecs?: number;
}

export type DecodeResult = { messages: Message[]; error: FramewireError | null };

const KNOWN_TYPES = new Set<number>(Object.values(MessageType));
const KNOWN_STATUS = new Set<number>(Object.values(StatusCode));

/** Smallest and largest legal body for each message type. */
const BODY_BOUNDS: Record<number, [number, number]> = {
  [MessageType.HELLO]: [HELLO_FIXED_SIZE, HELLO_FIXED_SIZE + MAX_TOKEN_BYTES],
  [MessageType.ACCEPT]: [ACCEPT_FIXED_SIZE, ACCEPT_FIXED_SIZE + MAX_TEXT_BYTES],
  [MessageType.REJECT]: [4, 4 + MAX_TEXT_BYTES],
  [MessageType.FRAME]: [FRAME_FIELDS_SIZE, Number.MAX_SAFE_INTEGER],
  [MessageType.ACK]: [4, 4],
  [MessageType.PING]: [12, 12],
  [MessageType.PONG]: [28, 28],
  [MessageType.RENEGOTIATE]: [8, 8],
  [MessageType.STATUS]: [4, 4 + MAX_TEXT_BYTES],
  [MessageType.ERROR]: [4, 4 + MAX_TEXT_BYTES],
  [MessageType.GOODBYE]: [4, 4 + MAX_TEXT_BYTES],
};

function malformed(text: string): FramewireError {
  return new FramewireError('E_MALFORMED', text);
}

function u64(view: DataView, offset: number): number {
  return view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4);
}

function text(body: Uint8Array, view: DataView, lenOffset: number, start: number, what: string): string {
  const n = view.getUint16(lenOffset);
  if (start + n !== body.length) throw malformed(`${what}: length field ${n} does not match the body (${body.length - start} bytes)`);
  try {
    return utf8.decode(body.subarray(start, start + n));
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

const KNOWN_CODECS = new Set<number>(Object.values(Codec));

function codec(n: number, offered: number): CodecId {
  if (!KNOWN_CODECS.has(n)) throw new FramewireError('E_UNSUPPORTED', `codec ${n} is not supported (1 = JPEG, 2 = H.264)`);
  const id = n as CodecId;
  if (id !== Codec.JPEG && (offered & codecBit(id)) === 0) {
    throw new FramewireError('E_UNSUPPORTED', `codec ${n} was not offered (the hello's codecs were 0x${offered.toString(16).padStart(2, '0')})`);
  }
  return id;
}

/**
 * Parse one complete body. Throws FramewireError on malformed input (caught by the decoder).
 * `codecs`: the receiver's offer (DecoderOptions.codecs); an ACCEPT or FRAME with a codec outside it is E_UNSUPPORTED.
 */
export function parseBody(type: number, body: Uint8Array, codecs = 0): Message {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (type) {
    case MessageType.HELLO: {
      for (let i = 0; i < MAGIC.length; i++) {
        if (body[i] !== MAGIC[i]) throw new FramewireError('E_BAD_MAGIC', 'hello does not start with "FWIR"');
      }
      const version = view.getUint16(4);
      if (version !== PROTOCOL_VERSION) {
        throw new FramewireError('E_VERSION', versionRejectText([PROTOCOL_VERSION], `protocol version ${version} is not supported`));
      }
      const codecs = view.getUint8(13);
      return {
        type: 'hello',
        version,
        width: view.getUint16(6),
        height: view.getUint16(8),
        fps: view.getUint16(10),
        quality: view.getUint8(12),
        token: text(body, view, 14, HELLO_FIXED_SIZE, 'token'),
        // Only when set, so a HELLO from before §4.1.1 decodes to exactly the message it always did.
        ...(codecs !== 0 ? { codecs } : {}),
      };
    }
    case MessageType.ACCEPT:
      return {
        type: 'accept',
        version: view.getUint16(0),
        width: view.getUint16(2),
        height: view.getUint16(4),
        fps: view.getUint16(6),
        quality: view.getUint8(8),
        codec: codec(view.getUint8(9), codecs),
        window: view.getUint16(10),
        serverTimeUs: u64(view, 12),
        source: text(body, view, 22, ACCEPT_FIXED_SIZE, 'source description'),
      };
    case MessageType.REJECT:
      return { type: 'reject', code: errorCodeFromNumber(view.getUint16(0)), text: text(body, view, 2, 4, 'reason') };
    case MessageType.ERROR:
      return { type: 'error', code: errorCodeFromNumber(view.getUint16(0)), text: text(body, view, 2, 4, 'reason') };
    case MessageType.GOODBYE: {
      const n = view.getUint16(0);
      return { type: 'goodbye', code: n === 0 ? 'OK' : errorCodeFromNumber(n), text: text(body, view, 2, 4, 'reason') };
    }
    case MessageType.STATUS: {
      const s = view.getUint16(0);
      if (!KNOWN_STATUS.has(s)) throw malformed(`unknown status code ${s}`);
      return { type: 'status', status: s as StatusCodeId, text: text(body, view, 2, 4, 'status text') };
    }
    case MessageType.FRAME: {
      const payloadLength = view.getUint32(20);
      if (FRAME_FIELDS_SIZE + payloadLength !== body.length) {
        throw malformed(`frame payload length ${payloadLength} does not match the body (${body.length - FRAME_FIELDS_SIZE} bytes)`);
      }
      const flags = view.getUint8(17);
      return {
        type: 'frame',
        seq: view.getUint32(0),
        captureUs: u64(view, 4),
        width: view.getUint16(12),
        height: view.getUint16(14),
        codec: codec(view.getUint8(16), codecs),
        ...((flags & FrameFlag.KEYFRAME) !== 0 ? { keyframe: true } : {}),
        ...((flags & FrameFlag.CATCH_UP) !== 0 ? { catchUp: true } : {}),
        payload: body.subarray(FRAME_FIELDS_SIZE),
      };
    }
    case MessageType.ACK:
      return { type: 'ack', seq: view.getUint32(0) };
    case MessageType.PING:
      return { type: 'ping', id: view.getUint32(0), t1: u64(view, 4) };
    case MessageType.PONG:
      return { type: 'pong', id: view.getUint32(0), t1: u64(view, 4), t2: u64(view, 12), t3: u64(view, 20) };
    case MessageType.RENEGOTIATE:
      return {
        type: 'renegotiate',
        width: view.getUint16(0),
        height: view.getUint16(2),
        fps: view.getUint16(4),
        quality: view.getUint8(6),
      };
    default:
      throw malformed(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

/** Check an envelope; returns the body length or throws. Pure, exported for the detector and tests. */
export function checkEnvelope(head: Uint8Array, maxMessageBytes: number): { type: number; length: number } {
  const view = new DataView(head.buffer, head.byteOffset, ENVELOPE_SIZE);
  const type = view.getUint8(0);
  const flags = view.getUint8(1);
  const reserved = view.getUint16(2);
  const length = view.getUint32(4);
  if (!KNOWN_TYPES.has(type)) throw malformed(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  if (flags !== 0 || reserved !== 0) throw malformed(`envelope flags/reserved must be zero in framewire/1`);
  if (length > maxMessageBytes) {
    throw new FramewireError('E_TOO_LARGE', `message of ${length} bytes exceeds the limit of ${maxMessageBytes}`);
  }
  const bounds = BODY_BOUNDS[type];
  if (bounds && (length < bounds[0] || length > bounds[1])) {
    const what = `message type 0x${type.toString(16)} with a ${length}-byte body (allowed ${bounds[0]}..${Math.min(bounds[1], maxMessageBytes)})`;
    // Over the maximum of a type with a token or text field, that field is over its limit (§2.2 step 4, §5.2).
    if (length > bounds[1] && bounds[0] !== bounds[1]) throw new FramewireError('E_TOO_LARGE', `${what}: its ${type === MessageType.HELLO ? 'token' : 'text'} is over the limit`);
    throw malformed(what);
  }
  return { type, length };
}

/**
 * True when the first 4 bytes of a connection start a framewire/1 message: a known type, then zero flags
 * and reserved (§6.1). Any message type counts, so a connection opening with, say, an ACK is answered
 * E_UNEXPECTED (not a HELLO) on every transport, and only bytes that are no framewire/1 message get E_BAD_MAGIC.
 */
export function isFramewireStart(first: Uint8Array): boolean {
  return first.length >= 4 && KNOWN_TYPES.has(first[0]!) && first[1] === 0 && first[2] === 0 && first[3] === 0;
}

const VERSIONS_PREFIX = 'supported: ';

/**
 * The text of a REJECT E_VERSION (§4.7): the one text with a defined form, "supported: 1" (the versions the
 * server speaks, ascending, comma-separated), then optionally "; " and a reason for people.
 */
export function versionRejectText(versions: readonly number[], reason = ''): string {
  return `${VERSIONS_PREFIX}${versions.join(',')}${reason ? `; ${reason}` : ''}`;
}

/** The versions a REJECT E_VERSION says the server speaks, or null when its text does not have the form. */
export function parseSupportedVersions(text: string): number[] | null {
  if (!text.startsWith(VERSIONS_PREFIX)) return null;
  const list = text.slice(VERSIONS_PREFIX.length).split(';', 1)[0]!;
  if (!/^\d{1,5}(,\d{1,5})*$/.test(list)) return null;
  const versions = list.split(',').map(Number);
  return versions.every((v) => v >= 1 && v <= 0xffff) ? versions : null;
}

export class MessageDecoder {
  private readonly max: number;
  private readonly queue = new ChunkQueue();
  private pending: { type: number; length: number } | null = null;
  private failed: FramewireError | null = null;
  private readonly codecs: number;

  constructor(options: DecoderOptions = {}) {
    this.max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.codecs = options.codecs ?? 0;
  }

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** Feed bytes; returns every message completed by them, or the error that ended the stream. */
  push(chunk: Uint8Array): DecodeResult {
    const messages: Message[] = [];
    if (this.failed) return { messages, error: this.failed };
    this.queue.push(chunk);
    try {
      for (;;) {
        if (!this.pending) {
          if (this.queue.length < ENVELOPE_SIZE) break;
          this.pending = checkEnvelope(this.queue.take(ENVELOPE_SIZE), this.max);
        }
        if (this.queue.length < this.pending.length) break;
        const body = this.queue.take(this.pending.length);
        const type = this.pending.type;
        this.pending = null;
        messages.push(parseBody(type, body, this.codecs));
      }
    } catch (e) {
      this.failed = e instanceof FramewireError ? e : new FramewireError('E_MALFORMED', String(e));
      this.queue.clear();
      return { messages, error: this.failed };
    }
    return { messages, error: null };
  }
}
