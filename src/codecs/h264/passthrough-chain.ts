/**
 * A source's own H.264 (ffmpeg `-c:v copy -f flv`), made safe to forward untouched: access units bounded,
 * keyframes completed with the SPS/PPS they use, and the reference chain kept whole.
 *
 * A viewer must never get a picture whose reference it lacks. So after anything this drops (a tag over the
 * bound, a NAL unit with forbidden_zero_bit set, too many NAL units, a corrupt parameter set or slice header,
 * a keyframe whose parameter sets never came) and after a gap in frame_num (§7.4.3: a reference picture the
 * demuxer lost or discarded as corrupt before it reached us), nothing is passed on until the next keyframe,
 * which is marked `restart`. The first access unit passed on is always a keyframe.
 */
import { FramewireError } from '../../errors.js';
import { FlvH264Reader } from '../flv-h264.js';
import { DEFAULT_MAX_ACCESS_UNIT_BYTES, DEFAULT_MAX_NAL_UNITS, type AccessUnit } from './annexb.js';
import { forbiddenBitSet, isVcl, nalRefIdc, nalType } from './nal.js';
import { ParameterSetCache } from './params.js';

export interface ChainUnit {
  readonly data: Buffer;
  readonly keyframe: boolean;
  /** First after a gap (or the first of all): a decoder starts here afresh. */
  readonly restart: boolean;
  /** The picture size its SPS gives (after cropping). */
  readonly width: number;
  readonly height: number;
}

export type ChainEvent = { kind: 'unit'; unit: ChainUnit } | { kind: 'dropped'; error: FramewireError } | { kind: 'gap'; detail: string };

export interface ChainStats {
  /** Access units passed on. */
  units: number;
  /** Access units dropped as corrupt or over a bound. */
  dropped: number;
  /** frame_num gaps seen (a reference picture lost before it reached us). */
  gaps: number;
  /** Access units not passed on while waiting for a keyframe. */
  skipped: number;
  /** Keyframes that got SPS/PPS put in front. */
  completed: number;
}

export interface ChainOptions {
  maxAccessUnitBytes?: number;
  maxNalUnits?: number;
  /** Count into this (e.g. totals that outlive one chain per ffmpeg run); default: the chain's own. */
  stats?: ChainStats;
}

export const zeroChainStats = (): ChainStats => ({ units: 0, dropped: 0, gaps: 0, skipped: 0, completed: 0 });

export class PassthroughChain {
  readonly stats: ChainStats;
  private readonly reader: FlvH264Reader;
  private readonly params = new ParameterSetCache();
  private readonly maxNalUnits: number;
  /** Waiting for a keyframe: at the start, and after a drop or a gap. */
  private waiting = true;
  /** frame_num of the last reference picture passed on (PrevRefFrameNum), null before one. */
  private prevRefFrameNum: number | null = null;

  constructor(options: ChainOptions = {}) {
    this.stats = options.stats ?? zeroChainStats();
    this.reader = new FlvH264Reader({ maxAccessUnitBytes: options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES, tolerant: true });
    this.maxNalUnits = options.maxNalUnits ?? DEFAULT_MAX_NAL_UNITS;
  }

  get heldBytes(): number {
    return this.reader.heldBytes;
  }

  /** The next bytes of the FLV stream. Throws only when it is not FLV at all (the producer is broken). */
  push(chunk: Uint8Array): ChainEvent[] {
    const out: ChainEvent[] = [];
    for (const ev of this.reader.push(chunk)) {
      if (ev.kind === 'dropped') this.drop(out, ev.error);
      else if (ev.kind === 'config') {
        try {
          for (const nal of [...ev.sps, ...ev.pps]) this.params.add(nal);
        } catch (e) {
          this.drop(out, e);
        }
      } else {
        this.accessUnit(out, ev.au);
      }
    }
    return out;
  }

  private drop(out: ChainEvent[], e: unknown): void {
    this.stats.dropped++;
    this.waiting = true;
    out.push({ kind: 'dropped', error: e instanceof FramewireError ? e : new FramewireError('E_MALFORMED', String(e)) });
  }

  private accessUnit(out: ChainEvent[], raw: AccessUnit): void {
    if (raw.nals.length > this.maxNalUnits) {
      this.drop(out, new FramewireError('E_TOO_LARGE', `access unit of ${raw.nals.length} NAL units (limit ${this.maxNalUnits})`));
      return;
    }
    if (raw.nals.some((n) => n.length === 0 || forbiddenBitSet(n))) {
      this.drop(out, new FramewireError('E_MALFORMED', 'access unit with a NAL unit whose forbidden_zero_bit is set'));
      return;
    }
    let au: AccessUnit;
    let frame: ReturnType<ParameterSetCache['frameNum']>;
    try {
      const completed = this.params.stats.completed;
      au = this.params.prepare(raw);
      frame = this.params.frameNum(au);
      if (this.params.stats.completed > completed) this.stats.completed++;
    } catch (e) {
      this.drop(out, e);
      return;
    }
    if (!frame) {
      // No slice: nothing to show and nothing to refer to (e.g. a lone SEI); it carries no picture to pass on.
      return;
    }
    const isRef = au.nals.some((n) => nalRefIdc(n) !== 0 && isVcl(nalType(n)));
    if (!au.keyframe && !this.waiting && this.prevRefFrameNum !== null && !frame.sps.gapsInFrameNumAllowed) {
      const max = 2 ** frame.sps.log2MaxFrameNum;
      const prev = this.prevRefFrameNum;
      if (frame.frameNum !== prev && frame.frameNum !== (prev + 1) % max) {
        this.stats.gaps++;
        this.waiting = true;
        out.push({ kind: 'gap', detail: `frame_num ${frame.frameNum} after ${prev}: a reference picture is missing` });
      }
    }
    if (this.waiting && !au.keyframe) {
      this.stats.skipped++;
      return;
    }
    const restart = this.waiting;
    this.waiting = false;
    if (isRef) this.prevRefFrameNum = frame.frameNum;
    this.stats.units++;
    // The size of the SPS this picture's slices use, not of the newest one seen (a new one may come mid-GOP).
    out.push({ kind: 'unit', unit: { data: au.data, keyframe: au.keyframe, restart, width: frame.sps.width, height: frame.sps.height } });
  }
}
