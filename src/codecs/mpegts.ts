/**
 * MPEG transport stream (ISO/IEC 13818-1) of one H.264 video stream: what ffplay, VLC, mpv and ffprobe open
 * over HTTP with nothing in advance. A PAT and PMT go before every keyframe, so a reader can join at any of
 * them; each access unit is one PES packet with its PTS (= DTS: the encoder makes no B-frames) from the
 * capture time, on a 90 kHz clock, and the keyframe's packet carries the PCR.
 *
 * One muxer per reader: the continuity counters must run without gaps in what that reader receives, and a
 * slow reader skips access units that another one gets.
 */

const PACKET = 188;
const PAT_PID = 0x0000;
const PMT_PID = 0x1000;
export const TS_VIDEO_PID = 0x0100;
const STREAM_TYPE_H264 = 0x1b;
/** The PCR runs this far behind the PTS: the decoder's buffering allowance (100 ms). */
const PCR_LEAD_90K = 9000;
const PTS_MASK = 2 ** 33;
/** An access unit delimiter, which MPEG-TS H.264 (2.14 of the standard) wants at the start of each PES. */
const AUD = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The CRC-32 of MPEG-2 sections (no reflection, initial 0xffffffff, no final xor). */
export function crc32Mpeg(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}

function hasAud(au: Uint8Array): boolean {
  // The first NAL unit, after a 3- or 4-byte start code.
  const at = au[2] === 1 ? 3 : 4;
  return au.length > at && (au[at]! & 0x1f) === 9;
}

export class TsMuxer {
  private readonly cc = new Map<number, number>();

  /** One access unit (Annex-B) at `captureUs` as whole 188-byte packets, PAT and PMT first when it is a keyframe. */
  accessUnit(au: Uint8Array, captureUs: number, keyframe: boolean): Buffer {
    const pts = Math.floor((captureUs * 9) / 100) % PTS_MASK;
    const parts: Buffer[] = [];
    if (keyframe) parts.push(this.section(PAT_PID, this.pat()), this.section(PMT_PID, this.pmt()));
    const header = Buffer.alloc(14);
    header.writeUIntBE(0x000001, 0, 3);
    header[3] = 0xe0;
    // PES length 0: unbounded, allowed for video only, and what lets an access unit exceed 64 KiB.
    header.writeUInt16BE(0, 4);
    header[6] = 0x80;
    header[7] = 0x80; // PTS only
    header[8] = 5;
    writeTimestamp(header, 9, 0x2, pts);
    const payload = hasAud(au) ? Buffer.concat([header, au]) : Buffer.concat([header, AUD, au]);
    const pcr = keyframe ? (pts - PCR_LEAD_90K + PTS_MASK) % PTS_MASK : null;
    parts.push(this.packetize(TS_VIDEO_PID, payload, pcr, keyframe));
    return Buffer.concat(parts);
  }

  private pat(): Buffer {
    const s = Buffer.alloc(12);
    s[0] = 0x00; // table id
    s.writeUInt16BE(0xb000 | 13, 1); // section syntax, length (up to and with the CRC)
    s.writeUInt16BE(1, 3); // transport stream id
    s[5] = 0xc1; // version 0, current
    s[6] = 0;
    s[7] = 0;
    s.writeUInt16BE(1, 8); // program 1
    s.writeUInt16BE(0xe000 | PMT_PID, 10);
    return withCrc(s);
  }

  private pmt(): Buffer {
    const s = Buffer.alloc(17);
    s[0] = 0x02;
    s.writeUInt16BE(0xb000 | 18, 1);
    s.writeUInt16BE(1, 3); // program number
    s[5] = 0xc1;
    s[6] = 0;
    s[7] = 0;
    s.writeUInt16BE(0xe000 | TS_VIDEO_PID, 8); // PCR PID
    s.writeUInt16BE(0xf000, 10); // no program info
    s[12] = STREAM_TYPE_H264;
    s.writeUInt16BE(0xe000 | TS_VIDEO_PID, 13);
    s.writeUInt16BE(0xf000, 15); // no ES info
    return withCrc(s);
  }

  private section(pid: number, section: Buffer): Buffer {
    // pointer_field 0, then the section; one packet is plenty for these.
    return this.packetize(pid, Buffer.concat([Buffer.of(0), section]), null, false, 0xff);
  }

  private nextCc(pid: number): number {
    const c = this.cc.get(pid) ?? 0;
    this.cc.set(pid, (c + 1) & 0x0f);
    return c;
  }

  /** Payload in packets; the last is padded with adaptation-field stuffing (or 0xff after a section). */
  private packetize(pid: number, payload: Buffer, pcr: number | null, randomAccess: boolean, sectionFill?: number): Buffer {
    const count = Math.max(1, Math.ceil((payload.length + (pcr !== null ? 8 : 0)) / 184) + 1);
    const out = Buffer.alloc(count * PACKET);
    let off = 0;
    let n = 0;
    while (off < payload.length) {
      const p = out.subarray(n * PACKET, (n + 1) * PACKET);
      const first = off === 0;
      p[0] = 0x47;
      p.writeUInt16BE((first ? 0x4000 : 0) | pid, 1);
      let afLen = -1; // no adaptation field
      let af: Buffer | null = null;
      if (first && (pcr !== null || randomAccess) && sectionFill === undefined) {
        af = Buffer.alloc(pcr !== null ? 7 : 1);
        af[0] = (randomAccess ? 0x40 : 0) | (pcr !== null ? 0x10 : 0);
        if (pcr !== null) {
          // PCR base (33 bits), 6 reserved bits, extension 0.
          af.writeUInt32BE(Math.floor(pcr / 2), 1);
          af[5] = ((pcr & 1) << 7) | 0x7e;
          af[6] = 0;
        }
        afLen = af.length;
      }
      let room = 184 - (afLen >= 0 ? afLen + 1 : 0);
      const left = payload.length - off;
      if (left < room && sectionFill === undefined) {
        // Stuff the adaptation field so the payload ends the packet exactly.
        const stuff = room - left;
        if (afLen < 0) {
          afLen = stuff - 1;
          af = Buffer.alloc(Math.max(0, afLen));
          if (afLen > 0) af[0] = 0x00;
          if (afLen > 1) af.fill(0xff, 1);
        } else {
          af = Buffer.concat([af!, Buffer.alloc(stuff, 0xff)]);
          afLen = af.length;
        }
        room = left;
      }
      const cc = this.nextCc(pid);
      p[3] = (afLen >= 0 ? 0x30 : 0x10) | cc;
      let at = 4;
      if (afLen >= 0) {
        p[at++] = afLen;
        af!.copy(p, at);
        at += afLen;
      }
      const take = Math.min(room, left);
      payload.copy(p, at, off, off + take);
      at += take;
      if (sectionFill !== undefined) p.fill(sectionFill, at);
      off += take;
      n++;
    }
    return out.subarray(0, n * PACKET);
  }
}

function withCrc(section: Buffer): Buffer {
  const out = Buffer.alloc(section.length + 4);
  section.copy(out);
  out.writeUInt32BE(crc32Mpeg(section), section.length);
  return out;
}

function writeTimestamp(b: Buffer, at: number, prefix: number, ts: number): void {
  const hi = Math.floor(ts / 2 ** 30) & 0x7;
  const mid = Math.floor(ts / 2 ** 15) & 0x7fff;
  const lo = ts & 0x7fff;
  b[at] = (prefix << 4) | (hi << 1) | 1;
  b.writeUInt16BE((mid << 1) | 1, at + 1);
  b.writeUInt16BE((lo << 1) | 1, at + 3);
}
