/**
 * framewire/1 encoder: pure functions from messages to bytes (docs/protocol.md §3).
 * Nothing here knows about sockets.
 */
import {
  ACCEPT_FIXED_SIZE,
  ENVELOPE_SIZE,
  FRAME_FIELDS_SIZE,
  HELLO_FIXED_SIZE,
  MAGIC,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
  FrameFlag,
  MessageType,
  type MessageTypeId,
} from './constants.js';
import { ERROR_CODES, FramewireError } from '../errors.js';
import type { Message, FrameMessage } from './messages.js';

const TWO_32 = 0x1_0000_0000;
const utf8 = new TextEncoder();

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_32));
  view.setUint32(offset + 4, value % TWO_32);
}

function envelope(type: MessageTypeId, bodyLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(ENVELOPE_SIZE + bodyLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(4, bodyLength);
  return { bytes, view };
}

function textBytes(text: string, max: number, what: string): Uint8Array {
  const b = utf8.encode(text);
  if (b.length > max) throw new FramewireError('E_TOO_LARGE', `${what} is ${b.length} bytes, limit ${max}`);
  return b;
}

/** UTF-8 of `text`, cut to at most `max` bytes at a character boundary (reasons are informative, never fatal). */
function truncatedText(text: string, max: number): Uint8Array {
  const b = utf8.encode(text);
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // do not split a multi-byte sequence
  return b.subarray(0, end);
}

function codeAndText(type: MessageTypeId, code: number, text: string): Uint8Array {
  const t = truncatedText(text, MAX_TEXT_BYTES);
  const { bytes, view } = envelope(type, 4 + t.length);
  view.setUint16(ENVELOPE_SIZE, code);
  view.setUint16(ENVELOPE_SIZE + 2, t.length);
  bytes.set(t, ENVELOPE_SIZE + 4);
  return bytes;
}

/**
 * The 32 bytes that precede a frame's payload: envelope + frame fields.
 * Built once per frame and profile and shared by every client, the payload is written after it untouched.
 */
export function encodeFrameHeader(f: Omit<FrameMessage, 'type' | 'payload'>, payloadLength: number): Uint8Array {
  // Only the 32 header bytes are allocated; the payload is never copied here.
  const out = new Uint8Array(ENVELOPE_SIZE + FRAME_FIELDS_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, MessageType.FRAME);
  view.setUint32(4, FRAME_FIELDS_SIZE + payloadLength);
  const o = ENVELOPE_SIZE;
  view.setUint32(o, f.seq >>> 0);
  writeU64(view, o + 4, f.captureUs);
  view.setUint16(o + 12, f.width);
  view.setUint16(o + 14, f.height);
  view.setUint8(o + 16, f.codec);
  view.setUint8(o + 17, (f.keyframe ? FrameFlag.KEYFRAME : 0) | (f.catchUp ? FrameFlag.CATCH_UP : 0));
  view.setUint32(o + 20, payloadLength);
  return out;
}

export function encodeMessage(m: Message): Uint8Array {
  const o = ENVELOPE_SIZE;
  switch (m.type) {
    case 'hello': {
      const token = textBytes(m.token, MAX_TOKEN_BYTES, 'token');
      const { bytes, view } = envelope(MessageType.HELLO, HELLO_FIXED_SIZE + token.length);
      bytes.set(MAGIC, o);
      view.setUint16(o + 4, m.version);
      view.setUint16(o + 6, m.width);
      view.setUint16(o + 8, m.height);
      view.setUint16(o + 10, m.fps);
      view.setUint8(o + 12, m.quality);
      view.setUint8(o + 13, m.codecs ?? 0);
      view.setUint16(o + 14, token.length);
      bytes.set(token, o + HELLO_FIXED_SIZE);
      return bytes;
    }
    case 'accept': {
      const desc = textBytes(m.source, MAX_TEXT_BYTES, 'source description');
      const { bytes, view } = envelope(MessageType.ACCEPT, ACCEPT_FIXED_SIZE + desc.length);
      view.setUint16(o, m.version);
      view.setUint16(o + 2, m.width);
      view.setUint16(o + 4, m.height);
      view.setUint16(o + 6, m.fps);
      view.setUint8(o + 8, m.quality);
      view.setUint8(o + 9, m.codec);
      view.setUint16(o + 10, m.window);
      writeU64(view, o + 12, m.serverTimeUs);
      view.setUint16(o + 22, desc.length);
      bytes.set(desc, o + ACCEPT_FIXED_SIZE);
      return bytes;
    }
    case 'reject':
      return codeAndText(MessageType.REJECT, ERROR_CODES[m.code], m.text);
    case 'error':
      return codeAndText(MessageType.ERROR, ERROR_CODES[m.code], m.text);
    case 'goodbye':
      return codeAndText(MessageType.GOODBYE, m.code === 'OK' ? 0 : ERROR_CODES[m.code], m.text);
    case 'status':
      return codeAndText(MessageType.STATUS, m.status, m.text);
    case 'frame': {
      const header = encodeFrameHeader(m, m.payload.length);
      const bytes = new Uint8Array(header.length + m.payload.length);
      bytes.set(header, 0);
      bytes.set(m.payload, header.length);
      return bytes;
    }
    case 'ack': {
      const { bytes, view } = envelope(MessageType.ACK, 4);
      view.setUint32(o, m.seq >>> 0);
      return bytes;
    }
    case 'ping': {
      const { bytes, view } = envelope(MessageType.PING, 12);
      view.setUint32(o, m.id >>> 0);
      writeU64(view, o + 4, m.t1);
      return bytes;
    }
    case 'pong': {
      const { bytes, view } = envelope(MessageType.PONG, 28);
      view.setUint32(o, m.id >>> 0);
      writeU64(view, o + 4, m.t1);
      writeU64(view, o + 12, m.t2);
      writeU64(view, o + 20, m.t3);
      return bytes;
    }
    case 'renegotiate': {
      const { bytes, view } = envelope(MessageType.RENEGOTIATE, 8);
      view.setUint16(o, m.width);
      view.setUint16(o + 2, m.height);
      view.setUint16(o + 4, m.fps);
      view.setUint8(o + 6, m.quality);
      return bytes;
    }
  }
}
