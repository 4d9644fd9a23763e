/** A small seeded mutator: the classic byte-level mutations of coverage-less fuzzers. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** xorshift32 */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0xd8, 0xd9, 0xda, 0xc0, 0x10];

export function mutate(input: Uint8Array, rng: Rng, maxLen = 1 << 16): Uint8Array {
  let b = Uint8Array.from(input);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(8)) {
      case 0: // bit flip
        if (b.length) b[at % b.length]! ^= 1 << rng.int(8);
        break;
      case 1: // interesting byte
        if (b.length) b[at % b.length] = INTERESTING[rng.int(INTERESTING.length)]!;
        break;
      case 2: // random byte
        if (b.length) b[at % b.length] = rng.int(256);
        break;
      case 3: {
        // insert random bytes
        const ins = rng.bytes(1 + rng.int(16));
        b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 4: // delete a run
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
        break;
      case 5: // truncate
        b = b.subarray(0, at);
        break;
      case 6: {
        // duplicate a run (splices structure into itself)
        const len = 1 + rng.int(64);
        const from = rng.int(Math.max(1, b.length));
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(from, from + len), ...b.subarray(at)]);
        break;
      }
      case 7: {
        // overwrite a 32-bit field with an extreme value (lengths!)
        if (b.length >= 4) {
          const p = rng.int(b.length - 3);
          const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 8, 24][rng.int(7)]!;
          new DataView(b.buffer, b.byteOffset).setUint32(p, v >>> 0, rng.int(2) === 0);
        }
        break;
      }
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

/** Split into random chunks (decoders must not care). */
export function chunks(input: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < input.length) {
    const n = 1 + rng.int(rng.int(2) === 0 ? 8 : 4096);
    out.push(input.subarray(i, i + n));
    i += n;
  }
  return out;
}
