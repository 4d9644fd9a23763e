/**
 * Loader for the byte-exact fixtures in this folder (index.json + *.hex).
 * Shared by test/unit/protocol-*.test.ts and test/unit/seed-*.test.ts; not a test file itself.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Message } from '../../src/protocol/messages.js';
import type { ErrorCode } from '../../src/errors.js';

export const VECTOR_DIR = fileURLToPath(new URL('.', import.meta.url));

export type Detect = 'framewire' | 'seed' | 'http' | { error: ErrorCode };

/** A message as JSON: like Message, but a frame's payload is a hex string. */
export type JsonMessage = Record<string, unknown> & { type: string };

export interface Vector {
  file: string;
  kind: 'message' | 'invalid' | 'seed-hello' | 'seed-hello-invalid' | 'seed-frame' | 'seed-frame-invalid' | 'detect';
  description: string;
  message?: Record<string, unknown>;
  error?: ErrorCode;
  messagesBefore?: JsonMessage[];
  detect?: Detect;
  /** What a server answers when these bytes open a connection, over TCP and WebSocket alike (§4.1). */
  opening?: 'accept' | ErrorCode;
  /** The HELLO codecs byte the decoding receiver offered (decoder option codecs, §4.1.1); absent: 0. */
  codecs?: number;
}

/** Parse a .hex fixture: '#' comment lines, free whitespace, lowercase hex digits only. */
export function parseHex(text: string): Uint8Array {
  const digits = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/.test(digits)) throw new Error(`not lowercase hex with whole bytes: ${digits.slice(0, 40)}…`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array {
  return parseHex(hex);
}

export function readVectorBytes(file: string): Uint8Array {
  return parseHex(readFileSync(join(VECTOR_DIR, file), 'utf8'));
}

export function loadIndex(): Vector[] {
  const index = JSON.parse(readFileSync(join(VECTOR_DIR, 'index.json'), 'utf8')) as { vectors: Vector[] };
  return index.vectors;
}

export function listHexFiles(): string[] {
  return readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.hex')).sort();
}

/** JSON form (payload as hex) → Message. */
export function messageFromJson(m: JsonMessage): Message {
  if (m.type === 'frame') return { ...m, payload: fromHex(m.payload as string) } as unknown as Message;
  return { ...m } as unknown as Message;
}

/** Message → JSON form; also turns Buffer/subarray payloads into plain hex so deepStrictEqual compares values. */
export function messageToJson(m: Message): JsonMessage {
  if (m.type === 'frame') return { ...m, payload: toHex(m.payload) };
  return { ...m };
}
