/** framewire/1 wire constants. Every multi-byte field is big-endian (network order). See docs/protocol.md. */

export const PROTOCOL_VERSION = 1;

/** "FWIR": first four bytes of a client hello body. */
export const MAGIC = Uint8Array.of(0x46, 0x57, 0x49, 0x52);

/** Every message starts with this 8-byte envelope: type u8, flags u8, reserved u16, body length u32. */
export const ENVELOPE_SIZE = 8;

export const MessageType = {
  HELLO: 0x01,
  ACCEPT: 0x02,
  REJECT: 0x03,
  FRAME: 0x10,
  ACK: 0x11,
  PING: 0x20,
  PONG: 0x21,
  RENEGOTIATE: 0x30,
  STATUS: 0x40,
  ERROR: 0x7e,
  GOODBYE: 0x7f,
} as const;
export type MessageTypeId = (typeof MessageType)[keyof typeof MessageType];

/** FRAME/ACCEPT codec ids (§3.2, §3.4). H.264 is granted only to a client whose HELLO offered it (§4.1.1). */
export const Codec = { JPEG: 1, H264: 2 } as const;
export type CodecId = (typeof Codec)[keyof typeof Codec];

/** HELLO `codecs` bit of a codec: bit (id − 1). 0 on the wire means JPEG only (what a HELLO sent before §4.1.1 carries). */
export function codecBit(codec: CodecId): number {
  return 1 << (codec - 1);
}

/**
 * The codecs a HELLO `codecs` byte offers, among those this implementation knows. JPEG is always in: it is
 * every client's fallback (an older server grants nothing else). Unknown bits are ignored (§4.1.1).
 */
export function offeredCodecs(codecs: number): CodecId[] {
  return Object.values(Codec).filter((c) => c === Codec.JPEG || (codecs & codecBit(c)) !== 0);
}

/** FRAME `flags` bits (§3.4). Other bits are reserved: sent as 0, ignored on receipt. */
export const FrameFlag = { KEYFRAME: 0x01, CATCH_UP: 0x02 } as const;

/** Fixed body sizes (bytes) of the fixed-layout messages. */
export const FRAME_FIELDS_SIZE = 24;
export const ACCEPT_FIXED_SIZE = 24;
export const HELLO_FIXED_SIZE = 16;

/** Default cap on one message body: a 4K JPEG at quality 100 is well under this. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Text fields (reasons, source description) are capped so a peer cannot make us hold a large string. */
export const MAX_TEXT_BYTES = 1024;
export const MAX_TOKEN_BYTES = 256;

/** Bounds on what a client may ask for; requests outside are clamped (documented in docs/protocol.md). */
export const LIMITS = {
  minWidth: 16,
  maxWidth: 3840,
  minHeight: 16,
  maxHeight: 2160,
  minFps: 1,
  maxFps: 120,
  minQuality: 1,
  maxQuality: 100,
} as const;
