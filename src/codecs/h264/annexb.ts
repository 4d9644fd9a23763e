/**
 * H.264 Annex-B byte streams: NAL units behind start codes (00 00 01, or 00 00 00 01), grouped into access
 * units (one coded picture with the parameter sets and SEI in front of it).
 *
 * NalSplitter finds start codes in chunks split anywhere. It never scans emulation prevention: inside a NAL
 * unit 00 00 00/01/02 cannot occur (§7.4.1), so every 00 00 01 is a start code, and the zero bytes before
 * one (the 4-byte form, trailing_zero_8bits) belong to no NAL unit and are dropped.
 *
 * AccessUnitAssembler applies §7.4.1.2.3: after the last slice of a picture, the first AUD, SPS, PPS, SEI
 * (or type 14..18) NAL unit, or the first slice of the next picture, starts a new access unit. "First slice
 * of the next picture" uses the parts of §7.4.1.2.4 readable from the first two bytes of a slice:
 * first_mb_in_slice = 0, IdrPicFlag differs, or nal_ref_idc differs with one of them 0. That covers libx264,
 * hardware encoders and cameras (which send an AUD or first_mb_in_slice = 0 with every picture); streams
 * with arbitrary slice order or redundant pictures are not split correctly, and each field of an
 * interlaced frame is its own access unit, as the standard says.
 *
 * Memory is bounded: an access unit is at most maxAccessUnitBytes (counting a 4-byte start code per NAL
 * unit) and maxNalUnits NAL units, including the NAL unit still arriving. A larger one is dropped whole
 * (E_TOO_LARGE through onError, counted), its bytes are not kept as they arrive, and the stream goes on with
 * the next access unit. Bytes are referenced (not copied) until an access unit is complete, then copied once.
 */
import { FramewireError } from '../../errors.js';
import { forbiddenBitSet, isVcl, NalType, nalRefIdc, nalType, START_CODE } from './nal.js';

/** One access unit in Annex-B form. */
export interface AccessUnit {
  /** Every NAL unit behind a 4-byte start code, the AUD (when there is one) first. */
  readonly data: Buffer;
  /** The NAL units (views into data, without start codes), in order. */
  readonly nals: readonly Buffer[];
  /** Contains a slice of an IDR picture: a decoder can start here (given SPS and PPS). */
  readonly keyframe: boolean;
}

/** Bytes of a NAL unit needed to place it: the header and the first payload byte (first_mb_in_slice's first bit). */
export const NAL_HEAD_BYTES = 2;

/** What a NalSplitter reports, in stream order: begin() once per NAL unit, then end(). */
export interface NalSink {
  /**
   * The first bytes of a NAL unit (NAL_HEAD_BYTES, fewer only when the unit is shorter). Returns how many
   * bytes of the unit may be kept; beyond that it is dropped as it arrives.
   */
  begin(head: Buffer): number;
  /** The NAL unit is complete: its bytes as pieces (views), or null when it went past its budget. */
  end(parts: Buffer[] | null, size: number): void;
}

export interface NalSplitterStats {
  /** Bytes before the first start code, or after an over-budget unit's limit, or zero padding. */
  garbageBytes: number;
}

export class NalSplitter {
  readonly stats: NalSplitterStats = { garbageBytes: 0 };
  private inNal = false;
  /** Zero bytes at the very end of the input so far (0..2 is all that matters for finding 00 00 01). */
  private tailZeros = 0;
  /** Zero bytes at the end of the current unit not stored yet: they are a start code's or padding when 00 00 01 follows. */
  private pendingZeros = 0;
  private parts: Buffer[] = [];
  private keptBytes = 0;
  private size = 0;
  private readonly head = Buffer.alloc(NAL_HEAD_BYTES);
  private headLen = 0;
  private budget = -1;
  private dropping = false;

  /** Bytes of the unit in progress held in memory. */
  get heldBytes(): number {
    return this.keptBytes;
  }

  push(chunk: Buffer, sink: NalSink): void {
    const n = chunk.length;
    let i = 0;
    let start = this.inNal ? 0 : -1;
    while (i < n) {
      const p = chunk.indexOf(1, i);
      if (p === -1) break;
      let z = 0;
      while (z < 2 && p - 1 - z >= i && chunk[p - 1 - z] === 0) z++;
      // All bytes of this chunk before the 01 are zeros: the run may have begun in the previous chunk.
      if (z < 2 && p - z === 0) z += this.tailZeros;
      if (z >= 2) {
        if (this.inNal) {
          this.keep(chunk.subarray(start, p), sink);
          this.finish(sink);
        } else {
          this.stats.garbageBytes += Math.max(0, p - 2);
        }
        this.inNal = true;
        start = p + 1;
      }
      i = p + 1;
    }
    if (this.inNal) this.keep(chunk.subarray(start), sink);
    else this.stats.garbageBytes += n;
    let t = 0;
    while (t < 2 && t < n && chunk[n - 1 - t] === 0) t++;
    this.tailZeros = t === n ? Math.min(2, this.tailZeros + n) : t;
  }

  /** End of the stream: the unit in progress is complete. */
  end(sink: NalSink): void {
    if (this.inNal) this.finish(sink);
    this.inNal = false;
    this.tailZeros = 0;
  }

  /** Forget everything (e.g. the producer restarted): the next bytes are a new stream. */
  reset(): void {
    this.inNal = false;
    this.tailZeros = 0;
    this.clearUnit();
  }

  /** Take bytes of the current unit; trailing zeros wait until a non-zero byte shows they are data. */
  private keep(piece: Buffer, sink: NalSink): void {
    let last = piece.length - 1;
    while (last >= 0 && piece[last] === 0) last--;
    if (last < 0) {
      this.pendingZeros += piece.length;
      return;
    }
    if (this.pendingZeros > 0) {
      const z = this.pendingZeros;
      this.pendingZeros = 0;
      this.take(null, z, sink);
    }
    this.take(piece.subarray(0, last + 1), last + 1, sink);
    this.pendingZeros = piece.length - 1 - last;
  }

  /** Append `len` bytes (`bytes`, or zeros when null) to the unit, within its budget. */
  private take(bytes: Buffer | null, len: number, sink: NalSink): void {
    this.size += len;
    if (this.headLen < NAL_HEAD_BYTES) {
      const k = Math.min(len, NAL_HEAD_BYTES - this.headLen);
      if (bytes) bytes.copy(this.head, this.headLen, 0, k);
      else this.head.fill(0, this.headLen, this.headLen + k);
      this.headLen += k;
      if (this.headLen === NAL_HEAD_BYTES) this.budget = sink.begin(Buffer.from(this.head));
    }
    if (this.dropping) {
      this.stats.garbageBytes += len;
      return;
    }
    if (this.budget >= 0 && this.keptBytes + len > this.budget) {
      this.stats.garbageBytes += this.keptBytes + len;
      this.dropping = true;
      this.parts = [];
      this.keptBytes = 0;
      return;
    }
    this.parts.push(bytes ?? Buffer.alloc(len));
    this.keptBytes += len;
  }

  private finish(sink: NalSink): void {
    // Pending zeros are the next start code's leading zero(s) or trailing_zero_8bits: no unit ends in 00.
    this.stats.garbageBytes += this.pendingZeros;
    this.pendingZeros = 0;
    if (this.size > 0) {
      if (this.headLen < NAL_HEAD_BYTES) {
        this.budget = sink.begin(Buffer.from(this.head.subarray(0, this.headLen)));
        if (this.keptBytes > this.budget) {
          this.dropping = true;
          this.stats.garbageBytes += this.keptBytes;
        }
      }
      sink.end(this.dropping ? null : this.parts, this.size);
    }
    this.clearUnit();
  }

  private clearUnit(): void {
    this.pendingZeros = 0;
    this.parts = [];
    this.keptBytes = 0;
    this.size = 0;
    this.headLen = 0;
    this.budget = -1;
    this.dropping = false;
  }
}

/** Split a complete Annex-B buffer into NAL units (views into it, no copy). */
export function splitAnnexB(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = -1;
  let i = 0;
  for (;;) {
    const p = buf.indexOf(1, i);
    if (p === -1) break;
    if (p >= 2 && buf[p - 1] === 0 && buf[p - 2] === 0) {
      if (start >= 0) pushTrimmed(out, buf, start, p - 2);
      start = p + 1;
    }
    i = p + 1;
  }
  if (start >= 0) pushTrimmed(out, buf, start, buf.length);
  return out;
}

function pushTrimmed(out: Buffer[], buf: Buffer, start: number, end: number): void {
  while (end > start && buf[end - 1] === 0) end--;
  if (end > start) out.push(buf.subarray(start, end));
}

/** One access unit from its NAL units: copied once behind 4-byte start codes, an AUD moved to the front (§7.4.1.2.3). */
export function accessUnitFromNals(nals: readonly Uint8Array[]): AccessUnit {
  let order: readonly Uint8Array[] = nals;
  const aud = nals.findIndex((n) => nalType(n) === NalType.AUD);
  if (aud > 0) order = [nals[aud]!, ...nals.slice(0, aud), ...nals.slice(aud + 1)];
  let total = 0;
  for (const n of order) total += START_CODE.length + n.length;
  const data = Buffer.allocUnsafe(total);
  const views: Buffer[] = [];
  let keyframe = false;
  let at = 0;
  for (const n of order) {
    data.set(START_CODE, at);
    at += START_CODE.length;
    data.set(n, at);
    views.push(data.subarray(at, at + n.length));
    at += n.length;
    if (nalType(n) === NalType.IDR) keyframe = true;
  }
  return { data, nals: views, keyframe };
}

export interface AssemblerOptions {
  /** Largest access unit kept, in bytes (each NAL unit counted with a 4-byte start code); default 8 MiB. */
  maxAccessUnitBytes?: number;
  /** Most NAL units in one access unit; default 4096 (a 4K picture in one slice per macroblock row has 135). */
  maxNalUnits?: number;
  /** Told about each access unit dropped: E_TOO_LARGE (over a bound) or E_MALFORMED (a corrupt NAL header). */
  onError?: (error: FramewireError) => void;
}

export interface AssemblerStats {
  accessUnits: number;
  keyframes: number;
  /** Access units dropped for exceeding maxAccessUnitBytes or maxNalUnits. */
  oversize: number;
  /** NAL units dropped because forbidden_zero_bit was set. */
  malformed: number;
  /** Groups of NAL units without a slice (e.g. parameter sets at the very end of a stream), dropped. */
  withoutPicture: number;
}

export const DEFAULT_MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_NAL_UNITS = 4096;

/** Incremental Annex-B → access units. push() returns the access units completed so far, in order. */
export class AccessUnitAssembler {
  readonly maxAccessUnitBytes: number;
  readonly maxNalUnits: number;
  readonly stats: AssemblerStats = { accessUnits: 0, keyframes: 0, oversize: 0, malformed: 0, withoutPicture: 0 };
  private readonly splitter = new NalSplitter();
  private readonly onError: ((e: FramewireError) => void) | undefined;
  private readonly sink: NalSink;
  private out: AccessUnit[] = [];

  // The access unit being gathered.
  private nals: Buffer[][] = [];
  private nalSizes: number[] = [];
  private auBytes = 0;
  /** NAL units seen in it, kept or not (a dropped access unit still decides where the next one starts). */
  private count = 0;
  private hasVcl = false;
  private vclIdr = false;
  private vclRefZero = false;
  private keyframe = false;
  private dropping = false;
  // The NAL unit being received.
  private unitType = 0;
  private unitHead: Buffer = Buffer.alloc(0);
  private unitMalformed = false;

  constructor(options: AssemblerOptions = {}) {
    const max = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
    if (!Number.isInteger(max) || max < 16) throw new FramewireError('E_BAD_PARAMS', `maxAccessUnitBytes must be an integer >= 16, got ${max}`);
    const maxNals = options.maxNalUnits ?? DEFAULT_MAX_NAL_UNITS;
    if (!Number.isInteger(maxNals) || maxNals < 1) throw new FramewireError('E_BAD_PARAMS', `maxNalUnits must be an integer >= 1, got ${maxNals}`);
    this.maxAccessUnitBytes = max;
    this.maxNalUnits = maxNals;
    this.onError = options.onError;
    this.sink = { begin: (head) => this.nalBegins(head), end: (parts, size) => this.nalEnds(parts, size) };
  }

  /** Bytes held for the access unit in progress (complete NAL units and the one arriving). */
  get heldBytes(): number {
    let n = this.splitter.heldBytes;
    for (const s of this.nalSizes) n += s;
    return n;
  }

  get garbageBytes(): number {
    return this.splitter.stats.garbageBytes;
  }

  push(chunk: Buffer): AccessUnit[] {
    this.out = [];
    this.splitter.push(chunk, this.sink);
    return this.out;
  }

  /** End of stream: the last access unit is complete. */
  end(): AccessUnit[] {
    this.out = [];
    this.splitter.end(this.sink);
    this.close();
    return this.out;
  }

  reset(): void {
    this.splitter.reset();
    this.clearAu();
  }

  private nalBegins(head: Buffer): number {
    const type = nalType(head);
    this.unitType = type;
    this.unitHead = head;
    this.unitMalformed = head.length === 0 || forbiddenBitSet(head);
    if (this.unitMalformed) return 0;
    // The previous access unit is complete now: hand it on (and stop holding it) before this one grows.
    if (this.startsNewAu(type, head)) this.close();
    if (this.dropping || this.count >= this.maxNalUnits) return 0;
    return Math.max(0, this.maxAccessUnitBytes - this.auBytes - START_CODE.length);
  }

  private nalEnds(parts: Buffer[] | null, size: number): void {
    if (this.unitMalformed) {
      this.stats.malformed++;
      this.onError?.(new FramewireError('E_MALFORMED', `NAL unit with forbidden_zero_bit set (${size} bytes) dropped`));
      return;
    }
    this.count++;
    if (isVcl(this.unitType) && !this.hasVcl) {
      this.hasVcl = true;
      this.vclIdr = this.unitType === NalType.IDR;
      this.vclRefZero = nalRefIdc(this.unitHead) === 0;
    }
    if (this.unitType === NalType.IDR) this.keyframe = true;
    if (this.dropping) return;
    const tooMany = this.count > this.maxNalUnits;
    if (parts === null || tooMany) {
      this.dropping = true;
      this.stats.oversize++;
      this.nals = [];
      this.nalSizes = [];
      this.auBytes = 0;
      const why = tooMany ? `more than ${this.maxNalUnits} NAL units` : `larger than ${this.maxAccessUnitBytes} bytes`;
      this.onError?.(new FramewireError('E_TOO_LARGE', `H.264 access unit ${why}: dropped`));
      return;
    }
    this.nals.push(parts);
    this.nalSizes.push(size);
    this.auBytes += START_CODE.length + size;
  }

  /** §7.4.1.2.3 / §7.4.1.2.4 as described at the top of this file. */
  private startsNewAu(type: number, head: Buffer): boolean {
    if (this.count === 0) return false;
    switch (type) {
      case NalType.AUD:
        return true;
      case NalType.SEI:
      case NalType.SPS:
      case NalType.PPS:
      case 14:
      case 15:
      case 16:
      case 17:
      case 18:
        return this.hasVcl;
      case NalType.SLICE:
      case NalType.PARTITION_A:
      case NalType.IDR: {
        if (!this.hasVcl) return false;
        if ((type === NalType.IDR) !== this.vclIdr) return true;
        if ((nalRefIdc(head) === 0) !== this.vclRefZero) return true;
        // first_mb_in_slice is ue(v): 0 is the single bit 1. A slice without payload counts as a new picture.
        return head.length < 2 || (head[1]! & 0x80) !== 0;
      }
      default:
        return false;
    }
  }

  private close(): void {
    if (this.count > 0 && !this.dropping) {
      if (this.hasVcl) this.emit();
      else this.stats.withoutPicture++;
    }
    this.clearAu();
  }

  /** Copy the pieces once behind start codes. An AUD is always first here: it starts a new access unit. */
  private emit(): void {
    const data = Buffer.allocUnsafe(this.auBytes);
    const nals: Buffer[] = [];
    let at = 0;
    for (const pieces of this.nals) {
      data.set(START_CODE, at);
      at += START_CODE.length;
      const begin = at;
      for (const p of pieces) {
        p.copy(data, at);
        at += p.length;
      }
      nals.push(data.subarray(begin, at));
    }
    this.stats.accessUnits++;
    if (this.keyframe) this.stats.keyframes++;
    this.out.push({ data, nals, keyframe: this.keyframe });
  }

  private clearAu(): void {
    this.nals = [];
    this.nalSizes = [];
    this.auBytes = 0;
    this.count = 0;
    this.hasVcl = false;
    this.vclIdr = false;
    this.vclRefZero = false;
    this.keyframe = false;
    this.dropping = false;
  }
}
