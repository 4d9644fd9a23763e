import type { Profile } from './profile.js';

/** What the payload is coded as: a JPEG picture, or one H.264 access unit in Annex-B form (docs/h264.md). */
export type MediaCodec = 'jpeg' | 'h264';

/** How an H.264 access unit differs from a JPEG picture: its codec, and whether a decoder can start at it. */
export interface CodedAs {
  readonly codec: MediaCodec;
  /** An IDR picture (with its SPS/PPS): a decoder can start here. */
  readonly keyframe: boolean;
  /** Part of a joiner's catch-up burst, not its newest picture: decode, do not show (docs/protocol.md §4.2.1). */
  readonly catchUp?: boolean;
}

const JPEG: CodedAs = { codec: 'jpeg', keyframe: true };

/**
 * How one transport puts a frame on its wire (framewire/1 FRAME, the tutorial's header, an MJPEG part).
 * Defined once per transport, as a module-level constant: the frame caches what build() returns under it.
 */
export interface WireFormat {
  readonly name: string;
  build(frame: EncodedFrame): Uint8Array;
}

/**
 * One encoded frame of one profile, shared by every viewer on that profile: the payload and the facts about
 * it, nothing of any wire. Each transport's wire form is built on first use and cached here, so the hot
 * path (one frame to N viewers) is one write() of the same buffer per viewer. Joining header and payload
 * costs one payload copy per frame and transport; writing them separately (cork + two writes) costs more on
 * every viewer (measured: writev was 61 % of the event loop at 400 clients).
 */
export class EncodedFrame {
  readonly codec: MediaCodec;
  /** Decodable on its own. Always true for JPEG; for H.264 where a drop policy may resume (newest-frame-slot.ts). */
  readonly keyframe: boolean;
  readonly catchUp: boolean;
  private readonly wires = new Map<WireFormat, Uint8Array>();

  constructor(
    readonly seq: number,
    readonly captureUs: number,
    readonly profile: Profile,
    readonly payload: Buffer,
    /** When the encode finished, µs since the epoch (server clock). */
    readonly encodedUs: number,
    /** The no-signal picture, shown while the source is lost (pipeline/no-signal.ts), not a captured frame. */
    readonly standIn = false,
    coded: CodedAs = JPEG,
  ) {
    this.codec = coded.codec;
    // Every JPEG stands alone, whatever a caller says.
    this.keyframe = coded.codec === 'jpeg' || coded.keyframe;
    this.catchUp = coded.codec === 'h264' && coded.catchUp === true;
  }

  /** The same access unit marked as part of a catch-up burst: its own wire form, the payload shared. */
  private catchUpTwin: EncodedFrame | null = null;

  /**
   * This frame marked catch-up (decode, do not show). One twin per frame, so its wire forms are built once and
   * shared by every joiner's burst: a burst costs no copy per joiner, however many join.
   */
  asCatchUp(): EncodedFrame {
    return (this.catchUpTwin ??= new EncodedFrame(this.seq, this.captureUs, this.profile, this.payload, this.encodedUs, this.standIn, {
      codec: this.codec,
      keyframe: this.keyframe,
      catchUp: true,
    }));
  }

  get width(): number {
    return this.profile.width;
  }
  get height(): number {
    return this.profile.height;
  }

  /** This frame in `format`'s wire form: built once, then the same buffer for every viewer. */
  wire(format: WireFormat): Uint8Array {
    let bytes = this.wires.get(format);
    if (bytes === undefined) {
      bytes = format.build(this);
      this.wires.set(format, bytes);
    }
    return bytes;
  }
}
