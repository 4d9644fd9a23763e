/**
 * The length-prefixed form of H.264 that FLV and MP4 carry (ISO/IEC 14496-15 §5.3): each NAL unit behind a
 * 1-, 2- or 4-byte big-endian length instead of a start code, and the SPS/PPS in a separate
 * AVCDecoderConfigurationRecord. Both readers check every length against what is there: E_MALFORMED, never
 * a read past the end.
 */
import { FramewireError } from '../../errors.js';

export interface AvcDecoderConfig {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  /** Bytes of each NAL unit length in the samples: 1, 2 or 4. */
  lengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
}

/** AVCDecoderConfigurationRecord (14496-15 §5.3.3.1); the SPS/PPS returned are views into `buf`. */
export function parseAvcDecoderConfig(buf: Buffer): AvcDecoderConfig {
  const bad = (why: string): FramewireError => new FramewireError('E_MALFORMED', `AVC decoder configuration: ${why}`);
  if (buf.length < 7) throw bad(`${buf.length} bytes, need at least 7`);
  if (buf[0] !== 1) throw bad(`configurationVersion ${buf[0]}, expected 1`);
  const lengthSize = (buf[4]! & 0x03) + 1;
  if (lengthSize === 3) throw bad('NAL length size 3 is not allowed');
  let at = 5;
  const readSets = (count: number, what: string): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (at + 2 > buf.length) throw bad(`${what} ${i} length past the end`);
      const len = buf.readUInt16BE(at);
      at += 2;
      if (len === 0 || at + len > buf.length) throw bad(`${what} ${i} of ${len} bytes does not fit`);
      out.push(buf.subarray(at, at + len));
      at += len;
    }
    return out;
  };
  const sps = readSets(buf[at++]! & 0x1f, 'SPS');
  if (at >= buf.length) throw bad('PPS count missing');
  const pps = readSets(buf[at++]!, 'PPS');
  // High-profile records carry chroma format and bit depth after this; the SPS says the same, so they are not read.
  return { profileIdc: buf[1]!, constraintFlags: buf[2]!, levelIdc: buf[3]!, lengthSize, sps, pps };
}

/** Split length-prefixed NAL units (views into `buf`). */
export function splitLengthPrefixed(buf: Buffer, lengthSize: number): Buffer[] {
  if (lengthSize !== 1 && lengthSize !== 2 && lengthSize !== 4) throw new FramewireError('E_MALFORMED', `NAL length size ${lengthSize}`);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + lengthSize > buf.length) throw new FramewireError('E_MALFORMED', `NAL unit length cut off at byte ${at} of ${buf.length}`);
    const len = buf.readUIntBE(at, lengthSize);
    at += lengthSize;
    if (at + len > buf.length) throw new FramewireError('E_MALFORMED', `NAL unit of ${len} bytes at byte ${at} overruns the ${buf.length}-byte sample`);
    if (len > 0) out.push(buf.subarray(at, at + len));
    at += len;
  }
  return out;
}
