/**
 * Fuzz targets: each takes arbitrary bytes and throws only when an invariant breaks (a crash, an
 * exception escaping a parser, memory held beyond its limit, an inconsistent result).
 */
import sharp from 'sharp';
import { MessageDecoder } from '../src/protocol/decoder.js';
import { encodeMessage } from '../src/protocol/encode.js';
import type { Message } from '../src/protocol/messages.js';
import { detectProtocol, encodeSeedFrameHeader, encodeSeedHello, SeedFrameDecoder } from '../src/protocol/seed.js';
import { FramewireError } from '../src/errors.js';
import { Conversation, type Step } from '../src/client/conversation.js';
import { JpegSplitter } from '../src/sources/jpeg-splitter.js';
import { parseStreamQuery } from '../src/server/http/query-params.js';
import { chunks, Rng } from './mutate.js';

export interface FuzzTarget {
  name: string;
  /** Valid inputs to mutate from. */
  seeds(): Promise<Uint8Array[]>;
  run(input: Uint8Array, rng: Rng): void;
}

const MAX = 4096;

const sampleMessages: Message[] = [
  { type: 'hello', version: 1, width: 640, height: 480, fps: 30, quality: 80, token: 'secret' },
  { type: 'accept', version: 1, width: 640, height: 480, fps: 30, quality: 80, codec: 1, window: 2, serverTimeUs: 1_700_000_000_000_000, source: 'testpattern' },
  { type: 'frame', seq: 7, captureUs: 1_700_000_000_000_000, width: 2, height: 2, codec: 1, payload: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9) },
  { type: 'ack', seq: 7 },
  { type: 'ping', id: 1, t1: 5 },
  { type: 'pong', id: 1, t1: 5, t2: 6, t3: 7 },
  { type: 'renegotiate', width: 320, height: 240, fps: 15, quality: 50 },
  { type: 'status', status: 1, text: 'lost' },
  { type: 'error', code: 'E_AUTH', text: 'nope' },
  { type: 'goodbye', code: 'OK', text: 'bye' },
  { type: 'reject', code: 'E_TOO_LARGE', text: 'big' },
];

/** What a client may send (§3.0): anything else from the conversation is a bug. */
const CLIENT_SENDS = new Set(['hello', 'ack', 'ping', 'pong', 'renegotiate', 'goodbye']);

/** A client conversation past its HELLO fed `input` as the server's bytes in the given chunks; one summary string. */
function converse(parts: Iterable<Uint8Array>): string {
  const c = new Conversation({ params: { width: 0, height: 0, fps: 0, quality: 0 }, token: '', peer: 'fuzz', maxMessageBytes: MAX, idleTimeoutMs: 1000 });
  let now = 1_700_000_000_000_000;
  c.start(now);
  const sent: string[] = [];
  const events: string[] = [];
  let ended = false;
  const take = (step: Step): void => {
    const acks = step.send.filter((m) => m.type === 'ack').length;
    const frames = step.events.filter((e) => e.type === 'frame').length;
    if (acks !== frames) throw new Error(`${frames} frames but ${acks} acks`);
    for (const m of step.send) if (!CLIENT_SENDS.has(m.type)) throw new Error(`the client would send ${m.type}`);
    if (ended && (step.send.length > 0 || step.events.length > 0)) throw new Error('output after the end');
    step.events.forEach((e, i) => {
      if (e.type === 'end') {
        if (i !== step.events.length - 1) throw new Error('events after the end');
        if (e.error !== null && !(e.error instanceof FramewireError)) throw new Error('end without a FramewireError');
        ended = true;
      }
    });
    // Our own pings follow the clock, which the chunking changes; all else follows the bytes.
    sent.push(...step.send.filter((m) => m.type !== 'ping').map((m) => (m.type === 'ack' ? `ack ${m.seq}` : m.type)));
    events.push(...step.events.map((e) => (e.type === 'end' ? `end ${e.reason} ${e.error?.code ?? 'OK'}` : e.type)));
  };
  for (const p of parts) {
    take(c.receiveBytes(p, (now += 10)));
    take(c.tick(now));
  }
  take(c.transportClosed());
  if (!ended) throw new Error('no end after the connection closed');
  return `sent: ${sent.join(', ')}; events: ${events.join(', ')}`;
}

function assertFramewireError(e: unknown, where: string): void {
  if (!(e instanceof FramewireError)) throw new Error(`${where}: threw a non-FramewireError: ${String(e)}`);
}

export const targets: FuzzTarget[] = [
  {
    name: 'protocol-decoder',
    seeds: async () => [sampleMessages.map(encodeMessage).reduce((a, b) => Uint8Array.from([...a, ...b]), new Uint8Array(0)), ...sampleMessages.map(encodeMessage)],
    run(input, rng) {
      const whole = new MessageDecoder({ maxMessageBytes: MAX }).push(input);
      const d = new MessageDecoder({ maxMessageBytes: MAX });
      const got: Message[] = [];
      let err: FramewireError | null = null;
      for (const c of chunks(input, rng)) {
        const r = d.push(c);
        got.push(...r.messages);
        err ??= r.error;
        if (d.bufferedBytes > MAX + 8 + c.length) throw new Error(`decoder holds ${d.bufferedBytes} bytes, limit ${MAX}`);
      }
      // Chunking must not change the result.
      if (got.length !== whole.messages.length || (err === null) !== (whole.error === null) || (err && whole.error && err.code !== whole.error.code)) {
        throw new Error(`chunked decode differs: ${got.length}/${err?.code} vs ${whole.messages.length}/${whole.error?.code}`);
      }
      // Whatever decodes must re-encode to something that decodes the same.
      for (const m of whole.messages) {
        const again = new MessageDecoder({ maxMessageBytes: MAX }).push(encodeMessage(m));
        if (again.error || again.messages.length !== 1) throw new Error(`re-encode of ${m.type} does not decode`);
      }
    },
  },
  {
    // The server's side of a conversation is the fuzzer's: whatever it sends, the client answers only with
    // client messages, acknowledges exactly the frames it reports, ends once with a FramewireError or normally,
    // and the chunking changes nothing.
    name: 'client-conversation',
    seeds: async () => {
      const [, accept, frame, , ping, pong, , status, error, goodbye, reject] = sampleMessages.map(encodeMessage);
      const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
      return [cat(accept!, frame!, ping!, status!, frame!, pong!, goodbye!), cat(accept!, frame!, error!), cat(reject!), cat(accept!, accept!, frame!)];
    },
    run(input, rng) {
      const whole = converse([input]);
      const chunked = converse(chunks(input, rng));
      if (whole !== chunked) throw new Error(`chunked conversation differs: ${chunked} vs ${whole}`);
    },
  },
  {
    name: 'tutorial-detector',
    seeds: async () => [encodeSeedHello({ fps: 15, width: 640, height: 480 }), encodeMessage(sampleMessages[0]!), new TextEncoder().encode('GET / HTTP/1.1\r\n')],
    run(input) {
      try {
        const k = detectProtocol(input);
        if (!['framewire', 'seed', 'http', 'need-more'].includes(k)) throw new Error(`unknown kind ${k}`);
      } catch (e) {
        assertFramewireError(e, 'detectProtocol');
      }
    },
  },
  {
    name: 'tutorial-frames',
    seeds: async () => [Uint8Array.from([...encodeSeedFrameHeader(4, 2, 2), 0xff, 0xd8, 0xff, 0xd9])],
    run(input, rng) {
      const d = new SeedFrameDecoder(MAX);
      for (const c of chunks(input, rng)) {
        const r = d.push(c);
        for (const f of r.frames) if (f.payload.length > MAX) throw new Error('frame over the limit');
      }
    },
  },
  {
    name: 'jpeg-splitter',
    seeds: async () => {
      const raw = Buffer.alloc(64 * 48 * 3, 90);
      const a = await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 70 }).toBuffer();
      const b = await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 30, progressive: true }).toBuffer();
      return [Uint8Array.from([...a, ...b, ...a])];
    },
    run(input, rng) {
      const s = new JpegSplitter({ maxFrameBytes: MAX });
      for (const c of chunks(input, rng)) {
        for (const f of s.push(Buffer.from(c))) {
          if (f.length > MAX) throw new Error(`frame of ${f.length} over the limit`);
          if (f[0] !== 0xff || f[1] !== 0xd8 || f[f.length - 2] !== 0xff || f[f.length - 1] !== 0xd9) throw new Error('frame without SOI/EOI');
        }
      }
      s.end();
    },
  },
  {
    name: 'http-query',
    seeds: async () => ['width=640&height=480&fps=15&quality=80', 'width=1&fps=abc', 'token=x&width=99999'].map((s) => new TextEncoder().encode(s)),
    run(input) {
      const r = parseStreamQuery(new TextDecoder().decode(input));
      if (!r.ok && !(r.error instanceof FramewireError)) throw new Error('error is not a FramewireError');
    },
  },
];
