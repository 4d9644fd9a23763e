/**
 * docs/protocol.md must agree with the code on the tables a stranger would implement from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../src/errors.js';
import {
  ACCEPT_FIXED_SIZE,
  DEFAULT_MAX_MESSAGE_BYTES,
  FRAME_FIELDS_SIZE,
  HELLO_FIXED_SIZE,
  LIMITS,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
  MessageType,
} from '../../src/protocol/constants.js';
import { StatusCode } from '../../src/protocol/messages.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/protocol.md', import.meta.url)), 'utf8');

function section(start: string, end: string): string {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end, a + 1);
  assert.ok(a >= 0 && b > a, `sections ${start} .. ${end} not found`);
  return doc.slice(a, b);
}

describe('docs/protocol.md', () => {
  it('has sections §1..§7 in order', () => {
    let at = -1;
    for (let n = 1; n <= 7; n++) {
      const i = doc.indexOf(`\n## §${n} `);
      assert.ok(i > at, `§${n} missing or out of order`);
      at = i;
    }
    assert.match(doc, /\n## §6 Tutorial compatibility \(seed format\)/);
    assert.match(doc, /\n### §6\.1 Detecting the protocol/);
    assert.match(doc, /\n### §4\.4 Ping, pong and the clock offset/);
  });

  it('the message type table (§3.0) is MessageType', () => {
    const rows = [...section('### §3.0', '### §3.1').matchAll(/^\| `0x([0-9a-f]{2})` \| ([A-Z]+) \|/gm)];
    const fromDoc = Object.fromEntries(rows.map((r) => [r[2], parseInt(r[1]!, 16)]));
    assert.deepEqual(fromDoc, { ...MessageType });
  });

  it('the error code table (§5.1) is ERROR_CODES', () => {
    const rows = [...section('### §5.1', '### §5.2').matchAll(/^\| (\d+) \| `(E_[A-Z_]+)` \|/gm)];
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r[2], Number(r[1])])), { ...ERROR_CODES });
  });

  it('the status code table (§3.3) is StatusCode', () => {
    const rows = [...section('### §3.3', '### §3.4').matchAll(/^\| (\d) \| ([A-Z_]+) \|/gm)];
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r[2], Number(r[1])])), { ...StatusCode });
  });

  it('the parameter bounds (§4.1) are LIMITS', () => {
    const t = section('### §4.1', '### §4.2');
    for (const [name, lo, hi] of [
      ['width', LIMITS.minWidth, LIMITS.maxWidth],
      ['height', LIMITS.minHeight, LIMITS.maxHeight],
      ['fps', LIMITS.minFps, LIMITS.maxFps],
      ['quality', LIMITS.minQuality, LIMITS.maxQuality],
    ] as const) {
      assert.match(t, new RegExp(`\\| ${name} \\| ${lo} \\| ${hi}\\b`), name);
    }
  });

  it('sizes and limits quoted in the text match the constants', () => {
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 16_777_216);
    assert.match(doc, /default \*\*16 MiB\*\* \(16 777 216 bytes\)/);
    assert.match(doc, new RegExp(`≤ \\*\\*${MAX_TEXT_BYTES}\\*\\* bytes`));
    assert.match(doc, new RegExp(`token \\| ≤ \\*\\*${MAX_TOKEN_BYTES}\\*\\* bytes`));
    assert.match(doc, new RegExp(`HELLO ${HELLO_FIXED_SIZE}, ACCEPT ${ACCEPT_FIXED_SIZE}, FRAME ${FRAME_FIELDS_SIZE}`));
    assert.match(doc, /WebSocket carriage: each WS binary message carries exactly one framewire\/1 message/);
  });
});
