/**
 * framewire/1 against the committed byte-exact vectors in test/vectors (docs/protocol.md §3, §7).
 * The .hex files are the fixtures: the encoder must reproduce them, the decoder must read them back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, encodeFrameHeader } from '../../src/protocol/encode.js';
import { MessageDecoder, checkEnvelope } from '../../src/protocol/decoder.js';
import { detectProtocol } from '../../src/protocol/seed.js';
import { DEFAULT_MAX_MESSAGE_BYTES, ENVELOPE_SIZE, FRAME_FIELDS_SIZE, MessageType } from '../../src/protocol/constants.js';
import { FramewireError } from '../../src/errors.js';
import type { FrameMessage } from '../../src/protocol/messages.js';
import {
  listHexFiles,
  loadIndex,
  messageFromJson,
  messageToJson,
  parseHex,
  readVectorBytes,
  toHex,
  type JsonMessage,
} from '../vectors/vectors.js';

const vectors = loadIndex();
const valid = vectors.filter((v) => v.kind === 'message');
const invalid = vectors.filter((v) => v.kind === 'invalid');

/** Decode `bytes` delivered in `chunks` pieces; collects every message and the first error. */
function decodeAll(bytes: Uint8Array, chunkSize: number, decoder: MessageDecoder) {
  const messages: JsonMessage[] = [];
  let error: FramewireError | null = null;
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const r = decoder.push(bytes.subarray(i, i + chunkSize));
    messages.push(...r.messages.map(messageToJson));
    if (r.error) {
      error = r.error;
      break;
    }
  }
  return { messages, error, decoder };
}

describe('vector fixtures', () => {
  it('parseHex skips comments and whitespace and rejects bad digits', () => {
    assert.deepEqual(Array.from(parseHex('# comment 01\n01 0a\n  # ff\nff\t00\n')), [0x01, 0x0a, 0xff, 0x00]);
    assert.throws(() => parseHex('0A'), /lowercase hex/);
    assert.throws(() => parseHex('abc'), /whole bytes/);
  });

  it('index.json lists every .hex file exactly once, and every listed file exists', () => {
    const listed = vectors.map((v) => v.file).sort();
    assert.deepEqual(listed, [...new Set(listed)], 'duplicate entries in index.json');
    assert.deepEqual(listed, listHexFiles());
  });

  it('every framewire/1 message type has at least one valid vector', () => {
    const typeIds: Record<string, number> = {
      hello: MessageType.HELLO,
      accept: MessageType.ACCEPT,
      reject: MessageType.REJECT,
      frame: MessageType.FRAME,
      ack: MessageType.ACK,
      ping: MessageType.PING,
      pong: MessageType.PONG,
      renegotiate: MessageType.RENEGOTIATE,
      status: MessageType.STATUS,
      error: MessageType.ERROR,
      goodbye: MessageType.GOODBYE,
    };
    const covered = new Set(valid.map((v) => readVectorBytes(v.file)[0]));
    for (const [name, id] of Object.entries(typeIds)) assert.ok(covered.has(id), `no vector for ${name}`);
    assert.equal(covered.size, Object.keys(MessageType).length);
    // both goodbye forms and hello with and without token
    assert.ok(valid.some((v) => v.message?.type === 'goodbye' && v.message.code === 'OK'));
    assert.ok(valid.some((v) => v.message?.type === 'goodbye' && v.message.code !== 'OK'));
    assert.ok(valid.some((v) => v.message?.type === 'hello' && v.message.token === ''));
    assert.ok(valid.some((v) => v.message?.type === 'hello' && v.message.token !== ''));
  });

  it('every valid vector is one whole message: envelope length = file size - 8', () => {
    for (const v of valid) {
      const b = readVectorBytes(v.file);
      const { length } = checkEnvelope(b.subarray(0, ENVELOPE_SIZE), DEFAULT_MAX_MESSAGE_BYTES);
      assert.equal(length, b.length - ENVELOPE_SIZE, v.file);
    }
  });
});

describe('valid vectors', () => {
  for (const v of valid) {
    describe(`${v.file}: ${v.description}`, () => {
      const bytes = readVectorBytes(v.file);
      const json = v.message as JsonMessage;

      it('encodeMessage reproduces the committed bytes exactly', () => {
        assert.equal(toHex(encodeMessage(messageFromJson(json))), toHex(bytes));
      });

      it('MessageDecoder decodes the bytes (whole) to the message', () => {
        const { messages, error, decoder } = decodeAll(bytes, bytes.length, new MessageDecoder({ codecs: v.codecs }));
        assert.equal(error, null);
        assert.deepEqual(messages, [json]);
        assert.equal(decoder.bufferedBytes, 0);
      });

      it('MessageDecoder decodes the bytes fed one byte at a time', () => {
        const { messages, error } = decodeAll(bytes, 1, new MessageDecoder({ codecs: v.codecs }));
        assert.equal(error, null);
        assert.deepEqual(messages, [json]);
      });

      it('yields nothing until the last byte arrives', () => {
        const d = new MessageDecoder({ codecs: v.codecs });
        const head = d.push(bytes.subarray(0, bytes.length - 1));
        assert.deepEqual(head, { messages: [], error: null });
        const tail = d.push(bytes.subarray(bytes.length - 1));
        assert.equal(tail.error, null);
        assert.deepEqual(tail.messages.map(messageToJson), [json]);
      });

      if (v.detect) {
        it(`detectProtocol says ${JSON.stringify(v.detect)}`, () => {
          assert.equal(detectProtocol(bytes.subarray(0, 4)), v.detect);
        });
      }
    });
  }

  it('all valid vectors back to back in one chunk decode in order', () => {
    const all = valid.map((v) => readVectorBytes(v.file));
    const joined = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of all) {
      joined.set(b, at);
      at += b.length;
    }
    // A receiver that offered JPEG and H.264 takes every valid vector.
    const r = new MessageDecoder({ codecs: 0x03 }).push(joined);
    assert.equal(r.error, null);
    assert.deepEqual(r.messages.map(messageToJson), valid.map((v) => v.message));
  });

  it('encodeFrameHeader gives the first 32 bytes of frame.hex', () => {
    const v = valid.find((x) => x.file === 'frame.hex')!;
    const bytes = readVectorBytes(v.file);
    const m = messageFromJson(v.message as JsonMessage) as FrameMessage;
    const header = encodeFrameHeader(m, m.payload.length);
    assert.equal(header.length, ENVELOPE_SIZE + FRAME_FIELDS_SIZE);
    assert.equal(toHex(header), toHex(bytes.subarray(0, ENVELOPE_SIZE + FRAME_FIELDS_SIZE)));
  });
});

describe('invalid vectors', () => {
  for (const v of invalid) {
    describe(`${v.file}: ${v.description}`, () => {
      const bytes = readVectorBytes(v.file);
      const before = v.messagesBefore ?? [];

      for (const [label, chunk] of [
        ['whole', bytes.length],
        ['1-byte chunks', 1],
        ['3-byte chunks', 3],
      ] as const) {
        it(`fails with ${v.error} (${label}), without throwing`, () => {
          const { messages, error } = decodeAll(bytes, chunk, new MessageDecoder({ codecs: v.codecs }));
          assert.ok(error instanceof FramewireError, 'expected an error result');
          assert.equal(error.code, v.error);
          assert.deepEqual(messages, before);
        });
      }

      it('stays failed: later pushes, even of valid bytes, return the same error and no messages', () => {
        const d = new MessageDecoder({ codecs: v.codecs });
        const first = d.push(bytes);
        assert.ok(first.error);
        assert.equal(d.bufferedBytes, 0, 'a failed decoder holds nothing');
        const ack = readVectorBytes('ack.hex');
        for (let i = 0; i < 3; i++) {
          const again = d.push(ack);
          assert.deepEqual(again.messages, []);
          assert.equal(again.error, first.error);
          assert.equal(d.bufferedBytes, 0);
        }
      });

      if (v.detect) {
        it(`detectProtocol says ${JSON.stringify(v.detect)}`, () => {
          assert.equal(detectProtocol(bytes.subarray(0, 4)), v.detect);
        });
      }
    });
  }

  it('invalid-too-large.hex fails on its 8-byte envelope alone, and with a lower limit on smaller lengths', () => {
    const bytes = readVectorBytes('invalid-too-large.hex');
    assert.equal(bytes.length, ENVELOPE_SIZE);
    const r = new MessageDecoder().push(bytes);
    assert.equal(r.error?.code, 'E_TOO_LARGE');
    // the frame.hex body is 28 bytes: over a 27-byte limit, fine at 28
    const frame = readVectorBytes('frame.hex');
    assert.equal(new MessageDecoder({ maxMessageBytes: 27 }).push(frame.subarray(0, 8)).error?.code, 'E_TOO_LARGE');
    const ok = new MessageDecoder({ maxMessageBytes: 28 }).push(frame);
    assert.equal(ok.error, null);
    assert.equal(ok.messages.length, 1);
  });

  it('every expected error in the index is a real error code', async () => {
    const { ERROR_CODES } = await import('../../src/errors.js');
    for (const v of vectors) if (v.error) assert.ok(v.error in ERROR_CODES, `${v.file}: ${v.error}`);
  });
});
