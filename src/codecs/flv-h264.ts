/**
 * H.264 out of an FLV stream (what `ffmpeg -c:v <h264 encoder> -f flv pipe:1` writes): the decoder
 * configuration's SPS/PPS, and one access unit per video tag in Annex-B form with its presentation time.
 *
 * FLV samples are length-prefixed NAL units; when an encoder gave the muxer no decoder configuration, ffmpeg
 * writes the encoder's Annex-B packets as they are, so samples are read as Annex B until a configuration
 * (which gives the length size) arrives. Guessing per sample is not safe: a 4-byte length of 256..511 begins
 * with 00 00 01.
 */
import { FramewireError } from '../errors.js';
import { accessUnitFromNals, splitAnnexB, type AccessUnit } from './h264/annexb.js';
import { parseAvcDecoderConfig, splitLengthPrefixed } from './h264/avcc.js';
import { AvcPacketType, FlvTagReader, FlvTagType, parseFlvAvcPacket, type FlvTag } from './flv.js';

export type FlvH264Event =
  | { kind: 'config'; sps: Buffer[]; pps: Buffer[] }
  | { kind: 'access-unit'; ptsMs: number; au: AccessUnit }
  /** tolerant: a tag that was bad or over the bound, passed over, in its place in the stream. */
  | { kind: 'dropped'; error: FramewireError };

export class FlvH264Reader {
  private readonly tags: FlvTagReader;
  private lengthSize = 0;

  private readonly tolerant: boolean;

  /**
   * maxAccessUnitBytes bounds each tag (its body holds one access unit). `tolerant`: a video tag whose content
   * is bad (a corrupt decoder configuration or sample, or marked encrypted) or over the bound becomes a 'dropped' event in its
   * place and reading goes on (a source's stream); otherwise push() throws (an encoder's output). A stream
   * that is not FLV always throws.
   */
  constructor(options: { maxAccessUnitBytes?: number; tolerant?: boolean } = {}) {
    this.tolerant = options.tolerant ?? false;
    this.tags = new FlvTagReader({
      ...(options.maxAccessUnitBytes === undefined ? {} : { maxTagBytes: options.maxAccessUnitBytes + 16 }),
      skipUnreadable: this.tolerant,
    });
  }

  get heldBytes(): number {
    return this.tags.heldBytes;
  }

  /** Throws FramewireError for output that is not FLV carrying H.264, or a tag over the bound. */
  push(chunk: Uint8Array): FlvH264Event[] {
    const out: FlvH264Event[] = [];
    for (const tag of this.tags.push(chunk)) {
      if (tag.type !== FlvTagType.VIDEO) continue;
      if (!this.tolerant) {
        this.readTag(tag, out);
        continue;
      }
      try {
        this.readTag(tag, out);
      } catch (e) {
        out.push({ kind: 'dropped', error: e instanceof FramewireError ? e : new FramewireError('E_MALFORMED', String(e)) });
      }
    }
    return out;
  }

  private readTag(tag: FlvTag, out: FlvH264Event[]): void {
    if (tag.encrypted) throw new FramewireError('E_UNSUPPORTED', 'encrypted FLV tag');
    if (tag.skippedBytes !== undefined) {
      throw new FramewireError('E_TOO_LARGE', `access unit of about ${tag.skippedBytes} bytes (limit ${this.tags.maxTagBytes - 16})`);
    }
    const pkt = parseFlvAvcPacket(tag.body);
    if (pkt.packetType === AvcPacketType.SEQUENCE_HEADER) {
      if (pkt.data.length === 0) return;
      const config = parseAvcDecoderConfig(pkt.data);
      this.lengthSize = config.lengthSize;
      out.push({ kind: 'config', sps: config.sps, pps: config.pps });
    } else if (pkt.packetType === AvcPacketType.NALU) {
      const nals = this.lengthSize === 0 ? splitAnnexB(pkt.data) : splitLengthPrefixed(pkt.data, this.lengthSize);
      if (nals.length === 0) throw new FramewireError('E_MALFORMED', 'FLV video tag without NAL units');
      const ptsMs = (tag.timestampMs + pkt.compositionTimeMs) >>> 0;
      out.push({ kind: 'access-unit', ptsMs, au: accessUnitFromNals(nals) });
    }
  }

  reset(): void {
    this.tags.reset();
    this.lengthSize = 0;
  }
}
