/**
 * The client's framewire/1 conversation (src/client/conversation.ts) with no socket and no timer: hand-made
 * messages and the byte-exact vectors go in with the time, and what it sends and reports is checked, honest
 * servers and hostile ones alike (docs/protocol.md §4).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClockOffset } from '../../src/client/clock-offset.js';
import { Conversation, type ConversationEvent, type ConversationOptions, type Step } from '../../src/client/conversation.js';
import { FramewireError } from '../../src/errors.js';
import { Codec } from '../../src/protocol/constants.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { AcceptMessage, FrameMessage, Message } from '../../src/protocol/messages.js';
import { loadIndex, readVectorBytes, toHex } from '../vectors/vectors.js';

/** 2023-11-14T22:13:20Z in µs, as in the vectors (§7). */
const T = 1_700_000_000_000_000;
const MS = 1000;

const ACCEPT: AcceptMessage = { type: 'accept', version: 1, width: 640, height: 480, fps: 30, quality: 80, codec: 1, window: 2, serverTimeUs: T, source: 'test pattern' };

function frame(seq: number, captureUs = T): FrameMessage {
  return { type: 'frame', seq, captureUs, width: 2, height: 1, codec: 1, payload: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9) };
}

function conversation(options: Partial<ConversationOptions> = {}): Conversation {
  return new Conversation({ params: { width: 640, height: 480, fps: 30, quality: 80 }, token: '', peer: 'cam:8880', ...options });
}

/** A conversation past its handshake at time T (HELLO sent, ACCEPT received). */
function streaming(options: Partial<ConversationOptions> = {}): Conversation {
  const c = conversation(options);
  c.start(T);
  c.receive(ACCEPT, T);
  return c;
}

function bytes(...messages: Message[]): Uint8Array {
  const parts = messages.map((m) => encodeMessage(m));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ending(step: Step): Extract<ConversationEvent, { type: 'end' }> {
  const e = step.events.at(-1);
  assert.equal(e?.type, 'end', `expected the conversation to end: ${JSON.stringify(step.events.map((x) => x.type))}`);
  return e as Extract<ConversationEvent, { type: 'end' }>;
}

const types = (step: Step): string[] => [...step.send.map((m) => `>${m.type}`), ...step.events.map((e) => `<${e.type}`)];

describe('client conversation: the honest path', () => {
  it('opens with HELLO, byte for byte the vectors', () => {
    const c = conversation();
    assert.equal(c.state, 'new');
    assert.equal(toHex(encodeMessage(c.start(T).send[0]!)), toHex(readVectorBytes('hello-no-token.hex')));
    assert.equal(c.state, 'hello-sent');
    assert.deepEqual(c.start(T).send, [], 'a second start() sends nothing');
    const withToken = conversation({ params: { width: 0, height: 0, fps: 0, quality: 0 }, token: 's3cret' });
    assert.equal(toHex(encodeMessage(withToken.start(T).send[0]!)), toHex(readVectorBytes('hello-token.hex')));
  });

  it('ACCEPT starts streaming and the first ping; every FRAME is acknowledged on arrival, one ACK each', () => {
    const c = conversation();
    c.start(T);
    const accepted = c.receiveBytes(readVectorBytes('accept.hex'), T);
    assert.equal(c.state, 'streaming');
    assert.deepEqual(accepted.events, [{ type: 'accepted', accept: ACCEPT, answers: 'hello' }]);
    assert.deepEqual(accepted.send, [{ type: 'ping', id: 1, t1: T }]);

    const one = c.receiveBytes(readVectorBytes('frame.hex'), T + 5 * MS);
    assert.equal(toHex(encodeMessage(one.send[0]!)), toHex(readVectorBytes('ack.hex')));
    assert.equal(one.events.length, 1);
    const e = one.events[0]!;
    assert.ok(e.type === 'frame');
    assert.equal(e.frame.seq, 7);
    assert.equal(e.receivedUs, T + 5 * MS);
    assert.equal(e.latencyMs, null, 'no latency before a clock offset is known');

    const three = c.receiveBytes(bytes(frame(8), frame(10), frame(11)), T + 6 * MS);
    assert.deepEqual(three.send, [8, 10, 11].map((seq) => ({ type: 'ack', seq })));
    assert.deepEqual(
      three.events.map((x) => x.type === 'frame' && x.frame.seq),
      [8, 10, 11],
    );
  });

  it('gives the same sends and events however the bytes are split', () => {
    const wire = bytes(ACCEPT, frame(1), { type: 'ping', id: 9, t1: 5 }, { type: 'status', status: 1, text: 'camera unplugged' }, frame(2), { type: 'goodbye', code: 'E_SHUTDOWN', text: 'bye' });
    const run = (cuts: number[]): unknown => {
      const c = conversation();
      c.start(T);
      const all: Step = { send: [], events: [] };
      let from = 0;
      for (const to of [...cuts, wire.length]) {
        const s = c.receiveBytes(wire.slice(from, to), T);
        all.send.push(...s.send);
        all.events.push(...s.events);
        from = to;
      }
      return JSON.parse(JSON.stringify(all, (_, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v)));
    };
    const whole = run([]);
    assert.deepEqual(
      types(whole as Step),
      ['>ping', '>ack', '>pong', '>ack', '<accepted', '<frame', '<status', '<frame', '<end'],
    );
    for (let cut = 1; cut < wire.length; cut++) assert.deepEqual(run([cut]), whole, `split at byte ${cut}`);
    assert.deepEqual(run(Array.from({ length: wire.length - 1 }, (_, i) => i + 1)), whole, 'one byte at a time');
  });

  it("answers the server's PING with its id and t1, stamped with the time it was given", () => {
    const c = streaming();
    assert.deepEqual(c.receiveBytes(readVectorBytes('ping.hex'), T + 42).send, [{ type: 'pong', id: 1, t1: T, t2: T + 42, t3: T + 42 }]);
  });

  it('measures the clock offset from its own PINGs (§7.4) and corrects frame latency with it', () => {
    const clock = new ClockOffset();
    const c = streaming({ clock });
    // The PONG of §7.4: t2 = t1 + 1500, t3 = t1 + 1700 on the server's clock, back at t1 + 2000 on ours.
    c.receiveBytes(readVectorBytes('pong.hex'), T + 2000);
    assert.deepEqual(c.offset, { offsetUs: 600, rttUs: 1800 });
    assert.equal(clock.best?.offsetUs, 600, 'the samples go to the clock the client keeps across reconnects');
    const e = c.receive(frame(1, T + 10 * MS), T + 20 * MS).events[0]!;
    assert.ok(e.type === 'frame');
    assert.equal(e.latencyMs, (T + 20 * MS + 600 - (T + 10 * MS)) / 1000);
  });

  it('ignores PONGs that do not answer one of its PINGs (§4.4)', () => {
    const c = streaming();
    const pong = (id: number, t1: number): Message => ({ type: 'pong', id, t1, t2: t1, t3: t1 });
    for (const m of [pong(2, T), pong(1, T + 1)]) assert.deepEqual(c.receive(m, T + 10), { send: [], events: [] });
    assert.equal(c.offset, null);
    c.receive(pong(1, T), T + 10);
    assert.ok(c.offset);
    const best = c.offset;
    c.receive({ type: 'pong', id: 1, t1: T, t2: T + 1e9, t3: T + 1e9 }, T + 10);
    assert.deepEqual(c.offset, best, 'a PONG already answered is not taken twice');
  });

  it('pings five times in the first 200 ms, then once a second; after a stall, once', () => {
    const c = streaming();
    const pingsAt = (now: number): number => c.tick(now).send.filter((m) => m.type === 'ping').length;
    for (const at of [50, 100, 150, 200]) {
      assert.equal(c.deadlineUs, T + at * MS);
      assert.equal(pingsAt(T + at * MS - 1), 0, 'not before its time');
      assert.equal(pingsAt(T + at * MS), 1);
    }
    assert.equal(c.deadlineUs, T + 1000 * MS);
    assert.equal(pingsAt(T + 1000 * MS), 1);
    assert.equal(c.deadlineUs, T + 2000 * MS);
    assert.equal(pingsAt(T + 5500 * MS), 1, 'a stalled event loop does not bring a burst of the missed pings');
    assert.equal(c.deadlineUs, T + 6000 * MS);
  });

  it('passes STATUS on with its text made printable', () => {
    const c = streaming();
    const e = c.receive({ type: 'status', status: 1, text: 'lost\x1b[2J' }, T).events[0]!;
    assert.deepEqual(e, { type: 'status', status: { type: 'status', status: 1, text: 'lost\uFFFD[2J' } });
  });

  it('GOODBYE 0 and E_SHUTDOWN end normally; another code ends with that error', () => {
    for (const file of ['goodbye-ok.hex', 'goodbye-shutdown.hex']) {
      const end = ending(streaming().receiveBytes(readVectorBytes(file), T));
      assert.equal(end.reason, 'goodbye');
      assert.equal(end.error, null, file);
    }
    const end = ending(streaming().receive({ type: 'goodbye', code: 'E_SOURCE', text: 'camera gone' }, T));
    assert.equal(end.error?.code, 'E_SOURCE');
    assert.equal(end.text, 'camera gone');
    const error = ending(streaming().receiveBytes(readVectorBytes('error.hex'), T));
    assert.equal(error.reason, 'error');
    assert.equal(error.error?.code, 'E_UNEXPECTED');
    assert.equal(error.error?.message, 'server error: unexpected hello');
  });
});

describe('client conversation: renegotiation', () => {
  it('the next ACCEPT answers the oldest RENEGOTIATE; an ACCEPT nobody asked for is taken as the new grant', () => {
    const c = streaming();
    // Handed a larger object (the last ACCEPT with new values), only its four parameters go on the wire.
    const asked = c.renegotiate({ ...ACCEPT, width: 1280, height: 720, fps: 15, quality: 60 });
    assert.equal(toHex(encodeMessage(asked.send[0]!)), toHex(readVectorBytes('renegotiate.hex')));
    c.renegotiate({ width: 320, height: 240, fps: 10, quality: 50 });
    const answers = [1, 2, 3].map(() => {
      const e = c.receive(ACCEPT, T).events[0]!;
      assert.ok(e.type === 'accepted');
      return e.answers;
    });
    assert.deepEqual(answers, ['renegotiate', 'renegotiate', null]);
  });

  it('a RENEGOTIATE asked for before ACCEPT is sent after it: before ACCEPT only GOODBYE may be sent (§4.1)', () => {
    const c = conversation();
    c.start(T);
    assert.deepEqual(c.renegotiate({ width: 320, height: 240, fps: 10, quality: 50 }).send, []);
    assert.deepEqual(c.receive(ACCEPT, T).send.map((m) => m.type), ['ping', 'renegotiate']);
    const e = c.receive(ACCEPT, T).events[0]!;
    assert.ok(e.type === 'accepted' && e.answers === 'renegotiate');
  });

  it('before start(), new parameters are what HELLO asks for', () => {
    const c = conversation();
    assert.deepEqual(c.renegotiate({ width: 0, height: 0, fps: 0, quality: 0 }).send, []);
    assert.deepEqual(c.start(T).send, [{ type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' }]);
  });

  it('cannot renegotiate a conversation that has ended', () => {
    const c = streaming();
    c.close('bye');
    assert.throws(() => c.renegotiate(ACCEPT), (e: unknown) => e instanceof FramewireError && e.code === 'E_CLOSED');
  });
});

describe('client conversation: refusals and hostile servers', () => {
  const handshaking = (): Conversation => {
    const c = conversation();
    c.start(T);
    return c;
  };

  it('REJECT ends the handshake with its code and printable text; E_VERSION names the versions the server speaks', () => {
    const auth = ending(handshaking().receiveBytes(readVectorBytes('reject.hex'), T));
    assert.deepEqual([auth.reason, auth.error?.code, auth.error?.message, auth.text], ['refused', 'E_AUTH', 'server refused: bad token', 'bad token']);
    const version = ending(handshaking().receiveBytes(readVectorBytes('reject-version.hex'), T));
    assert.equal(version.error?.code, 'E_VERSION');
    assert.equal(version.error?.message, 'server refused framewire/1: it speaks framewire/1');
    const nasty = ending(handshaking().receive({ type: 'reject', code: 'E_AUTH', text: '\x1b]0;pwned\x07' }, T));
    assert.equal(nasty.text, '\uFFFD]0;pwned\uFFFD');
  });

  it('ERROR before ACCEPT is taken as a refusal (§4.1)', () => {
    const e = ending(handshaking().receive({ type: 'error', code: 'E_TOO_MANY_CLIENTS', text: 'full' }, T));
    assert.deepEqual([e.reason, e.error?.code], ['refused', 'E_TOO_MANY_CLIENTS']);
  });

  for (const m of [frame(1), { type: 'ping', id: 1, t1: T }, { type: 'status', status: 3, text: 'hi' }, { type: 'goodbye', code: 'OK', text: '' }] as Message[]) {
    it(`${m.type.toUpperCase()} before ACCEPT is E_UNEXPECTED, and nothing is answered`, () => {
      const step = handshaking().receive(m, T);
      assert.deepEqual(step.send, [], 'no ACK, no PONG');
      const e = ending(step);
      assert.deepEqual([step.events.length, e.reason, e.error?.code, e.error?.message], [1, 'violation', 'E_UNEXPECTED', `expected accept, got ${m.type}`]);
    });
  }

  for (const m of [
    { type: 'hello', version: 1, width: 0, height: 0, fps: 0, quality: 0, token: '' },
    { type: 'reject', code: 'E_AUTH', text: 'late' },
    { type: 'ack', seq: 1 },
    { type: 'renegotiate', width: 0, height: 0, fps: 0, quality: 0 },
  ] as Message[]) {
    it(`${m.type.toUpperCase()} from a streaming server is E_UNEXPECTED`, () => {
      const e = ending(streaming().receive(m, T));
      assert.deepEqual([e.reason, e.error?.code, e.error?.message], ['violation', 'E_UNEXPECTED', `server sent ${m.type} while streaming`]);
    });
  }

  const invalid = loadIndex().filter((v) => v.kind === 'invalid' && !v.messagesBefore);
  for (const v of invalid) {
    it(`bytes that do not decode end it with the decoder's code: ${v.file} → ${v.error}`, () => {
      const c = streaming(v.codecs ? { codecs: [Codec.JPEG, Codec.H264] } : {});
      const step = c.receiveBytes(readVectorBytes(v.file), T);
      assert.deepEqual(step.send, []);
      const e = ending(step);
      assert.deepEqual([e.reason, e.error?.code], ['violation', v.error]);
      assert.deepEqual(c.receiveBytes(bytes(frame(1)), T), { send: [], events: [] }, 'a failed stream stays failed (§2.2)');
    });
  }

  it('a message over maxMessageBytes fails on its envelope alone, before the body arrives', () => {
    const c = streaming({ maxMessageBytes: 1000 });
    const envelope = encodeMessage({ ...frame(1), payload: new Uint8Array(2000) }).subarray(0, 8);
    assert.equal(ending(c.receiveBytes(envelope, T)).error?.code, 'E_TOO_LARGE');
  });

  it('nothing counts after the end: a FRAME behind a GOODBYE in the same read is not acknowledged', () => {
    const c = streaming();
    const step = c.receiveBytes(bytes(frame(1), { type: 'goodbye', code: 'OK', text: '' }, frame(2)), T);
    assert.deepEqual(step.send, [{ type: 'ack', seq: 1 }]);
    assert.deepEqual(step.events.map((e) => e.type), ['frame', 'end']);
    assert.equal(c.state, 'ended');
    assert.deepEqual(c.receive(frame(3), T), { send: [], events: [] });
    assert.deepEqual(c.tick(T + 60_000 * MS), { send: [], events: [] }, 'and no more pings');
  });

  it('a server that never answers the HELLO: E_TIMEOUT at the handshake limit', () => {
    const c = conversation({ handshakeTimeoutMs: 1000 });
    c.start(T);
    assert.equal(c.deadlineUs, T + 1000 * MS);
    assert.deepEqual(c.tick(T + 999 * MS), { send: [], events: [] });
    const e = ending(c.tick(T + 1000 * MS));
    assert.deepEqual([e.reason, e.error?.code, e.error?.message], ['timeout', 'E_TIMEOUT', 'no answer to hello within 1000 ms']);
    assert.equal(c.deadlineUs, null);
  });

  it('a server gone silent: E_TIMEOUT once nothing has been heard for the idle limit; any byte postpones it', () => {
    const c = streaming({ idleTimeoutMs: 3000 });
    const pingsOnly = (s: Step): void => assert.deepEqual(s.events, []);
    pingsOnly(c.tick(T + 2000 * MS));
    c.receiveBytes(encodeMessage(frame(1)).subarray(0, 3), T + 2000 * MS);
    pingsOnly(c.tick(T + 4999 * MS));
    assert.ok(c.deadlineUs! <= T + 5000 * MS);
    const e = ending(c.tick(T + 5000 * MS));
    assert.deepEqual([e.reason, e.error?.code, e.error?.message], ['timeout', 'E_TIMEOUT', 'nothing heard from cam:8880 for 3000 ms']);
  });

  it('a server that never answers PINGs: only the last 32 are remembered, and no latency is made up', () => {
    const c = streaming();
    let now = T;
    for (let i = 0; i < 100; i++) c.tick((now += 1000 * MS));
    // PING 1 went with the ACCEPT, PING k at T + (k − 1) s.
    const pong = (id: number): Message => ({ type: 'pong', id, t1: T + (id - 1) * 1000 * MS, t2: now, t3: now });
    c.receive(pong(60), now);
    assert.equal(c.offset, null, 'an answer to a forgotten PING is ignored');
    const e = c.receive(frame(1), now).events[0]!;
    assert.ok(e.type === 'frame' && e.latencyMs === null);
    c.receive(pong(100), now);
    assert.ok(c.offset, 'one of the last 32 is matched');
  });

  it('the connection closing: E_CONNECT during the handshake, E_CLOSED while streaming, nothing after an end', () => {
    const c = conversation();
    c.start(T);
    assert.deepEqual(ending(c.transportClosed()).error?.code, 'E_CONNECT');
    const s = streaming();
    const e = ending(s.transportClosed());
    assert.deepEqual([e.reason, e.error?.code], ['closed', 'E_CLOSED']);
    assert.deepEqual(s.transportClosed(), { send: [], events: [] });
  });
});

describe('client conversation: codec negotiation (§4.1.1)', () => {
  const H264 = { codecs: [Codec.JPEG, Codec.H264] } as const;

  it('offering H.264 sets the HELLO codecs byte (hello-codecs.hex); offering JPEG alone leaves it 0', () => {
    assert.equal(toHex(encodeMessage(conversation(H264).start(T).send[0]!)), toHex(readVectorBytes('hello-codecs.hex')));
    const jpeg = conversation({ codecs: [Codec.JPEG] }).start(T).send[0]!;
    assert.equal(toHex(encodeMessage(jpeg)), toHex(readVectorBytes('hello-no-token.hex')));
  });

  it('offers H.264, the server grants JPEG: it streams JPEG and knows it', () => {
    const c = conversation(H264);
    c.start(T);
    assert.equal(c.codec, null);
    const accepted = c.receiveBytes(readVectorBytes('accept.hex'), T);
    assert.deepEqual(accepted.events, [{ type: 'accepted', accept: ACCEPT, answers: 'hello' }]);
    assert.equal(c.codec, Codec.JPEG);
    const one = c.receiveBytes(readVectorBytes('frame.hex'), T);
    assert.deepEqual(types(one), ['>ack', '<frame']);
  });

  it('offers H.264 and is granted it: keyframe and catch-up FRAMEs come through with their flags', () => {
    const c = conversation(H264);
    c.start(T);
    assert.equal(c.receiveBytes(readVectorBytes('accept-h264.hex'), T).events[0]?.type, 'accepted');
    assert.equal(c.codec, Codec.H264);
    const key = c.receiveBytes(readVectorBytes('frame-h264-keyframe.hex'), T).events[0];
    assert.ok(key?.type === 'frame');
    assert.deepEqual([key.frame.codec, key.frame.keyframe, key.frame.catchUp], [Codec.H264, true, undefined]);
    const burst = c.receiveBytes(readVectorBytes('frame-h264-catch-up.hex'), T).events[0];
    assert.ok(burst?.type === 'frame');
    assert.deepEqual([burst.frame.keyframe, burst.frame.catchUp], [undefined, true]);
  });

  it('granted a codec it did not offer: E_UNSUPPORTED, as bytes and as a decoded message', () => {
    const c = conversation();
    c.start(T);
    const e = ending(c.receiveBytes(readVectorBytes('accept-h264.hex'), T));
    assert.deepEqual([e.reason, e.error?.code], ['violation', 'E_UNSUPPORTED']);
    const m = conversation();
    m.start(T);
    const e2 = ending(m.receive({ ...ACCEPT, codec: Codec.H264 }, T));
    assert.deepEqual([e2.reason, e2.error?.code], ['violation', 'E_UNSUPPORTED']);
    assert.equal(m.codec, null);
  });

  it('granted JPEG, then an H.264 FRAME or an ACCEPT changing the codec: E_UNSUPPORTED (one codec per conversation)', () => {
    const f = streaming(H264);
    const e = ending(f.receive({ ...frame(1), codec: Codec.H264, keyframe: true }, T));
    assert.deepEqual([e.reason, e.error?.code], ['violation', 'E_UNSUPPORTED']);
    const a = streaming(H264);
    const e2 = ending(a.receive({ ...ACCEPT, codec: Codec.H264 }, T));
    assert.deepEqual([e2.reason, e2.error?.code], ['violation', 'E_UNSUPPORTED']);
  });
});

describe('client conversation: closing from this side', () => {
  it('GOODBYE 0 once HELLO has gone, then nothing: close() is idempotent', () => {
    const c = streaming();
    const step = c.close('client closing');
    assert.deepEqual(step.send, [{ type: 'goodbye', code: 'OK', text: 'client closing' }]);
    assert.deepEqual([ending(step).reason, ending(step).error], ['local', null]);
    assert.deepEqual(c.close('again'), { send: [], events: [] });
    assert.deepEqual(c.receive(frame(1), T), { send: [], events: [] }, 'no ACK after our GOODBYE');
    const waiting = conversation();
    waiting.start(T);
    assert.deepEqual(waiting.close('give up').send.map((m) => m.type), ['goodbye'], 'giving up on a pending HELLO (§4.1)');
    assert.deepEqual(conversation().close('never started').send, [], 'nothing to say before HELLO');
  });
});
