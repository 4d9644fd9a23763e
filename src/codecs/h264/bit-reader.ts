/**
 * Reads the RBSP inside a NAL unit bit by bit (H.264 §7.2 descriptors u(n), ue(v), se(v)).
 *
 * The RBSP is the NAL payload with emulation-prevention bytes removed (§7.4.1: within a NAL unit, 00 00 03
 * is written for 00 00 followed by 00..03). The reader skips them on the fly instead of copying the payload,
 * so parsing a parameter set allocates nothing. Reading past the end is E_MALFORMED, never a wrong value.
 */
import { FramewireError } from '../../errors.js';

export class RbspReader {
  private pos: number;
  /** Current byte (emulation prevention already applied) and how many of its bits are still unread. */
  private byte = 0;
  private bitsLeft = 0;
  /** Zero bytes just read from the NAL unit, for spotting an emulation-prevention byte. */
  private zeros = 0;

  /**
   * @param nal a NAL unit without its start code
   * @param offset where the RBSP starts: 1 skips the one-byte NAL header
   */
  constructor(
    private readonly nal: Uint8Array,
    offset = 1,
    private readonly what = 'NAL unit',
  ) {
    this.pos = offset;
  }

  /** RBSP bits not yet read (emulation-prevention bytes ahead are still counted as 8 each). */
  get bitsRemaining(): number {
    return this.bitsLeft + (this.nal.length - this.pos) * 8;
  }

  private nextByte(): void {
    for (;;) {
      if (this.pos >= this.nal.length) throw new FramewireError('E_MALFORMED', `${this.what} ends early`);
      const b = this.nal[this.pos++]!;
      if (this.zeros >= 2 && b === 0x03) {
        this.zeros = 0;
        continue;
      }
      this.zeros = b === 0 ? this.zeros + 1 : 0;
      this.byte = b;
      this.bitsLeft = 8;
      return;
    }
  }

  /** u(1) */
  flag(): boolean {
    return this.bit() === 1;
  }

  bit(): number {
    if (this.bitsLeft === 0) this.nextByte();
    this.bitsLeft--;
    return (this.byte >> this.bitsLeft) & 1;
  }

  /** u(n), n ≤ 32. */
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  /** ue(v): Exp-Golomb, §9.1. Values up to 2^32 - 2 (31 leading zeros at most), as H.264 allows. */
  ue(): number {
    let leadingZeros = 0;
    while (this.bit() === 0) {
      if (++leadingZeros > 31) throw new FramewireError('E_MALFORMED', `${this.what}: Exp-Golomb code longer than 32 bits`);
    }
    return 2 ** leadingZeros - 1 + this.bits(leadingZeros);
  }

  /** se(v): §9.1.1, k ↦ (−1)^(k+1) · Ceil(k ÷ 2). */
  se(): number {
    const k = this.ue();
    if (k === 0) return 0;
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) that must lie in [min, max] (the semantics of §7.4 give every field a range). */
  ueIn(name: string, min: number, max: number): number {
    const v = this.ue();
    if (v < min || v > max) throw new FramewireError('E_MALFORMED', `${this.what}: ${name} = ${v}, outside ${min}..${max}`);
    return v;
  }

  seIn(name: string, min: number, max: number): number {
    const v = this.se();
    if (v < min || v > max) throw new FramewireError('E_MALFORMED', `${this.what}: ${name} = ${v}, outside ${min}..${max}`);
    return v;
  }
}

/** The RBSP of a NAL unit as a new buffer (header byte dropped, emulation prevention removed); for tests and tools. */
export function unescapeRbsp(nal: Uint8Array, offset = 1): Uint8Array {
  const out = new Uint8Array(Math.max(0, nal.length - offset));
  let n = 0;
  let zeros = 0;
  for (let i = offset; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}
