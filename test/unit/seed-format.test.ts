/**
 * The tutorial ("seed") format and the protocol detector (docs/protocol.md §6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf } from '../helpers/errors.js';
import fc from 'fast-check';
import {
  SEED_FPS_OFFSET,
  SEED_HEADER_SIZE,
  SEED_MAX_FPS,
  SeedFrameDecoder,
  decodeSeedHello,
  detectProtocol,
  encodeSeedFrameHeader,
  encodeSeedHello,
  type SeedFrame,
} from '../../src/protocol/seed.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../src/protocol/constants.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { FramewireError } from '../../src/errors.js';
import { fromHex, loadIndex, readVectorBytes, toHex } from '../vectors/vectors.js';

const vectors = loadIndex();


function seedHelloBytes(raw: number, width = 640, height = 480): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, raw, true);
  v.setInt16(4, width, true);
  v.setInt16(6, height, true);
  return b;
}

function frameJson(f: SeedFrame) {
  return { width: f.width, height: f.height, payload: toHex(f.payload) };
}

function feedSeed(chunks: Uint8Array[], decoder = new SeedFrameDecoder()) {
  const frames: ReturnType<typeof frameJson>[] = [];
  let error: FramewireError | null = null;
  for (const c of chunks) {
    const r = decoder.push(c);
    frames.push(...r.frames.map(frameJson));
    if (r.error) {
      error = r.error;
      break;
    }
  }
  return { frames, error };
}

describe('seed vectors', () => {
  for (const v of vectors.filter((x) => x.kind.startsWith('seed-') || x.kind === 'detect')) {
    describe(`${v.file}: ${v.description}`, () => {
      const bytes = readVectorBytes(v.file);
      if (v.kind === 'seed-hello') {
        const hello = v.message as { fps: number; width: number; height: number };
        it('encodeSeedHello reproduces the bytes', () => assert.equal(toHex(encodeSeedHello(hello)), toHex(bytes)));
        it('decodeSeedHello reads them back', () => assert.deepEqual(decodeSeedHello(bytes), hello));
      }
      if (v.kind === 'seed-hello-invalid') {
        it(`decodeSeedHello fails with ${v.error}`, () => assert.equal(codeOf(() => decodeSeedHello(bytes)), v.error));
      }
      if (v.kind === 'seed-frame') {
        const f = v.message as { width: number; height: number; payload: string };
        const payload = fromHex(f.payload);
        it('encodeSeedFrameHeader + payload reproduces the bytes', () => {
          const header = encodeSeedFrameHeader(payload.length, f.width, f.height);
          assert.equal(header.length, SEED_HEADER_SIZE);
          assert.equal(toHex(header) + toHex(payload), toHex(bytes));
        });
        it('SeedFrameDecoder reads it back, whole and byte by byte', () => {
          assert.deepEqual(feedSeed([bytes]), { frames: [f], error: null });
          assert.deepEqual(feedSeed(Array.from(bytes, (b) => Uint8Array.of(b))), { frames: [f], error: null });
        });
      }
      if (v.kind === 'seed-frame-invalid') {
        it(`SeedFrameDecoder fails with ${v.error} on the header alone and stays failed`, () => {
          const d = new SeedFrameDecoder();
          const r = d.push(bytes.subarray(0, SEED_HEADER_SIZE));
          assert.equal(r.error?.code, v.error);
          const again = d.push(readVectorBytes('seed-frame.hex'));
          assert.deepEqual(again.frames, []);
          assert.equal(again.error, r.error);
        });
      }
      if (v.detect) {
        it(`detectProtocol: ${JSON.stringify(v.detect)}`, () => {
          if (typeof v.detect === 'string') assert.equal(detectProtocol(bytes), v.detect);
          else assert.equal(codeOf(() => detectProtocol(bytes)), v.detect!.error);
        });
      }
    });
  }
});

describe('seed hello', () => {
  it('round-trips every legal fps and positive int16 size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: SEED_MAX_FPS }),
        fc.integer({ min: 1, max: 0x7fff }),
        fc.integer({ min: 1, max: 0x7fff }),
        (fps, width, height) => {
          const b = encodeSeedHello({ fps, width, height });
          assert.equal(b.length, SEED_HEADER_SIZE);
          assert.equal(new DataView(b.buffer).getInt32(0, true), SEED_FPS_OFFSET + fps);
          assert.deepEqual(decodeSeedHello(b), { fps, width, height });
          assert.equal(detectProtocol(b), 'seed');
        },
      ),
    );
  });

  it('check value bounds: 888 + 1 and 888 + 1000 are accepted, 888 and 1889 are not', () => {
    assert.equal(decodeSeedHello(seedHelloBytes(889)).fps, 1);
    assert.equal(decodeSeedHello(seedHelloBytes(1888)).fps, 1000);
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(888))), 'E_BAD_MAGIC');
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(1889))), 'E_BAD_MAGIC');
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(-5))), 'E_BAD_MAGIC');
  });

  it('zero or negative sizes are E_BAD_PARAMS, fewer than 8 bytes E_MALFORMED', () => {
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(918, 0, 480))), 'E_BAD_PARAMS');
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(918, 640, -1))), 'E_BAD_PARAMS');
    assert.equal(codeOf(() => decodeSeedHello(seedHelloBytes(918).subarray(0, 7))), 'E_MALFORMED');
  });

  it('reads from a view with a non-zero byteOffset', () => {
    const backing = new Uint8Array(20).fill(0xaa);
    backing.set(readVectorBytes('seed-hello.hex'), 5);
    assert.deepEqual(decodeSeedHello(backing.subarray(5, 13)), { fps: 30, width: 640, height: 480 });
  });
});

describe('detectProtocol', () => {
  it('a framewire/1 hello (01 00 00 00 …) is framewire', () => {
    const hello = encodeMessage({ type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' });
    assert.equal(detectProtocol(hello), 'framewire');
    assert.equal(detectProtocol(hello.subarray(0, 4)), 'framewire');
  });

  it('any framewire/1 message start (known type, zero flags and reserved) is framewire: the session, not the detector, refuses a non-HELLO (§4.1)', () => {
    for (const type of [0x02, 0x03, 0x10, 0x11, 0x20, 0x21, 0x30, 0x40, 0x7e, 0x7f]) {
      assert.equal(detectProtocol(Uint8Array.of(type, 0, 0, 0)), 'framewire', type.toString(16));
    }
  });

  it('a tutorial hello (int32 LE 889..1888) is seed', () => {
    assert.equal(detectProtocol(seedHelloBytes(889)), 'seed');
    assert.equal(detectProtocol(seedHelloBytes(918)), 'seed');
    assert.equal(detectProtocol(seedHelloBytes(1888)), 'seed');
  });

  it('HTTP request lines are http', () => {
    for (const line of ['GET / HTTP/1.1', 'HEAD / HTTP/1.1', 'POST /x HTTP/1.1', 'PUT /x HTTP/1.1', 'OPTIONS * HTTP/1.1']) {
      assert.equal(detectProtocol(new TextEncoder().encode(line)), 'http', line);
    }
  });

  it('anything else is E_BAD_MAGIC, including 888 and 1889 and lowercase "get "', () => {
    for (const b of [
      seedHelloBytes(888),
      seedHelloBytes(1889),
      seedHelloBytes(0),
      new TextEncoder().encode('get / HTTP/1.1'),
      Uint8Array.of(0x16, 0x03, 0x01, 0x02),
      Uint8Array.of(0x01, 0x00, 0x00, 0x01), // framewire type byte but non-zero reserved
      Uint8Array.of(0x05, 0x00, 0x00, 0x00), // no such framewire/1 type
    ]) {
      assert.equal(codeOf(() => detectProtocol(b)), 'E_BAD_MAGIC', toHex(b));
    }
  });

  it('fewer than 4 bytes is need-more', () => {
    assert.equal(detectProtocol(new Uint8Array(0)), 'need-more');
    assert.equal(detectProtocol(Uint8Array.of(0x01, 0, 0)), 'need-more');
    assert.equal(detectProtocol(Uint8Array.of(0x47, 0x45, 0x54)), 'need-more');
  });

  it('follows the §6 rule on any first bytes, and only throws E_BAD_MAGIC', () => {
    const oracle = (b: Uint8Array): string => {
      if (b.length < 4) return 'need-more';
      if (b[0] === 1 && b[1] === 0 && b[2] === 0 && b[3] === 0) return 'framewire';
      const raw = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
      if (raw >= 889 && raw <= 1888) return 'seed';
      const s = String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!);
      if (['GET ', 'HEAD', 'POST', 'PUT ', 'OPTI'].includes(s)) return 'http';
      return 'E_BAD_MAGIC';
    };
    const interesting = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc.integer({ min: 800, max: 2000 }).map((raw) => seedHelloBytes(raw)),
      fc.constantFrom('GET ', 'HEAD', 'POST', 'PUT ', 'OPTI', 'GETX').map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(
      fc.property(interesting, (b) => {
        let got: string;
        try {
          got = detectProtocol(b);
        } catch (e) {
          assert.ok(e instanceof FramewireError);
          got = e.code;
        }
        assert.equal(got, oracle(b));
      }),
      { numRuns: 500 },
    );
  });
});

describe('SeedFrameDecoder', () => {
  const frameArb = fc.record({
    width: fc.integer({ min: 0, max: 0x7fff }),
    height: fc.integer({ min: 0, max: 0x7fff }),
    payload: fc.uint8Array({ minLength: 1, maxLength: 200 }),
  });

  function encodeFrames(frames: SeedFrame[]): Uint8Array[] {
    return frames.flatMap((f) => [encodeSeedFrameHeader(f.payload.length, f.width, f.height), f.payload]);
  }

  function concat(parts: Uint8Array[]): Uint8Array {
    return Buffer.concat(parts);
  }

  it('yields the same frames for any chunking, including 1-byte chunks', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const bytes = concat(encodeFrames(frames));
        const expected = frames.map(frameJson);
        const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        assert.deepEqual(feedSeed(chunks), { frames: expected, error: null });
        assert.deepEqual(feedSeed(Array.from(bytes, (b) => Uint8Array.of(b))), { frames: expected, error: null });
        assert.deepEqual(feedSeed([bytes]), { frames: expected, error: null });
      }),
      { numRuns: 200 },
    );
  });

  it('enforces its size limit on the header, before the JPEG arrives', () => {
    const limit = 100;
    const ok = concat([encodeSeedFrameHeader(limit, 2, 1), new Uint8Array(limit)]);
    assert.equal(feedSeed([ok], new SeedFrameDecoder(limit)).frames.length, 1);
    const d = new SeedFrameDecoder(limit);
    const r = d.push(encodeSeedFrameHeader(limit + 1, 2, 1));
    assert.equal(r.error?.code, 'E_TOO_LARGE');
    assert.equal(d.push(ok).error, r.error, 'stays failed');
  });

  it('the default limit is DEFAULT_MAX_MESSAGE_BYTES', () => {
    assert.equal(new SeedFrameDecoder().push(encodeSeedFrameHeader(DEFAULT_MAX_MESSAGE_BYTES, 1, 1)).error, null);
    assert.equal(new SeedFrameDecoder().push(encodeSeedFrameHeader(DEFAULT_MAX_MESSAGE_BYTES + 1, 1, 1)).error?.code, 'E_TOO_LARGE');
  });

  it('a zero or negative length is E_MALFORMED', () => {
    assert.equal(new SeedFrameDecoder().push(fromHex('0000000002000100')).error?.code, 'E_MALFORMED');
    assert.equal(new SeedFrameDecoder().push(fromHex('ffffffff02000100')).error?.code, 'E_MALFORMED');
  });

  it('garbage never throws and errors only with E_MALFORMED or E_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }), fc.integer({ min: 1, max: 4096 }), (chunks, max) => {
        const d = new SeedFrameDecoder(max);
        for (const c of chunks) {
          const r = d.push(c);
          if (r.error) assert.ok(['E_MALFORMED', 'E_TOO_LARGE'].includes(r.error.code));
          for (const f of r.frames) assert.ok(f.payload.length >= 1 && f.payload.length <= max);
        }
      }),
    );
  });

  it('encodeSeedFrameHeader clamps sizes to the int16 range', () => {
    const h = encodeSeedFrameHeader(10, 40000, 70000);
    const v = new DataView(h.buffer);
    assert.equal(v.getInt32(0, true), 10);
    assert.equal(v.getInt16(4, true), 0x7fff);
    assert.equal(v.getInt16(6, true), 0x7fff);
  });
});
