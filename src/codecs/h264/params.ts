/**
 * The latest SPS and PPS of a stream, and access units made self-contained with them.
 *
 * A decoder can start only at a keyframe that it has the SPS and PPS for. Encoders send them with the first
 * keyframe, or out of band (FLV/MP4 decoder configuration), and many hardware encoders and cameras never
 * repeat them; a viewer joining later would then wait forever. prepare() puts the cached ones in front of
 * every keyframe that lacks the ones its slices use, so every keyframe handed on starts a decoder.
 *
 * Bounded by the standard: at most 32 SPS (ids 0..31) and 256 PPS (ids 0..255) are held, each a copy of
 * at most maxParameterSetBytes.
 */
import { FramewireError } from '../../errors.js';
import { accessUnitFromNals, type AccessUnit } from './annexb.js';
import { isVcl, NalType, nalType } from './nal.js';
import { parsePpsIds, parseSps, sliceFrameNum, slicePpsId, type Sps } from './sps.js';

/** Real parameter sets are tens of bytes; a scaling-matrix SPS is a few hundred. */
export const MAX_PARAMETER_SET_BYTES = 4096;

export interface ParameterSetStats {
  /** Keyframes that got SPS and/or PPS put in front of them. */
  completed: number;
}

interface CachedPps {
  nal: Buffer;
  spsId: number;
}

export class ParameterSetCache {
  readonly stats: ParameterSetStats = { completed: 0 };
  private readonly spsById = new Map<number, { nal: Buffer; sps: Sps }>();
  private readonly ppsById = new Map<number, CachedPps>();
  private current: Sps | null = null;

  /** The SPS the last keyframe used (or the last one seen, before any keyframe). */
  get sps(): Sps | null {
    return this.current;
  }

  /** `avc1.PPCCLL` of the current SPS. */
  get codec(): string | null {
    return this.current?.codec ?? null;
  }

  /**
   * Learn an SPS or PPS (other NAL units are ignored; null). Throws E_MALFORMED for one that does not parse
   * or is larger than MAX_PARAMETER_SET_BYTES; the cache is then unchanged. Returns a key naming it (`s0`, `p0`).
   */
  add(nal: Uint8Array): string | null {
    const type = nalType(nal);
    if (type !== NalType.SPS && type !== NalType.PPS) return null;
    if (nal.length > MAX_PARAMETER_SET_BYTES) {
      throw new FramewireError('E_MALFORMED', `${type === NalType.SPS ? 'SPS' : 'PPS'} of ${nal.length} bytes (limit ${MAX_PARAMETER_SET_BYTES})`);
    }
    if (type === NalType.SPS) {
      const sps = parseSps(nal);
      this.spsById.set(sps.id, { nal: Buffer.from(nal), sps });
      this.current = sps;
      return `s${sps.id}`;
    }
    const { id, spsId } = parsePpsIds(nal);
    this.ppsById.set(id, { nal: Buffer.from(nal), spsId });
    return `p${id}`;
  }

  /**
   * Learn the parameter sets an access unit carries; for a keyframe, return it with the SPS and PPS its
   * slices refer to in front (after its AUD) when it lacks them, otherwise return it as it is.
   * Throws E_MALFORMED when a parameter set or slice header in it is corrupt, or when it is a keyframe whose
   * parameter sets were never seen (no decoder could start there).
   */
  prepare(au: AccessUnit): AccessUnit {
    const present = new Set<string>();
    for (const nal of au.nals) {
      const key = this.add(nal);
      if (key) present.add(key);
    }
    if (!au.keyframe) return au;

    const ppsIds = new Set<number>();
    for (const nal of au.nals) if (isVcl(nalType(nal))) ppsIds.add(slicePpsId(nal));
    const missingSps: Buffer[] = [];
    const missingPps: Buffer[] = [];
    let used: Sps | null = null;
    for (const ppsId of ppsIds) {
      const pps = this.ppsById.get(ppsId);
      if (!pps) throw new FramewireError('E_MALFORMED', `keyframe uses PPS ${ppsId}, which the stream has not sent`);
      const sps = this.spsById.get(pps.spsId);
      if (!sps) throw new FramewireError('E_MALFORMED', `keyframe uses SPS ${pps.spsId}, which the stream has not sent`);
      used = sps.sps;
      if (!present.has(`s${pps.spsId}`) && !missingSps.includes(sps.nal)) missingSps.push(sps.nal);
      if (!present.has(`p${ppsId}`)) missingPps.push(pps.nal);
    }
    if (used) this.current = used;
    if (missingSps.length === 0 && missingPps.length === 0) return au;

    // §7.4.1.2.3 order: AUD, then parameter sets, then SEI and slices. The unit's own SPS/PPS keep their place.
    const first = au.nals[0];
    const hasAud = first !== undefined && nalType(first) === NalType.AUD;
    const rest = hasAud ? au.nals.slice(1) : au.nals;
    const ownSps = rest.filter((n) => nalType(n) === NalType.SPS);
    const others = rest.filter((n) => nalType(n) !== NalType.SPS);
    const nals = [...(hasAud ? [first] : []), ...missingSps, ...ownSps, ...missingPps, ...others];
    this.stats.completed++;
    return accessUnitFromNals(nals);
  }

  /**
   * The frame_num of an access unit's first slice and the SPS it was read with; null when it has no slice.
   * Throws E_MALFORMED when the slice header is corrupt or names a PPS or SPS the stream has not sent.
   */
  frameNum(au: AccessUnit): { frameNum: number; sps: Sps } | null {
    const slice = au.nals.find((n) => isVcl(nalType(n)));
    if (!slice) return null;
    const ppsId = slicePpsId(slice);
    const pps = this.ppsById.get(ppsId);
    if (!pps) throw new FramewireError('E_MALFORMED', `slice uses PPS ${ppsId}, which the stream has not sent`);
    const sps = this.spsById.get(pps.spsId);
    if (!sps) throw new FramewireError('E_MALFORMED', `slice uses SPS ${pps.spsId}, which the stream has not sent`);
    return { frameNum: sliceFrameNum(slice, sps.sps), sps: sps.sps };
  }
}
