/**
 * One H.264 encode: an ffmpeg child fed raw frames on stdin, giving back one access unit per frame, in
 * order, each labelled with its frame's seq and capture time, keyframes carrying SPS and PPS.
 *
 * Input. rgb24 frames at the output size are converted here to I420 (yuv420p) by the native addon
 * (native-jpeg.ts: TurboJPEG's SIMD conversion on libuv's thread pool, ~1 ms per 720p frame against ~2.5 ms
 * of swscale in ffmpeg, and half the bytes down the pipe). Without the addon, or when their size is not the
 * output size (ffmpeg scales them), they go to ffmpeg as rgb24 (`-f rawvideo`) and swscale converts them.
 * JPEG frames are decoded here with sharp, at the output size, and go the same way: ffmpeg's
 * own JPEG inputs either hold each picture until the next one arrives (`-f mjpeg`, one frame interval of
 * delay) or guess the timing (`mpjpeg`), and a JPEG ffmpeg failed to decode would silently shift every later
 * picture's label by one; decoding here fails per frame, counted, before ffmpeg sees it.
 *
 * Matching. Frame k of a run is written with timestamp k / fps, which ffmpeg carries to the FLV tag of its
 * access unit; see h264-frame-labels.ts. Frames an access unit passes over were dropped inside the encoder
 * and are counted.
 *
 * Bounds. At most maxInFlight frames are between encode() and their access unit (written, or being
 * decoded); a newer frame is refused and counted while the encoder is behind, so memory and delay stay
 * bounded whatever the source's rate. An access unit is at most maxAccessUnitBytes.
 *
 * Faults. ffmpeg exiting, unreadable output, or no access unit for stallMs while frames are in flight: one
 * 'lost' event, ffmpeg killed and started again after a backoff (500 ms doubling to 10 s); frames arriving
 * meanwhile are refused and counted. The first access unit after a (re)start is a keyframe (anything else
 * is dropped until one comes), and brings 'resumed'. The child starts with the first frame, whose size it
 * takes; a frame of another size restarts it quietly (no lost/resumed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import sharp from 'sharp';
import { FramewireError, toFramewireError } from '../errors.js';
import { FlvH264Reader } from '../codecs/flv-h264.js';
import type { AccessUnit } from '../codecs/h264/annexb.js';
import { DEFAULT_MAX_ACCESS_UNIT_BYTES } from '../codecs/h264/annexb.js';
import { ParameterSetCache } from '../codecs/h264/params.js';
import { nowUs } from '../clock.js';
import type { RawFrame, SourceEvent } from '../sources/source.js';
import { stopChild, trackChild } from '../sources/ffmpeg/child-reaper.js';
import { findFfmpeg } from '../sources/ffmpeg/locate.js';
import { StderrLog } from '../sources/ffmpeg/stderr-log.js';
import {
  buildH264EncoderArgs,
  validateH264Settings,
  type H264EncoderChoice,
  type H264EncoderName,
  type H264Settings,
  type X264Preset,
} from './h264-encoder-args.js';
import { selectH264Encoder } from './h264-encoder-probe.js';
import { InFlightFrames } from './h264-frame-labels.js';
import { i420Size, nativeJpeg, nativeJpegStatus, type NativeJpeg } from './native-jpeg.js';

export interface H264EncoderOptions {
  width: number;
  height: number;
  fps: number;
  /** bit/s */
  bitrate: number;
  /** Frames from one keyframe to the next. */
  gop: number;
  /** Default 'auto': the first hardware encoder that works here, else libx264. */
  encoder?: H264EncoderChoice;
  preset?: X264Preset;
  vaapiDevice?: string;
  /** Frames between encode() and their access unit at most; default 3. */
  maxInFlight?: number;
  /** No access unit for this long while frames are in flight restarts ffmpeg; default 3000 ms. */
  stallMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Between SIGTERM and SIGKILL when stopping ffmpeg; default 2000 ms. */
  killGraceMs?: number;
  maxAccessUnitBytes?: number;
  /** Skip the ffmpeg search. */
  ffmpegPath?: string;
  /**
   * Convert frames at the output size to I420 with the native addon when it is loaded; default true. An
   * object stands in for the addon (tests).
   */
  nativeI420?: boolean | Pick<NativeJpeg, 'rgbToI420'>;
}

/** How frames go down ffmpeg's stdin. */
export type H264InputFormat = 'rgb24' | 'i420';

interface RawPicture {
  data: Buffer;
  width: number;
  height: number;
  format: H264InputFormat;
  /** An I420 buffer of this encoder's: back to the spares once ffmpeg has it. */
  recycle?: () => void;
}

/** An access unit of the encode, labelled with the frame it codes. */
export interface EncodedAccessUnit extends AccessUnit {
  seq: number;
  captureUs: number;
  /** When it came out of the encoder, µs since the epoch. */
  encodedUs: number;
  width: number;
  height: number;
  /** `avc1.PPCCLL` of the SPS in force. */
  codec: string;
}

export interface H264EncoderSink {
  accessUnit(au: EncodedAccessUnit): void;
  /** 'lost' / 'resumed' when the encoder fails and comes back; 'log' for ffmpeg's errors and restarts. */
  event(event: SourceEvent): void;
}

export interface H264EncoderStats {
  framesIn: number;
  framesWritten: number;
  accessUnits: number;
  keyframes: number;
  /** Refused: maxInFlight frames were already in flight. */
  droppedBusy: number;
  /** Refused: the encoder was down, waiting to restart. */
  droppedDown: number;
  /** Written, but the encoder produced no picture for them. */
  droppedInEncoder: number;
  /** In flight when the encoder was restarted. */
  droppedAtRestart: number;
  /** Pictures dropped after a restart until the first keyframe. */
  droppedBeforeKeyframe: number;
  /**
   * Frames that could not be used: a JPEG that did not decode, rgb24 of the wrong length, a failed I420
   * conversion, or a corrupt access unit.
   */
  badFrames: number;
  restarts: number;
}

interface Run {
  child: ChildProcess;
  exited: Promise<void>;
  ended: boolean;
  inputWidth: number;
  inputHeight: number;
  inputFormat: H264InputFormat;
  pending: InFlightFrames;
  reader: FlvH264Reader;
  gotKeyframe: boolean;
}

/** Counters at zero: a new encoder's, and the start of a sum of several. */
export function zeroH264Stats(): H264EncoderStats {
  return {
    framesIn: 0,
    framesWritten: 0,
    accessUnits: 0,
    keyframes: 0,
    droppedBusy: 0,
    droppedDown: 0,
    droppedInEncoder: 0,
    droppedAtRestart: 0,
    droppedBeforeKeyframe: 0,
    badFrames: 0,
    restarts: 0,
  };
}

export class H264Encoder {
  readonly settings: Readonly<H264Settings>;
  readonly stats: H264EncoderStats = zeroH264Stats();
  private readonly opts: H264EncoderOptions;
  private readonly maxInFlight: number;
  private readonly stallMs: number;
  private readonly maxAuBytes: number;
  private readonly params = new ParameterSetCache();
  private sink: H264EncoderSink | null = null;
  private ffmpegPath = '';
  private encoderName: H264EncoderName | null = null;
  private run: Run | null = null;
  private started = false;
  private stopping = false;
  /** Frames accepted but not written yet (JPEG being decoded, frame being converted, or queued behind one). */
  private preparing = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private lastInput: { width: number; height: number; format: H264InputFormat } | null = null;
  /** Dropped for good after a failure: the frames then go as rgb24 and ffmpeg converts them. */
  private native: Pick<NativeJpeg, 'rgbToI420'> | null;
  /**
   * I420 buffers ffmpeg is done with, reused: a new 1.4 MB Buffer per 720p frame costs more in V8's major
   * GCs (external-memory pressure) than the conversion itself on a busy heap. At most maxInFlight + 1 kept.
   */
  private readonly i420Spares: Buffer[] = [];
  private lost = false;
  private lostAtMs = 0;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private stderr: StderrLog | null = null;

  constructor(options: H264EncoderOptions) {
    this.settings = validateH264Settings(options);
    this.opts = options;
    this.maxInFlight = options.maxInFlight ?? 3;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1 || this.maxInFlight > 64) {
      throw new FramewireError('E_BAD_PARAMS', `maxInFlight must be an integer in 1..64, got ${this.maxInFlight}`);
    }
    this.stallMs = options.stallMs ?? 3000;
    if (!(this.stallMs > 0)) throw new FramewireError('E_BAD_PARAMS', `stallMs must be > 0, got ${this.stallMs}`);
    this.maxAuBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
    this.backoffMs = options.backoffInitialMs ?? 500;
    this.native = options.nativeI420 === false ? null : typeof options.nativeI420 === 'object' ? options.nativeI420 : nativeJpeg;
  }

  /** How frames at the output size reach ffmpeg: 'i420' when the native addon converts them. */
  get inputFormat(): H264InputFormat {
    return this.native ? 'i420' : 'rgb24';
  }

  /** The encoder in use (after start()). */
  get encoder(): H264EncoderName | null {
    return this.encoderName;
  }

  /** The running ffmpeg's pid (undefined before the first frame, between restarts and after stop). */
  get pid(): number | undefined {
    return this.run && !this.run.ended ? this.run.child.pid : undefined;
  }

  /** Frames accepted whose access unit has not come out yet. */
  get inFlight(): number {
    return this.preparing + (this.run?.pending.length ?? 0);
  }

  /** The ffmpeg arguments for input frames of this size and format (i420 only at the output size). */
  args(inputWidth: number, inputHeight: number, format: H264InputFormat = 'rgb24'): string[] {
    if (!this.encoderName) throw new FramewireError('E_UNEXPECTED', 'H.264 encoder not started');
    if (format === 'i420') {
      if (inputWidth !== this.settings.width || inputHeight !== this.settings.height) {
        throw new FramewireError('E_UNEXPECTED', `I420 input must be at the output size ${this.settings.width}x${this.settings.height}, got ${inputWidth}x${inputHeight}`);
      }
      return buildH264EncoderArgs(this.encoderName, this.settings, { kind: 'i420-stdin' });
    }
    return buildH264EncoderArgs(this.encoderName, this.settings, { kind: 'rgb24-stdin', width: inputWidth, height: inputHeight });
  }

  /**
   * Find ffmpeg and pick the encoder (probing, cached per process). Rejects with E_UNSUPPORTED and one line
   * naming what to install when there is no working encoder. ffmpeg itself starts with the first frame.
   */
  async start(sink: H264EncoderSink): Promise<void> {
    if (this.started) throw new FramewireError('E_UNEXPECTED', 'H.264 encoder already started');
    this.started = true;
    this.stopping = false;
    this.lost = false;
    this.backoffMs = this.opts.backoffInitialMs ?? 500;
    this.sink = sink;
    try {
      try {
        this.ffmpegPath = this.opts.ffmpegPath ?? (await findFfmpeg()).path;
      } catch (e) {
        throw new FramewireError('E_UNSUPPORTED', `H.264 encoding: ${toFramewireError(e).message}`, { cause: e });
      }
      const selection = await selectH264Encoder(this.opts.encoder ?? 'auto', { ffmpegPath: this.ffmpegPath, vaapiDevice: this.settings.vaapiDevice });
      this.encoderName = selection.encoder;
      sink.event({ kind: 'log', level: 'info', text: selection.summary });
      const { width, height } = this.settings;
      sink.event({
        kind: 'log',
        level: 'info',
        text: this.native
          ? `H.264 input: frames at ${width}x${height} converted to I420 by libjpeg-turbo here; other sizes as rgb24, scaled and converted by ffmpeg`
          : `H.264 input: rgb24, converted by ffmpeg (native addon: ${this.opts.nativeI420 === false ? 'not used' : nativeJpegStatus()})`,
      });
    } catch (e) {
      this.started = false;
      throw toFramewireError(e, 'E_UNSUPPORTED');
    }
    if (this.stopping) throw new FramewireError('E_SHUTDOWN', 'H.264 encoder stopped while starting');
    this.stderr = new StderrLog((ev) => this.sink?.event(ev), { prefix: 'ffmpeg (H.264): ' });
    this.stallTimer = setInterval(() => this.checkStall(), Math.min(1000, Math.max(20, this.stallMs / 4)));
    this.stallTimer.unref();
  }

  /**
   * Offer the next frame. Returns false when it is refused (encoder behind, down or stopped; counted).
   * The frame's buffer is retained until ffmpeg has it.
   */
  encode(frame: RawFrame): boolean {
    if (!this.started || this.stopping || !this.encoderName) return false;
    this.stats.framesIn++;
    if (this.lost && !this.run) {
      this.stats.droppedDown++;
      return false;
    }
    if (this.inFlight >= this.maxInFlight) {
      this.stats.droppedBusy++;
      return false;
    }
    const label = { seq: frame.seq, captureUs: frame.captureUs };
    const convert = this.native !== null && frame.width === this.settings.width && frame.height === this.settings.height;
    if (frame.format === 'rgb24' && !convert && this.preparing === 0) {
      this.writeRaw(label, { data: frame.data, width: frame.width, height: frame.height, format: 'rgb24' }, frame.retain?.());
      return true;
    }
    // Decoded and converted concurrently (at most maxInFlight at once), written in order: a frame behind
    // one being prepared waits its turn.
    this.preparing++;
    const release = frame.retain?.();
    const ready: Promise<RawPicture | null> =
      frame.format === 'jpeg'
        ? this.decodeJpeg(frame).then((rgb) => (rgb ? this.toI420(frame.seq, rgb) : null))
        : convert
          ? this.toI420(frame.seq, { data: frame.data, width: frame.width, height: frame.height, format: 'rgb24' })
          : Promise.resolve({ data: frame.data, width: frame.width, height: frame.height, format: 'rgb24' });
    this.writeChain = this.writeChain.then(async () => {
      // The frame's own buffer (rgb24 as it came) is released once ffmpeg has it; otherwise once decoded or converted.
      let handedOver = false;
      try {
        const raw = await ready;
        if (raw) {
          handedOver = raw.data === frame.data;
          this.writeRaw(label, raw, handedOver ? release : raw.recycle);
        }
      } catch (e) {
        this.sink?.event({ kind: 'log', level: 'error', text: `H.264: frame ${label.seq} not written: ${toFramewireError(e).message}` });
      } finally {
        this.preparing--;
        if (!handedOver) release?.();
      }
    });
    return true;
  }

  /** Stop ffmpeg (SIGTERM, SIGKILL after the grace period); idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.retryTimer = null;
    this.stallTimer = null;
    const run = this.run;
    this.run = null;
    if (run) {
      run.ended = true;
      await this.kill(run);
    }
    await this.writeChain;
    this.stderr?.dispose();
    this.started = false;
  }

  /**
   * rgb24 at the output size to I420 with the addon. Other pictures pass. If the addon fails on a whole frame,
   * it is not used again by this encoder: the frame and those after it go as rgb24 (the input change restarts
   * ffmpeg), rather than every frame being lost. A frame of the wrong length is null (counted, logged).
   */
  private async toI420(seq: number, rgb: RawPicture): Promise<RawPicture | null> {
    if (!this.native || rgb.width !== this.settings.width || rgb.height !== this.settings.height) return rgb;
    const out = this.i420Spares.pop() ?? Buffer.allocUnsafeSlow(i420Size(rgb.width, rgb.height));
    const recycle = (): void => {
      if (this.i420Spares.length <= this.maxInFlight) this.i420Spares.push(out);
    };
    try {
      const data = await this.native.rgbToI420(rgb.data, rgb.width, rgb.height, out);
      return { data, width: rgb.width, height: rgb.height, format: 'i420', recycle };
    } catch (e) {
      recycle();
      if (rgb.data.length === rgb.width * rgb.height * 3) {
        this.native = null;
        this.sink?.event({ kind: 'log', level: 'warn', text: `H.264: the native I420 conversion failed (${String(e)}); frames go to ffmpeg as rgb24 from now on` });
        return rgb;
      }
      this.stats.badFrames++;
      if (this.stats.badFrames % 100 === 1) {
        this.sink?.event({ kind: 'log', level: 'warn', text: `H.264: frame ${seq} not converted to I420 (${this.stats.badFrames} bad frames so far): ${String(e)}` });
      }
      return null;
    }
  }

  private async decodeJpeg(frame: RawFrame): Promise<RawPicture | null> {
    const { width, height } = this.settings;
    try {
      let img = sharp(frame.data, { failOn: 'error' });
      if (frame.width !== width || frame.height !== height) img = img.resize(width, height, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: true });
      const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
      return { data, width, height, format: 'rgb24' };
    } catch (e) {
      this.stats.badFrames++;
      if (this.stats.badFrames % 100 === 1) {
        this.sink?.event({ kind: 'log', level: 'warn', text: `H.264: JPEG frame ${frame.seq} did not decode (${this.stats.badFrames} so far): ${String(e)}` });
      }
      return null;
    }
  }

  private writeRaw(label: { seq: number; captureUs: number }, picture: RawPicture, release: (() => void) | undefined): void {
    const { data, width, height, format } = picture;
    if (this.stopping) {
      release?.();
      return;
    }
    if (data.length !== (format === 'i420' ? i420Size(width, height) : width * height * 3)) {
      this.stats.badFrames++;
      release?.();
      return;
    }
    let run = this.run;
    if (!run && this.lost) {
      // Went down while this frame was being decoded.
      this.stats.droppedDown++;
      release?.();
      return;
    }
    if (run && (run.inputWidth !== width || run.inputHeight !== height || run.inputFormat !== format)) {
      this.endRun(run, `input changed to ${width}x${height} ${format}`, false);
      run = null;
    }
    if (!run) run = this.spawnRun(width, height, format);
    run.pending.written(label, Date.now());
    this.stats.framesWritten++;
    run.child.stdin!.write(data, () => release?.());
  }

  private spawnRun(width: number, height: number, format: H264InputFormat): Run {
    this.lastInput = { width, height, format };
    this.stderr?.clearRecent();
    const child = spawn(this.ffmpegPath, this.args(width, height, format), { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    trackChild(child);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const run: Run = {
      child,
      exited,
      ended: false,
      inputWidth: width,
      inputHeight: height,
      inputFormat: format,
      pending: new InFlightFrames(this.settings.fps),
      reader: new FlvH264Reader({ maxAccessUnitBytes: this.maxAuBytes }),
      gotKeyframe: false,
    };
    this.run = run;
    // EPIPE when ffmpeg dies with frames unwritten: the exit is reported by 'close'.
    child.stdin!.on('error', () => {});
    child.stdout!.on('data', (chunk: Buffer) => this.onOutput(run, chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.stderr?.write(chunk));
    child.once('error', (err) => this.endRun(run, `cannot run ${this.ffmpegPath}: ${err.message}`));
    child.once('close', (code, signal) => {
      this.stderr?.flush();
      const last = this.stderr?.lastLine();
      this.endRun(run, `ffmpeg (H.264 ${this.encoderName}) ${signal ? `killed by ${signal}` : `exited with code ${code}`}${last ? `: ${last}` : ''}`);
    });
    return run;
  }

  private onOutput(run: Run, chunk: Buffer): void {
    if (run.ended) return;
    let events;
    try {
      events = run.reader.push(chunk);
    } catch (e) {
      this.endRun(run, `unreadable encoder output: ${toFramewireError(e).message}`);
      return;
    }
    for (const ev of events) {
      if (run.ended) return;
      if (ev.kind === 'config') {
        for (const nal of [...ev.sps, ...ev.pps]) {
          try {
            this.params.add(nal);
          } catch (e) {
            this.sink?.event({ kind: 'log', level: 'warn', text: `H.264 encoder: ${toFramewireError(e).message}` });
          }
        }
      } else if (ev.kind === 'access-unit') {
        this.onAccessUnit(run, ev.ptsMs, ev.au);
      }
    }
  }

  private onAccessUnit(run: Run, ptsMs: number, au: AccessUnit): void {
    const { label: frame, skipped } = run.pending.match(ptsMs);
    this.stats.droppedInEncoder += skipped;
    if (!frame) {
      this.sink?.event({ kind: 'log', level: 'warn', text: `H.264 encoder produced a picture (${ptsMs} ms) for no frame in flight; dropped` });
      return;
    }
    if (!run.gotKeyframe && !au.keyframe) {
      this.stats.droppedBeforeKeyframe++;
      return;
    }
    let ready: AccessUnit;
    try {
      ready = this.params.prepare(au);
    } catch (e) {
      this.stats.badFrames++;
      this.sink?.event({ kind: 'log', level: 'warn', text: `H.264 encoder: picture of frame ${frame.seq} dropped: ${toFramewireError(e).message}` });
      return;
    }
    const sps = this.params.sps;
    if (!sps) {
      this.stats.badFrames++;
      return;
    }
    run.gotKeyframe = true;
    this.backoffMs = this.opts.backoffInitialMs ?? 500;
    if (this.lost) {
      this.lost = false;
      const after = ((Date.now() - this.lostAtMs) / 1000).toFixed(1);
      this.sink?.event({ kind: 'resumed', text: `H.264 encoder (${this.encoderName}) back after ${after} s` });
    }
    this.stats.accessUnits++;
    if (ready.keyframe) this.stats.keyframes++;
    this.sink?.accessUnit({
      data: ready.data,
      nals: ready.nals,
      keyframe: ready.keyframe,
      seq: frame.seq,
      captureUs: frame.captureUs,
      encodedUs: nowUs(),
      width: sps.width,
      height: sps.height,
      codec: sps.codec,
    });
  }

  private checkStall(): void {
    const run = this.run;
    const oldest = run?.pending.oldestWrittenMs ?? null;
    if (!run || run.ended || oldest === null) return;
    const waited = Date.now() - oldest;
    if (waited >= this.stallMs) this.endRun(run, `no picture from the H.264 encoder for ${(waited / 1000).toFixed(1)} s`);
  }

  /**
   * A run is over. fault = true: report 'lost' (once until 'resumed') and start again after the backoff;
   * false: a deliberate restart (new input size) by the caller, nothing reported.
   */
  private endRun(run: Run, reason: string, fault = true): void {
    if (run.ended) return;
    run.ended = true;
    void this.kill(run);
    if (this.stopping || this.run !== run) return;
    this.run = null;
    this.stats.droppedAtRestart += run.pending.clear();
    if (!fault) return;
    this.stats.restarts++;
    if (!this.lost) {
      this.lost = true;
      this.lostAtMs = Date.now();
      this.sink?.event({ kind: 'lost', reason });
    } else {
      this.sink?.event({ kind: 'log', level: 'warn', text: `H.264 encoder restart failed: ${reason}` });
    }
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs ?? 10_000);
    this.sink?.event({ kind: 'log', level: 'info', text: `restarting the H.264 encoder in ${(delay / 1000).toFixed(1)} s` });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void run.exited.then(() => {
        if (!this.stopping && !this.run && this.lastInput) this.spawnRun(this.lastInput.width, this.lastInput.height, this.lastInput.format);
      });
    }, delay);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  private kill(run: Run): Promise<void> {
    // Frames still queued on stdin are of no use to an encoder being stopped.
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.stdin?.destroy();
    return stopChild(run.child, run.exited, this.opts.killGraceMs ?? 2000);
  }
}
