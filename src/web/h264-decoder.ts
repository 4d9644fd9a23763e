/**
 * H.264 in the browser (in the stream worker): each access unit (Annex-B, as it arrives in a FRAME) goes to a
 * WebCodecs VideoDecoder, and every picture to show is handed on. The decoder is configured from the first
 * keyframe's SPS (its avc1 codec string) without a `description`, which tells WebCodecs the chunks are Annex-B with
 * parameter sets in band. Catch-up frames (§4.2.1) are decoded, for the references they set up, but not
 * shown. A decode error resets the decoder, counts, and waits for the next keyframe, since every frame up
 * to it depends on what was lost.
 */
import { parseSps } from '../codecs/h264/sps.js';
import { NalType, nalType } from '../codecs/h264/nal.js';
import type { FrameMessage } from '../protocol/messages.js';
import { nowUs } from '../clock.js';
import type { DecodedPicture } from './decode-trace.js';
import type { Picture } from './jpeg-decoder.js';

/** Undecoded chunks allowed in the decoder before frames are skipped to the next keyframe (a decoder that cannot keep up). */
const MAX_DECODE_QUEUE = 60;

/** The SPS NAL unit of an Annex-B access unit (header byte included), or null. */
export function findSps(au: Uint8Array): Uint8Array | null {
  let start = -1;
  for (let i = 0; i + 2 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      if (start >= 0 && nalType(au.subarray(start, i)) === NalType.SPS) return trimZeros(au.subarray(start, i));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0 && start < au.length && nalType(au.subarray(start)) === NalType.SPS) return au.subarray(start);
  return null;
}

/** A 4-byte start code leaves its leading zero on the previous NAL unit. */
function trimZeros(nal: Uint8Array): Uint8Array {
  let end = nal.length;
  while (end > 1 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

export class H264Decoder {
  private decoder: VideoDecoder | null = null;
  private codec: string | null = null;
  /** Frames in the decoder, by seq (the chunk's and picture's timestamp): whether to show their picture. */
  private readonly pending = new Map<number, { frame: FrameMessage; show: boolean; receivedUs: number; decodeUs: number }>();
  private waitingForKeyframe = true;
  /** A decoder configured ahead (prepare()), not used yet: the next keyframe's decoder. */
  private spare: VideoDecoder | null = null;
  private spareCodec: string | null = null;
  /** Frames skipped to the next keyframe because the decoder was far behind. */
  dropped = 0;
  decodeErrors = 0;
  /** Frames that arrived while waiting for a keyframe (after a join before the first keyframe or an error). */
  skipped = 0;

  constructor(
    /** A picture to show; the receiver closes it. */
    private readonly onPicture: (p: Picture<VideoFrame>) => void,
    /** Every picture out of the decoder, shown or not (catch-up); for the benchmarks' trace. */
    private readonly onDecoded: ((d: Omit<DecodedPicture, 'offsetUs'>) => void) | null = null,
  ) {}

  offer(frame: FrameMessage, receivedUs: number): void {
    if (frame.keyframe && this.needsConfigure(frame.payload)) this.configure(frame.payload);
    const d = this.decoder;
    if (!d || d.state !== 'configured' || (this.waitingForKeyframe && !frame.keyframe)) {
      this.skipped++;
      return;
    }
    if (d.decodeQueueSize > MAX_DECODE_QUEUE && !frame.keyframe) {
      // Far behind (a throttled tab): skipping to the next keyframe keeps the picture whole and current.
      this.dropped++;
      this.waitingForKeyframe = true;
      return;
    }
    this.waitingForKeyframe = false;
    this.pending.set(frame.seq, { frame, receivedUs, show: frame.catchUp !== true, decodeUs: this.onDecoded ? nowUs() : 0 });
    try {
      d.decode(
        new EncodedVideoChunk({ type: frame.keyframe ? 'key' : 'delta', timestamp: frame.seq, data: frame.payload as Uint8Array<ArrayBuffer> }),
      );
    } catch {
      this.fail();
    }
  }

  /** A new profile (renegotiation): its stream starts at a keyframe of its own. */
  clear(): void {
    this.reset();
  }

  /**
   * Set a decoder up ahead of the first keyframe (configured for `codec`, then reconfigured for the stream's
   * own SPS), so that the decoder's start overlaps the connection instead of delaying a join's first picture.
   */
  prepare(codec: string): void {
    this.spareCodec = codec;
    this.spare ??= this.newDecoder({ codec, optimizeForLatency: true });
  }

  close(): void {
    this.spareCodec = null;
    this.reset();
  }

  private needsConfigure(au: Uint8Array): boolean {
    const sps = findSps(au);
    if (!sps) return false;
    try {
      const codec = parseSps(sps).codec;
      return codec !== this.codec || !this.decoder || this.decoder.state !== 'configured';
    } catch {
      return false;
    }
  }

  private configure(au: Uint8Array): void {
    const sps = findSps(au)!;
    const parsed = parseSps(sps);
    this.reset();
    // No description: Annex-B chunks, SPS/PPS in band (WebCodecs AVC registration §3).
    const config: VideoDecoderConfig = { codec: parsed.codec, codedWidth: parsed.width, codedHeight: parsed.height, optimizeForLatency: true };
    const spare = this.spare;
    this.spare = null;
    let decoder: VideoDecoder;
    if (spare?.state === 'configured') {
      spare.configure(config);
      decoder = spare;
    } else {
      spare?.close();
      decoder = this.newDecoder(config);
    }
    this.decoder = decoder;
    this.codec = parsed.codec;
    this.waitingForKeyframe = true;
  }

  private newDecoder(config: VideoDecoderConfig): VideoDecoder {
    const decoder = new VideoDecoder({
      output: (f) => this.output(decoder, f),
      error: () => {
        if (this.decoder === decoder) this.fail();
        else if (this.spare === decoder) this.spare = null;
      },
    });
    decoder.configure(config);
    return decoder;
  }

  private output(decoder: VideoDecoder, f: VideoFrame): void {
    const entry = this.pending.get(f.timestamp);
    // Without B-frames pictures come out in decode order: anything older will not come out any more.
    for (const seq of this.pending.keys()) {
      if (seq > f.timestamp) break;
      this.pending.delete(seq);
    }
    if (this.onDecoded && entry && this.decoder === decoder) {
      const fr = entry.frame;
      this.onDecoded({ seq: fr.seq, captureUs: fr.captureUs, keyframe: fr.keyframe === true, catchUp: fr.catchUp === true, receivedUs: entry.receivedUs, decodeUs: entry.decodeUs, outputUs: nowUs() });
    }
    if (this.decoder !== decoder || !entry || !entry.show) {
      f.close();
      return;
    }
    this.onPicture({ image: f, captureUs: entry.frame.captureUs });
  }

  private fail(): void {
    this.decodeErrors++;
    // The next keyframe carries SPS and PPS again and configures a fresh decoder.
    this.reset();
  }

  private reset(): void {
    const d = this.decoder;
    this.decoder = null;
    this.codec = null;
    this.pending.clear();
    this.waitingForKeyframe = true;
    if (d && d.state !== 'closed') d.close();
    if (this.spareCodec === null) {
      this.spare?.close();
      this.spare = null;
    } else this.prepare(this.spareCodec);
  }
}
