/**
 * A Source produces frames (it is the "producer" of the pipeline). The pipeline captures from
 * one Source once and fans the frames out; a Source never knows how many viewers there are.
 */
import type { ChainStats } from '../codecs/h264/passthrough-chain.js';

export type PixelFormat = 'rgb24' | 'jpeg';

export interface RawFrame {
  /** Increasing per source, starting at 0; wraps at 2^32. */
  seq: number;
  /**
   * When the frame became available to framewire, µs since the Unix epoch (server clock): for a camera or
   * stream, when ffmpeg delivered it; for the test pattern, when drawing finished.
   */
  captureUs: number;
  width: number;
  height: number;
  /** 'rgb24': width*height*3 bytes, row-major; 'jpeg': a complete JPEG (passed through when it fits a profile). */
  format: PixelFormat;
  data: Buffer;
  /**
   * For pooled buffers: take a reference that keeps `data` from being reused; call the returned function
   * when done with it. Consumers that keep `data` past the synchronous sink.frame() call (encoders on the
   * thread pool, the latest-frame cache) must hold one. Absent: the buffer is never reused.
   */
  retain?: () => () => void;
}

export interface SourceInfo {
  /** Human-readable, sent to clients in ACCEPT (e.g. "testpattern 1280x720@30"). */
  description: string;
  width: number;
  height: number;
  fps: number;
  /** The source also delivers its input's own H.264 access units (sink.accessUnit) at width×height. */
  h264?: boolean;
}

/**
 * One access unit of a source's own H.264 stream (docs/h264.md, Passthrough): Annex B, every keyframe
 * carrying its SPS/PPS. A source delivers them as an unbroken chain from a keyframe: after anything it had to
 * drop it delivers nothing until the next keyframe, which then has `restart` set.
 */
export interface SourceAccessUnit {
  seq: number;
  captureUs: number;
  width: number;
  height: number;
  keyframe: boolean;
  /** The first access unit after a gap (a dropped one, or a new ffmpeg run): what came before is no reference for it. */
  restart: boolean;
  data: Buffer;
}

export type SourceEvent =
  | { kind: 'lost'; reason: string }
  | { kind: 'resumed'; text: string }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; text: string };

export interface SourceSink {
  frame(frame: RawFrame): void;
  /** The input's own H.264, for sources whose info.h264 is set. */
  accessUnit?(au: SourceAccessUnit): void;
  event(event: SourceEvent): void;
}

export interface Source {
  /** Known after start() resolves (a device may settle on another size than asked). */
  readonly info: SourceInfo;
  /** A source whose own H.264 is passed through (info.h264): what happened to its access units so far. */
  readonly passthroughStats?: Readonly<ChainStats>;
  /** Begin producing; resolves once the source is running (or rejects with a FramewireError). */
  start(sink: SourceSink): Promise<void>;
  /** Stop producing and release the device/child process; idempotent. */
  stop(): Promise<void>;
}

/** What the user asked of a source; sources pick the closest they can deliver. */
export interface SourceRequest {
  width: number;
  height: number;
  fps: number;
}
