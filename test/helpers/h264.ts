/**
 * Writing H.264 syntax for tests: a bit writer (u(n), ue(v), se(v)), emulation prevention, and NAL units
 * built field by field (SPS, PPS, slices, AUD), so parsers are checked against streams whose every field
 * the test chose.
 */

export class BitWriter {
  private bytes: number[] = [];
  private cur = 0;
  private n = 0;

  bit(b: number): this {
    this.cur = (this.cur << 1) | (b & 1);
    if (++this.n === 8) {
      this.bytes.push(this.cur);
      this.cur = 0;
      this.n = 0;
    }
    return this;
  }

  u(bits: number, v: number): this {
    for (let i = bits - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) % 2);
    return this;
  }

  flag(b: boolean): this {
    return this.bit(b ? 1 : 0);
  }

  ue(v: number): this {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    // Math.log2 can be off by one ulp for large values: correct it.
    const l = 2 ** (len + 1) <= x ? len + 1 : 2 ** len > x ? len - 1 : len;
    this.u(l, 0);
    return this.u(l + 1, x);
  }

  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }

  /** rbsp_trailing_bits: a 1, then zeros to the byte boundary. */
  trailing(): this {
    this.bit(1);
    while (this.n !== 0) this.bit(0);
    return this;
  }

  get bitLength(): number {
    return this.bytes.length * 8 + this.n;
  }

  /** The bytes written; a partial last byte is padded with zeros. */
  done(): Uint8Array {
    const out = [...this.bytes];
    if (this.n > 0) out.push(this.cur << (8 - this.n));
    return Uint8Array.from(out);
  }
}

/** Insert emulation-prevention bytes (§7.4.1): 00 00 0x (x ≤ 3) becomes 00 00 03 0x. */
export function escapeRbsp(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

export function nal(type: number, refIdc: number, rbsp: Uint8Array): Buffer {
  const payload = escapeRbsp(rbsp);
  const out = Buffer.alloc(1 + payload.length);
  out[0] = ((refIdc & 3) << 5) | (type & 0x1f);
  out.set(payload, 1);
  return out;
}

export interface SpsFields {
  id?: number;
  profileIdc?: number;
  constraintFlags?: number;
  levelIdc?: number;
  chromaFormatIdc?: number;
  separateColourPlane?: boolean;
  bitDepthLuma?: number;
  bitDepthChroma?: number;
  /** Per list: undefined (not present) or the delta_scale values written. */
  scalingLists?: (number[] | undefined)[];
  log2MaxFrameNum?: number;
  pocType?: number;
  pocCycle?: number[];
  widthMbs: number;
  heightMapUnits: number;
  frameMbsOnly?: boolean;
  crop?: { left: number; right: number; top: number; bottom: number };
  vui?: boolean;
  /** gaps_in_frame_num_value_allowed_flag (default false). */
  gapsInFrameNumAllowed?: boolean;
}

export const HIGH_PROFILE_IDCS = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

export function makeSps(f: SpsFields): Buffer {
  const w = new BitWriter();
  const profile = f.profileIdc ?? 66;
  w.u(8, profile).u(8, f.constraintFlags ?? 0).u(8, f.levelIdc ?? 30).ue(f.id ?? 0);
  if (HIGH_PROFILE_IDCS.includes(profile)) {
    const chroma = f.chromaFormatIdc ?? 1;
    w.ue(chroma);
    if (chroma === 3) w.flag(f.separateColourPlane ?? false);
    w.ue((f.bitDepthLuma ?? 8) - 8).ue((f.bitDepthChroma ?? 8) - 8).flag(false);
    const lists = f.scalingLists;
    w.flag(lists !== undefined);
    if (lists) {
      const count = chroma !== 3 ? 8 : 12;
      for (let i = 0; i < count; i++) {
        const deltas = lists[i];
        w.flag(deltas !== undefined);
        if (deltas) for (const d of deltas) w.se(d);
      }
    }
  }
  w.ue((f.log2MaxFrameNum ?? 4) - 4);
  const poc = f.pocType ?? 0;
  w.ue(poc);
  if (poc === 0) w.ue(2);
  else if (poc === 1) {
    w.flag(false).se(-1).se(2);
    const cycle = f.pocCycle ?? [];
    w.ue(cycle.length);
    for (const c of cycle) w.se(c);
  }
  w.ue(1).flag(f.gapsInFrameNumAllowed ?? false); // max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
  w.ue(f.widthMbs - 1).ue(f.heightMapUnits - 1);
  const frameMbsOnly = f.frameMbsOnly ?? true;
  w.flag(frameMbsOnly);
  if (!frameMbsOnly) w.flag(false);
  w.flag(true); // direct_8x8_inference_flag
  w.flag(f.crop !== undefined);
  if (f.crop) w.ue(f.crop.left).ue(f.crop.right).ue(f.crop.top).ue(f.crop.bottom);
  w.flag(f.vui ?? false);
  if (f.vui) w.flag(false).flag(false).flag(false).flag(false).flag(false).flag(false).flag(false).flag(false).flag(false);
  return nal(7, 3, w.trailing().done());
}

export function makePps(id: number, spsId: number): Buffer {
  const w = new BitWriter().ue(id).ue(spsId).flag(false).flag(false).ue(0).ue(0).ue(0).flag(false).u(2, 0).se(0).se(0).se(0);
  return nal(8, 3, w.flag(true).flag(false).flag(false).trailing().done());
}

export interface SliceFields {
  idr: boolean;
  firstMb: number;
  ppsId?: number;
  refIdc?: number;
  /** frame_num, written in frameNumBits bits (the SPS's log2_max_frame_num, default 4); absent: not written. */
  frameNum?: number;
  frameNumBits?: number;
  /** Payload bytes after the header fields (any values: they are escaped). */
  body?: Uint8Array;
}

export function makeSlice(f: SliceFields): Buffer {
  const w = new BitWriter().ue(f.firstMb).ue(f.idr ? 7 : 5).ue(f.ppsId ?? 0);
  if (f.frameNum !== undefined) w.u(f.frameNumBits ?? 4, f.frameNum);
  const head = w.trailing().done();
  const body = f.body ?? Uint8Array.of(0x88, 0x84);
  const rbsp = new Uint8Array(head.length + body.length + 1);
  rbsp.set(head);
  rbsp.set(body, head.length);
  rbsp[rbsp.length - 1] = 0x80; // ends in a stop bit, as every RBSP does: never a 00 last byte
  return nal(f.idr ? 5 : 1, f.refIdc ?? (f.idr ? 3 : 2), rbsp);
}

export function makeAud(): Buffer {
  return nal(9, 0, Uint8Array.of(0x10 | 0x00 | 0x0));
}

export function makeSei(payload: Uint8Array = Uint8Array.of(5, 1, 0xaa)): Buffer {
  const rbsp = new Uint8Array(payload.length + 1);
  rbsp.set(payload);
  rbsp[payload.length] = 0x80;
  return nal(6, 0, rbsp);
}

/** NAL units behind start codes; `longCode[i]` picks 00 00 00 01 over 00 00 01 for unit i. */
export function annexB(nals: readonly Uint8Array[], longCode: (i: number) => boolean = () => true): Buffer {
  const parts: Uint8Array[] = [];
  nals.forEach((n, i) => {
    parts.push(longCode(i) ? Uint8Array.of(0, 0, 0, 1) : Uint8Array.of(0, 0, 1), n);
  });
  return Buffer.concat(parts);
}

/** Cut `buf` at the given offsets (sorted or not, duplicates allowed). */
export function cutAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(buf.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...points, buf.length]) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}
