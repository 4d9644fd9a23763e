/**
 * Draft a new test vector: prints the framewire/1 encoding of a message as a .hex fixture,
 * split into envelope and body with the byte offsets of docs/protocol.md §3.
 *
 *   node --import tsx scripts/make-vectors.ts '{"type":"ack","seq":7}' > test/vectors/ack-7.hex
 *
 * This is a drafting aid only. The committed .hex files are the fixtures: check every byte of a draft
 * by hand against docs/protocol.md before committing it (otherwise the vector only proves the encoder
 * agrees with itself), then add an entry to test/vectors/index.json. The tests never run this script.
 */
import { encodeMessage } from '../src/protocol/encode.js';
import { ENVELOPE_SIZE } from '../src/protocol/constants.js';
import { messageFromJson, toHex, type JsonMessage } from '../test/vectors/vectors.js';

function groups(b: Uint8Array, perLine = 16): string[] {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += perLine) {
    lines.push(Array.from(b.subarray(i, i + perLine), (x) => toHex(Uint8Array.of(x))).join(' '));
  }
  return lines;
}

const arg = process.argv[2];
if (!arg) {
  console.error(`usage: node --import tsx scripts/make-vectors.ts '<message as JSON, frame payload as hex>'`);
  process.exit(2);
}
const json = JSON.parse(arg) as JsonMessage;
const bytes = encodeMessage(messageFromJson(json));
const body = bytes.subarray(ENVELOPE_SIZE);
const out = [
  `# DRAFT (check by hand against docs/protocol.md §3): ${JSON.stringify(json)}`,
  `# envelope: type=${toHex(bytes.subarray(0, 1))} flags=00 reserved=0000 length=${toHex(bytes.subarray(4, 8))} (${body.length})`,
  toHex(bytes.subarray(0, 1)) + ' ' + toHex(bytes.subarray(1, 2)) + ' ' + toHex(bytes.subarray(2, 4)) + ' ' + toHex(bytes.subarray(4, 8)),
  '# body',
  ...groups(body),
];
console.log(out.join('\n'));
