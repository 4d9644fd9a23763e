/**
 * Sequence and picture parameter sets (H.264 §7.3.2.1.1, §7.3.2.2), read as far as a viewer needs: the
 * picture size after cropping, profile and level, and the codec string WebCodecs and MSE take
 * (`avc1.PPCCLL`, RFC 6381 §3.3). Every field read is range-checked against §7.4.2: a corrupt parameter set
 * is E_MALFORMED, never a wrong size.
 */
import { FramewireError } from '../../errors.js';
import { RbspReader } from './bit-reader.js';
import { NalType, nalType } from './nal.js';

export interface Sps {
  id: number;
  profileIdc: number;
  /** constraint_set0..5 flags and the two reserved bits, as the byte between profile and level. */
  constraintFlags: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  log2MaxFrameNum: number;
  picOrderCntType: number;
  separateColourPlane: boolean;
  /** gaps_in_frame_num_value_allowed_flag: a jump in frame_num is then no sign of a lost picture. */
  gapsInFrameNumAllowed: boolean;
  frameMbsOnly: boolean;
  /** Coded size, whole macroblocks. */
  codedWidth: number;
  codedHeight: number;
  /** Displayed size: coded size minus the frame cropping. */
  width: number;
  height: number;
  /** `avc1.PPCCLL` */
  codec: string;
}

/** profile_idc values whose SPS carries chroma format, bit depth and scaling matrices (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Above level 6.2's 139 264 macroblocks a frame (§A.3, Table A-1) nothing real exists; refuse rather than compute. */
const MAX_MBS = 139_264;

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export function codecString(profileIdc: number, constraintFlags: number, levelIdc: number): string {
  return `avc1.${hex2(profileIdc)}${hex2(constraintFlags)}${hex2(levelIdc)}`;
}

function skipScalingList(r: RbspReader, size: number): void {
  // §7.3.2.1.1.1: delta-coded; a next scale of 0 means "use the default list" and ends the deltas.
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = r.seIn('delta_scale', -128, 127);
      next = (last + delta + 256) % 256;
    }
    last = next === 0 ? last : next;
  }
}

/** Parse an SPS NAL unit (header byte included, start code not). */
export function parseSps(nal: Uint8Array): Sps {
  if (nal.length < 4 || nalType(nal) !== NalType.SPS) throw new FramewireError('E_MALFORMED', 'not an SPS NAL unit');
  const r = new RbspReader(nal, 1, 'SPS');
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  const id = r.ueIn('seq_parameter_set_id', 0, 31);
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ueIn('chroma_format_idc', 0, 3);
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    bitDepthLuma = 8 + r.ueIn('bit_depth_luma_minus8', 0, 6);
    bitDepthChroma = 8 + r.ueIn('bit_depth_chroma_minus8', 0, 6);
    r.flag(); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      // seq_scaling_matrix_present_flag
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  const log2MaxFrameNum = 4 + r.ueIn('log2_max_frame_num_minus4', 0, 12);
  const picOrderCntType = r.ueIn('pic_order_cnt_type', 0, 2);
  if (picOrderCntType === 0) {
    r.ueIn('log2_max_pic_order_cnt_lsb_minus4', 0, 12);
  } else if (picOrderCntType === 1) {
    r.flag(); // delta_pic_order_always_zero_flag
    r.seIn('offset_for_non_ref_pic', -(2 ** 31) + 1, 2 ** 31 - 1);
    r.seIn('offset_for_top_to_bottom_field', -(2 ** 31) + 1, 2 ** 31 - 1);
    const cycle = r.ueIn('num_ref_frames_in_pic_order_cnt_cycle', 0, 255);
    for (let i = 0; i < cycle; i++) r.seIn('offset_for_ref_frame', -(2 ** 31) + 1, 2 ** 31 - 1);
  }
  r.ueIn('max_num_ref_frames', 0, 16);
  const gapsInFrameNumAllowed = r.flag();
  const widthMbs = 1 + r.ueIn('pic_width_in_mbs_minus1', 0, MAX_MBS - 1);
  const heightMapUnits = 1 + r.ueIn('pic_height_in_map_units_minus1', 0, MAX_MBS - 1);
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.flag(); // mb_adaptive_frame_field_flag
  r.flag(); // direct_8x8_inference_flag
  const heightMbs = (frameMbsOnly ? 1 : 2) * heightMapUnits;
  if (widthMbs * heightMbs > MAX_MBS) {
    throw new FramewireError('E_MALFORMED', `SPS: ${widthMbs}x${heightMbs} macroblocks is larger than any H.264 level allows`);
  }
  const codedWidth = widthMbs * 16;
  const codedHeight = heightMbs * 16;
  let width = codedWidth;
  let height = codedHeight;
  if (r.flag()) {
    // frame_cropping_flag: offsets in chroma sample units (§7.4.2.1.1, equations 7-19..7-22).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 3 ? 1 : 2;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
    const left = r.ueIn('frame_crop_left_offset', 0, codedWidth);
    const right = r.ueIn('frame_crop_right_offset', 0, codedWidth);
    const top = r.ueIn('frame_crop_top_offset', 0, codedHeight);
    const bottom = r.ueIn('frame_crop_bottom_offset', 0, codedHeight);
    width = codedWidth - cropUnitX * (left + right);
    height = codedHeight - cropUnitY * (top + bottom);
    if (width < 1 || height < 1) {
      throw new FramewireError('E_MALFORMED', `SPS: cropping leaves ${width}x${height} of a ${codedWidth}x${codedHeight} picture`);
    }
  }
  r.flag(); // vui_parameters_present_flag: timing and colour are not needed here
  return {
    id,
    profileIdc,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    log2MaxFrameNum,
    picOrderCntType,
    separateColourPlane,
    gapsInFrameNumAllowed,
    frameMbsOnly,
    codedWidth,
    codedHeight,
    width,
    height,
    codec: codecString(profileIdc, constraintFlags, levelIdc),
  };
}

/** pic_parameter_set_id and the SPS it refers to (the first two fields of a PPS). */
export function parsePpsIds(nal: Uint8Array): { id: number; spsId: number } {
  if (nal.length < 2 || nalType(nal) !== NalType.PPS) throw new FramewireError('E_MALFORMED', 'not a PPS NAL unit');
  const r = new RbspReader(nal, 1, 'PPS');
  const id = r.ueIn('pic_parameter_set_id', 0, 255);
  const spsId = r.ueIn('seq_parameter_set_id', 0, 31);
  return { id, spsId };
}

/** The PPS a slice uses: the third field of its header (§7.3.3), after first_mb_in_slice and slice_type. */
export function slicePpsId(nal: Uint8Array): number {
  const r = new RbspReader(nal, 1, 'slice header');
  r.ueIn('first_mb_in_slice', 0, MAX_MBS - 1);
  r.ueIn('slice_type', 0, 9);
  return r.ueIn('pic_parameter_set_id', 0, 255);
}

/** A slice's frame_num (§7.3.3), read with the SPS its PPS names. */
export function sliceFrameNum(nal: Uint8Array, sps: Sps): number {
  const r = new RbspReader(nal, 1, 'slice header');
  r.ueIn('first_mb_in_slice', 0, MAX_MBS - 1);
  r.ueIn('slice_type', 0, 9);
  r.ueIn('pic_parameter_set_id', 0, 255);
  if (sps.separateColourPlane) r.bits(2); // colour_plane_id
  return r.bits(sps.log2MaxFrameNum);
}
