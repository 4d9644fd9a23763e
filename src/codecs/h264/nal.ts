/**
 * NAL unit vocabulary of H.264 (ITU-T H.264 §7.3.1, Table 7-1). A NAL unit here is its bytes without the
 * Annex-B start code: the one-byte header (forbidden_zero_bit, nal_ref_idc, nal_unit_type) and its payload,
 * emulation-prevention bytes included.
 */

export const NalType = {
  /** Coded slice of a non-IDR picture. */
  SLICE: 1,
  /** Coded slice data partition A (carries the slice header). */
  PARTITION_A: 2,
  PARTITION_B: 3,
  PARTITION_C: 4,
  /** Coded slice of an IDR picture: decoding can start here. */
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  /** Access unit delimiter. */
  AUD: 9,
  END_OF_SEQUENCE: 10,
  END_OF_STREAM: 11,
  FILLER: 12,
} as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** nal_ref_idc: 0 means no other picture refers to this one. */
export function nalRefIdc(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 5) & 0x03;
}

/** forbidden_zero_bit must be 0 (§7.4.1); a 1 means the unit is corrupt. */
export function forbiddenBitSet(nal: Uint8Array): boolean {
  return ((nal[0] ?? 0) & 0x80) !== 0;
}

/** Slices of the primary coded picture (the NAL units that make an access unit decodable). */
export function isVcl(type: number): boolean {
  return type >= NalType.SLICE && type <= NalType.IDR;
}

/** The 4-byte Annex-B start code every access unit built here puts in front of each NAL unit. */
export const START_CODE = Uint8Array.of(0, 0, 0, 1);
