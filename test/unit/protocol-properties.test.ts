/**
 * Property tests for the framewire/1 codec (docs/protocol.md §2, §3, §5):
 * chunking invariance, bounded memory on garbage, and early E_TOO_LARGE.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMessage } from '../../src/protocol/encode.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import {
  Codec,
  ENVELOPE_SIZE,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
  MessageType,
  PROTOCOL_VERSION,
} from '../../src/protocol/constants.js';
import { ERROR_CODES, FramewireError, type ErrorCode } from '../../src/errors.js';
import type { Message } from '../../src/protocol/messages.js';
import { messageToJson } from '../vectors/vectors.js';

const utf8 = new TextEncoder();
const NUM_RUNS = 300;

// ---- arbitraries -------------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** u64 fields travel as JS numbers: every safe integer must round-trip. */
const timeUs = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 1700000000000000, Number.MAX_SAFE_INTEGER));

/** Well-formed strings (no lone surrogates) of at most `maxBytes` UTF-8 bytes. */
function text(maxBytes: number) {
  return fc
    .string({ unit: fc.oneof(fc.constantFrom('a', 'é', '€', '😀', '\u0000'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: maxBytes })
    .filter((s) => {
      const b = utf8.encode(s);
      return b.length <= maxBytes && new TextDecoder().decode(b) === s;
    });
}

const errorCode = fc.constantFrom(...(Object.keys(ERROR_CODES) as ErrorCode[]));

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    version: fc.constant(PROTOCOL_VERSION),
    width: u16,
    height: u16,
    fps: u16,
    quality: u8,
    token: text(MAX_TOKEN_BYTES),
  }),
  fc.record({
    type: fc.constant('accept' as const),
    version: u16,
    width: u16,
    height: u16,
    fps: u16,
    quality: u8,
    codec: fc.constant(Codec.JPEG),
    window: u16,
    serverTimeUs: timeUs,
    source: text(MAX_TEXT_BYTES),
  }),
  fc.record({ type: fc.constant('reject' as const), code: errorCode, text: text(MAX_TEXT_BYTES) }),
  fc.record({
    type: fc.constant('frame' as const),
    seq: u32,
    captureUs: timeUs,
    width: u16,
    height: u16,
    codec: fc.constant(Codec.JPEG),
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ type: fc.constant('ack' as const), seq: u32 }),
  fc.record({ type: fc.constant('ping' as const), id: u32, t1: timeUs }),
  fc.record({ type: fc.constant('pong' as const), id: u32, t1: timeUs, t2: timeUs, t3: timeUs }),
  fc.record({ type: fc.constant('renegotiate' as const), width: u16, height: u16, fps: u16, quality: u8 }),
  fc.record({ type: fc.constant('status' as const), status: fc.constantFrom(1 as const, 2 as const, 3 as const), text: text(MAX_TEXT_BYTES) }),
  fc.record({ type: fc.constant('error' as const), code: errorCode, text: text(MAX_TEXT_BYTES) }),
  fc.record({ type: fc.constant('goodbye' as const), code: fc.oneof(fc.constant('OK' as const), errorCode), text: text(MAX_TEXT_BYTES) }),
);

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** Split `bytes` at the given cut points (taken modulo length+1, duplicates allowed → empty chunks). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

function feed(chunks: Uint8Array[], decoder = new MessageDecoder()) {
  const messages: Message[] = [];
  let error: FramewireError | null = null;
  for (const c of chunks) {
    const r = decoder.push(c);
    messages.push(...r.messages);
    if (r.error) {
      error = r.error;
      break;
    }
  }
  return { messages, error, decoder };
}

const KNOWN_TYPES = Object.values(MessageType) as number[];

// ---- properties --------------------------------------------------------------------------------

describe('framewire/1 codec properties', () => {
  it('decode(encode(messages)) is the same messages for any chunking, including 1-byte chunks', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
        const expected = msgs.map(messageToJson);
        const bytes = concat(msgs.map(encodeMessage));

        const whole = feed([bytes]);
        assert.equal(whole.error, null);
        assert.deepEqual(whole.messages.map(messageToJson), expected);

        const chunked = feed(split(bytes, cuts));
        assert.equal(chunked.error, null);
        assert.deepEqual(chunked.messages.map(messageToJson), expected);
        assert.equal(chunked.decoder.bufferedBytes, 0);

        const single = feed(split(bytes, Array.from({ length: bytes.length }, (_, i) => i)));
        assert.equal(single.error, null);
        assert.deepEqual(single.messages.map(messageToJson), expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('encoding is deterministic and the envelope length is the body length', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const a = encodeMessage(m);
        assert.deepEqual(encodeMessage(m), a);
        const view = new DataView(a.buffer, a.byteOffset, a.byteLength);
        assert.equal(view.getUint8(1), 0, 'flags');
        assert.equal(view.getUint16(2), 0, 'reserved');
        assert.equal(view.getUint32(4), a.length - ENVELOPE_SIZE);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  /** Random bytes, and random bytes behind plausible envelopes (known type, zero flags, any length). */
  const segment = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 64 }),
    fc.tuple(fc.constantFrom(...KNOWN_TYPES), fc.oneof(fc.nat({ max: 2048 }), u32), fc.uint8Array({ maxLength: 300 })).map(([type, length, body]) => {
      const head = new Uint8Array(ENVELOPE_SIZE);
      const v = new DataView(head.buffer);
      v.setUint8(0, type);
      v.setUint32(4, length);
      return concat([head, body]);
    }),
  );

  it('garbage never throws out of push() and the decoder never holds more than maxMessageBytes + the last chunk', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.integer({ min: 0, max: 1024 }),
        (segments, cuts, max) => {
          const decoder = new MessageDecoder({ maxMessageBytes: max });
          let failed: FramewireError | null = null;
          for (const chunk of split(concat(segments), cuts)) {
            const r = decoder.push(chunk); // a throw here fails the property
            // The brief's bound is maxMessageBytes + the last chunk; the decoder does better: between pushes it
            // holds either a partial envelope (< 8 bytes) or part of a body whose declared length is <= max.
            assert.ok(decoder.bufferedBytes <= max + chunk.length || decoder.bufferedBytes < ENVELOPE_SIZE);
            assert.ok(decoder.bufferedBytes < Math.max(max, ENVELOPE_SIZE), `holds ${decoder.bufferedBytes} with max ${max}`);
            if (failed) {
              assert.equal(r.error, failed, 'a failed decoder reports the same error');
              assert.equal(r.messages.length, 0);
            } else if (r.error) {
              assert.ok(r.error instanceof FramewireError);
              assert.ok(r.error.code in ERROR_CODES);
              failed = r.error;
            }
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('a declared length above maxMessageBytes fails with E_TOO_LARGE on the 8th byte, before any body', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_TYPES),
        fc.integer({ min: 0, max: 0xffff_fffe }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (type, max, excess, cuts) => {
          const length = max + 1 + (excess % (0xffff_ffff - max));
          assert.ok(length > max && length <= 0xffff_ffff);
          const head = new Uint8Array(ENVELOPE_SIZE);
          const v = new DataView(head.buffer);
          v.setUint8(0, type);
          v.setUint32(4, length);
          const decoder = new MessageDecoder({ maxMessageBytes: max });
          let seen = 0;
          for (const chunk of split(head, cuts)) {
            const r = decoder.push(chunk);
            seen += chunk.length;
            if (seen < ENVELOPE_SIZE) {
              assert.deepEqual(r, { messages: [], error: null });
            } else {
              assert.equal(r.error?.code, 'E_TOO_LARGE');
              assert.equal(decoder.bufferedBytes, 0);
              return;
            }
          }
          assert.fail('the full envelope never produced an error');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('with the default limit, a 16 MiB + 1 declared body fails on the envelope alone', () => {
    const head = Uint8Array.of(MessageType.FRAME, 0, 0, 0, 0x01, 0x00, 0x00, 0x01);
    const r = new MessageDecoder().push(head);
    assert.equal(r.error?.code, 'E_TOO_LARGE');
  });
});
