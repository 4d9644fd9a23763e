/**
 * Writing FLV for tests (Adobe Flash Video File Format v10.1, annex E): the file header, tags, and H.264
 * video tags holding a decoder configuration or length-prefixed NAL units, as ffmpeg's muxer writes them.
 */

export function flvHeader(): Buffer {
  return Buffer.from('464c5601010000000900000000', 'hex'); // "FLV", v1, video, header size 9, PreviousTagSize0
}

export function flvTag(type: number, timestampMs: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(11);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  h.writeUIntBE(timestampMs & 0xffffff, 4, 3);
  h[7] = (timestampMs >>> 24) & 0xff;
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + body.length);
  return Buffer.concat([h, body, prev]);
}

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1) for a Baseline-style SPS (no extension fields). */
export function avcConfig(sps: Buffer[], pps: Buffer[], lengthSize = 4): Buffer {
  const parts: Buffer[] = [Buffer.from([1, sps[0]![1]!, sps[0]![2]!, sps[0]![3]!, 0xfc | (lengthSize - 1), 0xe0 | sps.length])];
  for (const s of sps) parts.push(Buffer.from([s.length >> 8, s.length & 0xff]), s);
  parts.push(Buffer.from([pps.length]));
  for (const p of pps) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p);
  return Buffer.concat(parts);
}

export function lengthPrefixed(nals: readonly Uint8Array[], lengthSize = 4): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const l = Buffer.alloc(lengthSize);
      l.writeUIntBE(n.length, 0, lengthSize);
      return [l, n];
    }),
  );
}

/** An H.264 video tag (codec id 7): packet type 0 = decoder configuration, 1 = NAL units, 2 = end of sequence. */
export function videoTag(timestampMs: number, keyframe: boolean, packetType: number, data: Uint8Array, ctsMs = 0): Buffer {
  const head = Buffer.from([((keyframe ? 1 : 2) << 4) | 7, packetType, (ctsMs >> 16) & 0xff, (ctsMs >> 8) & 0xff, ctsMs & 0xff]);
  return flvTag(9, timestampMs, Buffer.concat([head, data]));
}
