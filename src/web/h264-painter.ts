/**
 * H.264 in the browser: each access unit (Annex-B, as it arrives in a FRAME) goes to a WebCodecs
 * VideoDecoder; the newest decoded picture is painted. The decoder is configured from the first keyframe's
 * SPS (its avc1 codec string) without a `description`, which tells WebCodecs the chunks are Annex-B with
 * parameter sets in band. Catch-up frames (§4.2.1) are decoded, for the references they set up, but not
 * painted. A decode error resets the decoder, counts, and waits for the next keyframe, since every frame up
 * to it depends on what was lost.
 */
import { parseSps } from '../codecs/h264/sps.js';
import { NalType, nalType } from '../codecs/h264/nal.js';
import type { FrameMessage } from '../protocol/messages.js';
import { nowUs } from '../clock.js';
import type { DecodedPicture } from './decode-trace.js';
import type { PaintedFrame } from './frame-painter.js';

/** Undecoded chunks allowed in the decoder before frames are skipped to the next keyframe (a stalled tab). */
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

export class H264Painter {
  private decoder: VideoDecoder | null = null;
  private codec: string | null = null;
  /** Frames in the decoder, by seq (the chunk's and picture's timestamp): whether to paint their picture. */
  private readonly pending = new Map<number, { p: PaintedFrame; show: boolean; decodeUs: number }>();
  private waitingForKeyframe = true;
  /** The newest decoded picture not yet drawn; older ones are closed unseen (newest wins). */
  private newest: { frame: VideoFrame; p: PaintedFrame } | null = null;
  private rafPending = false;
  painted = 0;
  dropped = 0;
  decodeErrors = 0;
  /** Frames that arrived while waiting for a keyframe (after a join before the first keyframe or an error). */
  skipped = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly ctx2d: CanvasRenderingContext2D,
    private readonly onPainted: (p: PaintedFrame) => void,
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
    this.pending.set(frame.seq, { p: { frame, receivedUs }, show: frame.catchUp !== true, decodeUs: this.onDecoded ? nowUs() : 0 });
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

  close(): void {
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
    const decoder = new VideoDecoder({
      output: (f) => this.output(decoder, f),
      error: () => {
        if (this.decoder === decoder) this.fail();
      },
    });
    // No description: Annex-B chunks, SPS/PPS in band (WebCodecs AVC registration §3).
    decoder.configure({ codec: parsed.codec, codedWidth: parsed.width, codedHeight: parsed.height, optimizeForLatency: true });
    this.decoder = decoder;
    this.codec = parsed.codec;
    this.waitingForKeyframe = true;
  }

  private output(decoder: VideoDecoder, f: VideoFrame): void {
    const entry = this.pending.get(f.timestamp);
    // Without B-frames pictures come out in decode order: anything older will not come out any more.
    for (const seq of this.pending.keys()) {
      if (seq > f.timestamp) break;
      this.pending.delete(seq);
    }
    if (this.onDecoded && entry && this.decoder === decoder) {
      const fr = entry.p.frame;
      this.onDecoded({ seq: fr.seq, captureUs: fr.captureUs, keyframe: fr.keyframe === true, catchUp: fr.catchUp === true, receivedUs: entry.p.receivedUs, decodeUs: entry.decodeUs, outputUs: nowUs() });
    }
    if (this.decoder !== decoder || !entry || !entry.show) {
      f.close();
      return;
    }
    if (this.newest) {
      this.newest.frame.close();
      this.dropped++;
    }
    this.newest = { frame: f, p: entry.p };
    if (!this.rafPending) {
      this.rafPending = true;
      // Paint once per display refresh; a hidden tab paints nothing and keeps only the newest picture.
      requestAnimationFrame(() => this.paint());
    }
  }

  private paint(): void {
    this.rafPending = false;
    const n = this.newest;
    if (!n) return;
    this.newest = null;
    this.ctx2d.drawImage(n.frame, 0, 0, this.canvas.width, this.canvas.height);
    n.frame.close();
    this.painted++;
    this.onPainted(n.p);
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
    if (this.newest) {
      this.newest.frame.close();
      this.newest = null;
    }
    if (d && d.state !== 'closed') d.close();
  }
}
