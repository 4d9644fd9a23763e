/**
 * Targeted framewire/1 codec behaviour not covered by the vectors (docs/protocol.md §3, §5).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf } from '../helpers/errors.js';
import { encodeFrameHeader, encodeMessage } from '../../src/protocol/encode.js';
import { MessageDecoder, checkEnvelope, parseBody } from '../../src/protocol/decoder.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ENVELOPE_SIZE,
  FRAME_FIELDS_SIZE,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
  MessageType,
} from '../../src/protocol/constants.js';
import type { Message } from '../../src/protocol/messages.js';
import { messageToJson, readVectorBytes, toHex } from '../vectors/vectors.js';

function decodeOne(bytes: Uint8Array): Message {
  const r = new MessageDecoder().push(bytes);
  assert.equal(r.error, null);
  assert.equal(r.messages.length, 1);
  return r.messages[0]!;
}


describe('encoder text limits', () => {
  it('reason texts longer than 1024 UTF-8 bytes are cut at 1024 bytes, never thrown', () => {
    const m = decodeOne(encodeMessage({ type: 'error', code: 'E_SOURCE', text: 'x'.repeat(5000) }));
    assert.equal(m.type === 'error' && m.text, 'x'.repeat(MAX_TEXT_BYTES));
  });

  it('a text under 1024 characters but over 1024 bytes is cut too (600 × "é" = 1200 bytes)', () => {
    const m = decodeOne(encodeMessage({ type: 'reject', code: 'E_AUTH', text: 'é'.repeat(600) }));
    assert.equal(m.type === 'reject' && m.text, 'é'.repeat(512));
  });

  it('the cut never splits a UTF-8 sequence (4-byte emoji across the 1024-byte boundary)', () => {
    const text = 'ab' + '😀'.repeat(300); // 2 + 1200 bytes; 1024 would fall inside the 256th emoji
    const bytes = encodeMessage({ type: 'status', status: 3, text });
    const m = decodeOne(bytes);
    assert.equal(m.type === 'status' && m.text, 'ab' + '😀'.repeat(255));
    assert.equal(bytes.length, ENVELOPE_SIZE + 4 + 2 + 255 * 4);
  });

  it('goodbye texts are cut the same way', () => {
    const m = decodeOne(encodeMessage({ type: 'goodbye', code: 'OK', text: '€'.repeat(400) }));
    assert.equal(m.type === 'goodbye' && m.text, '€'.repeat(341));
  });

  it('a token over 256 bytes or a source over 1024 bytes is refused with E_TOO_LARGE', () => {
    const hello = { type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0 } as const;
    assert.equal(codeOf(() => encodeMessage({ ...hello, token: 't'.repeat(MAX_TOKEN_BYTES + 1) })), 'E_TOO_LARGE');
    assert.equal(codeOf(() => encodeMessage({ ...hello, token: 't'.repeat(MAX_TOKEN_BYTES) })), 'no error');
    const accept = {
      type: 'accept',
      version: 1,
      width: 640,
      height: 480,
      fps: 30,
      quality: 80,
      codec: 1,
      window: 2,
      serverTimeUs: 0,
    } as const;
    assert.equal(codeOf(() => encodeMessage({ ...accept, source: 's'.repeat(MAX_TEXT_BYTES + 1) })), 'E_TOO_LARGE');
    assert.equal(codeOf(() => encodeMessage({ ...accept, source: 's'.repeat(MAX_TEXT_BYTES) })), 'no error');
  });
});

describe('encodeFrameHeader', () => {
  it('is 32 bytes on its own buffer and carries the full body length, whatever the payload size', () => {
    const h = encodeFrameHeader({ seq: 1, captureUs: 2, width: 3840, height: 2160, codec: 1 }, DEFAULT_MAX_MESSAGE_BYTES - FRAME_FIELDS_SIZE);
    assert.equal(h.length, ENVELOPE_SIZE + FRAME_FIELDS_SIZE);
    assert.equal(h.buffer.byteLength, ENVELOPE_SIZE + FRAME_FIELDS_SIZE);
    const v = new DataView(h.buffer);
    assert.equal(v.getUint8(0), MessageType.FRAME);
    assert.equal(v.getUint32(4), DEFAULT_MAX_MESSAGE_BYTES);
    assert.equal(v.getUint32(ENVELOPE_SIZE + 20), DEFAULT_MAX_MESSAGE_BYTES - FRAME_FIELDS_SIZE);
  });

  it('wraps seq modulo 2^32 like the rest of the encoder', () => {
    const h = encodeFrameHeader({ seq: 2 ** 32 + 5, captureUs: 0, width: 1, height: 1, codec: 1 }, 0);
    assert.equal(new DataView(h.buffer).getUint32(ENVELOPE_SIZE), 5);
  });
});

describe('decoder details', () => {
  it('reads messages from a view into a larger buffer (non-zero byteOffset, as Node pooled Buffers are)', () => {
    const pong = readVectorBytes('pong.hex');
    const backing = new Uint8Array(pong.length + 13).fill(0xee);
    backing.set(pong, 7);
    const m = decodeOne(backing.subarray(7, 7 + pong.length));
    assert.deepEqual(messageToJson(m), {
      type: 'pong',
      id: 1,
      t1: 1700000000000000,
      t2: 1700000000001500,
      t3: 1700000000001700,
    });
  });

  it('decodes from a Node Buffer too', () => {
    const frame = Buffer.from(readVectorBytes('frame.hex'));
    const m = decodeOne(frame);
    assert.equal(m.type === 'frame' && toHex(m.payload), 'ffd8ffd9');
  });

  it('empty pushes are harmless', () => {
    const d = new MessageDecoder();
    assert.deepEqual(d.push(new Uint8Array(0)), { messages: [], error: null });
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.push(readVectorBytes('ack.hex')).messages.length, 1);
  });

  it('reserved bytes inside bodies are ignored on receipt (hello byte 13, frame bytes 17..19, renegotiate byte 7)', () => {
    const hello = readVectorBytes('hello-no-token.hex').slice();
    hello[ENVELOPE_SIZE + 13] = 0xff;
    assert.equal(decodeOne(hello).type, 'hello');
    const frame = readVectorBytes('frame.hex').slice();
    frame.fill(0xff, ENVELOPE_SIZE + 17, ENVELOPE_SIZE + 20);
    assert.equal(decodeOne(frame).type, 'frame');
    const reneg = readVectorBytes('renegotiate.hex').slice();
    reneg[ENVELOPE_SIZE + 7] = 0xff;
    assert.equal(decodeOne(reneg).type, 'renegotiate');
  });

  it('an unknown numeric error code decodes as E_INTERNAL; goodbye 0 decodes as OK', () => {
    const bytes = Uint8Array.of(MessageType.ERROR, 0, 0, 0, 0, 0, 0, 4, 0x12, 0x34, 0, 0);
    assert.deepEqual(decodeOne(bytes), { type: 'error', code: 'E_INTERNAL', text: '' });
    assert.deepEqual(decodeOne(readVectorBytes('goodbye-ok.hex')), { type: 'goodbye', code: 'OK', text: '' });
  });

  it('fixed-size messages reject every other body length from the envelope alone', () => {
    const fixed: [number, number][] = [
      [MessageType.ACK, 4],
      [MessageType.PING, 12],
      [MessageType.PONG, 28],
      [MessageType.RENEGOTIATE, 8],
    ];
    for (const [type, size] of fixed) {
      for (const len of [0, size - 1, size + 1]) {
        const head = Uint8Array.of(type, 0, 0, 0, 0, 0, 0, len);
        assert.equal(codeOf(() => checkEnvelope(head, DEFAULT_MAX_MESSAGE_BYTES)), 'E_MALFORMED', `type ${type} len ${len}`);
      }
      assert.deepEqual(checkEnvelope(Uint8Array.of(type, 0, 0, 0, 0, 0, 0, size), DEFAULT_MAX_MESSAGE_BYTES), { type, length: size });
    }
  });

  it('variable messages enforce their minimum (E_MALFORMED) and text/token maximum (E_TOO_LARGE, §2.2) from the envelope', () => {
    const cases: [number, number, number][] = [
      [MessageType.HELLO, 16, 16 + MAX_TOKEN_BYTES],
      [MessageType.ACCEPT, 24, 24 + MAX_TEXT_BYTES],
      [MessageType.REJECT, 4, 4 + MAX_TEXT_BYTES],
      [MessageType.STATUS, 4, 4 + MAX_TEXT_BYTES],
      [MessageType.ERROR, 4, 4 + MAX_TEXT_BYTES],
      [MessageType.GOODBYE, 4, 4 + MAX_TEXT_BYTES],
      [MessageType.FRAME, 24, DEFAULT_MAX_MESSAGE_BYTES],
    ];
    const head = (type: number, len: number) => {
      const b = new Uint8Array(ENVELOPE_SIZE);
      const v = new DataView(b.buffer);
      v.setUint8(0, type);
      v.setUint32(4, len);
      return b;
    };
    for (const [type, min, max] of cases) {
      assert.equal(codeOf(() => checkEnvelope(head(type, min - 1), DEFAULT_MAX_MESSAGE_BYTES)), 'E_MALFORMED');
      assert.equal(codeOf(() => checkEnvelope(head(type, min), DEFAULT_MAX_MESSAGE_BYTES)), 'no error');
      assert.equal(codeOf(() => checkEnvelope(head(type, max), DEFAULT_MAX_MESSAGE_BYTES)), 'no error');
      assert.equal(codeOf(() => checkEnvelope(head(type, max + 1), DEFAULT_MAX_MESSAGE_BYTES)), 'E_TOO_LARGE');
    }
  });

  it('parseBody alone throws FramewireError (the decoder turns it into a result)', () => {
    assert.equal(codeOf(() => parseBody(0x05, new Uint8Array(0))), 'E_MALFORMED');
    assert.equal(codeOf(() => parseBody(MessageType.ACCEPT, new Uint8Array(24))), 'E_UNSUPPORTED'); // codec 0
  });

  it('messages completed before an error in the same push are still returned', () => {
    const ack = readVectorBytes('ack.hex');
    const bad = readVectorBytes('invalid-utf8.hex');
    const joined = new Uint8Array(ack.length * 2 + bad.length);
    joined.set(ack, 0);
    joined.set(ack, ack.length);
    joined.set(bad, ack.length * 2);
    const r = new MessageDecoder().push(joined);
    assert.equal(r.messages.length, 2);
    assert.equal(r.error?.code, 'E_MALFORMED');
  });
});
