/**
 * A Source backed by an ffmpeg child process writing concatenated JPEGs to stdout.
 *
 * start() spawns ffmpeg and resolves on the first frame (so info carries the real size), or
 * rejects with E_SOURCE when the first run fails. Once running, a fault (ffmpeg exits, or no
 * frame for stallSeconds) emits one 'lost' event, kills the child and restarts it with
 * exponential backoff (0.5 s doubling to 10 s); the first frame afterwards emits 'resumed'.
 * A file played once (plan.finite) ends with 'lost' {reason: 'end of file'} and is not restarted.
 *
 * info.fps is the rate frames really arrive at, measured (the median interval of the last frames), never
 * above what the input declares: ffmpeg guesses 25 fps for an MJPEG HTTP stream whatever it delivers, and a
 * camera in low light slows down. start() waits for a first measurement (8 frames, or 1 s after the first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { FramewireError, toFramewireError } from '../../errors.js';
import { nowUs } from '../../clock.js';
import type { RawFrame, Source, SourceInfo, SourceRequest, SourceSink } from '../source.js';
import { JpegSplitter } from '../jpeg-splitter.js';
import { jpegSize } from '../jpeg-size.js';
import { buildFfmpegArgs, H264_PIPE_FD, type InputPlan } from './input-args.js';
import { PassthroughChain, zeroChainStats, type ChainStats } from '../../codecs/h264/passthrough-chain.js';
import type { Readable } from 'node:stream';
import { findFfmpeg } from './locate.js';
import { StderrLog } from './stderr-log.js';
import { redactText } from '../redact.js';
import { LogThrottle } from '../../log-throttle.js';
import { stopChild, trackChild } from './child-reaper.js';

export interface FfmpegSourceOptions {
  /** The input to open; a function is called on every start() (it may probe devices or files). */
  plan: InputPlan | ((ffmpegPath: string) => Promise<InputPlan>);
  request: SourceRequest;
  /** Restart when no frame arrived for this long; default 5. */
  stallSeconds?: number;
  /** -q:v when re-encoding (2 best .. 31); default 5. */
  quality?: number;
  /** Skip the ffmpeg search (tests, or a caller that already found it). */
  ffmpegPath?: string;
  maxFrameBytes?: number;
  /** An H.264 input's own access units (passthrough): bytes in one at most; default 8 MiB (docs/h264.md). */
  maxAccessUnitBytes?: number;
  /** Restart backoff; defaults 500 ms doubling to 10 000 ms. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop; default 2000 ms. */
  killGraceMs?: number;
}

/** Frames whose arrival times the rate is measured over. */
const RATE_WINDOW = 31;
/** start() resolves after this many frames, or MEASURE_MS after the first, whichever comes first. */
const MEASURE_FRAMES = 9;
const MEASURE_MS = 1000;

/**
 * The rate to report: the declared one unless frames clearly arrive slower (by 10 % or more); then the
 * measured one, snapped to a whole number when within 5 % of it (15.2 → 15), else to a tenth.
 */
export function effectiveFps(declared: number | undefined, measured: number | null): number | undefined {
  if (measured === null || !(measured > 0)) return declared;
  if (declared !== undefined && measured >= declared * 0.9) return declared;
  const whole = Math.round(measured);
  const snapped = whole > 0 && Math.abs(measured - whole) <= whole * 0.05 ? whole : Math.round(measured * 10) / 10;
  return declared === undefined ? snapped : Math.min(declared, snapped);
}

/** Frames per second from arrival times (ms): the median interval, so one stall or burst does not skew it. */
export function measuredFps(arrivalsMs: readonly number[]): number | null {
  if (arrivalsMs.length < 2) return null;
  const gaps = arrivalsMs.slice(1).map((t, i) => t - arrivalsMs[i]!).sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  const median = gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
  return median > 0 ? 1000 / median : null;
}

interface Run {
  child: ChildProcess;
  exited: Promise<void>;
  ended: boolean;
  frames: number;
}

export class FfmpegSource implements Source {
  private _info: SourceInfo;
  private readonly opts: FfmpegSourceOptions;
  private readonly stallMs: number;
  private sink: SourceSink | null = null;
  private plan: InputPlan | null = null;
  private ffmpegPath = '';
  private run: Run | null = null;
  private seq = 0;
  private lastFrameMs = 0;
  private lost = false;
  private lostAtMs = 0;
  private backoffMs: number;
  private stopping = false;
  private running = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pendingStart: { resolve: () => void; reject: (e: FramewireError) => void } | null = null;
  private stderr: StderrLog | null = null;
  private badFrames = 0;
  /** What the input says its rate is (device mode, probe, or the request). */
  private declaredFps: number | undefined;
  private arrivalsMs: number[] = [];
  private measureTimer: NodeJS.Timeout | null = null;
  private auSeq = 0;
  /** The passthrough chain's counts over every ffmpeg run (passthroughStats). */
  private readonly h264Totals = zeroChainStats();
  /** A broken source drops many pictures: the first line of each 10 s at once, the rest in a count. */
  private readonly h264DropLog = new LogThrottle(
    {
      info: (text) => this.sink?.event({ kind: 'log', level: 'info', text }),
      warn: (text) => this.sink?.event({ kind: 'log', level: 'warn', text }),
      error: (text) => this.sink?.event({ kind: 'log', level: 'error', text }),
    },
    { perWindow: 1, windowMs: 10_000, prefix: 'H.264 passthrough:' },
  );

  constructor(options: FfmpegSourceOptions) {
    this.opts = options;
    const stall = options.stallSeconds ?? 5;
    if (!(stall > 0)) throw new FramewireError('E_BAD_PARAMS', `stallSeconds must be > 0, got ${stall}`);
    this.stallMs = stall * 1000;
    this.backoffMs = options.backoffInitialMs ?? 500;
    const { width, height, fps } = options.request;
    const description = typeof options.plan === 'function' ? 'ffmpeg' : options.plan.description;
    this._info = { description, width, height, fps };
  }

  get info(): SourceInfo {
    return this._info;
  }

  /** The running ffmpeg child's pid (undefined between restarts and after stop). */
  get pid(): number | undefined {
    return this.run && !this.run.ended ? this.run.child.pid : undefined;
  }

  /** The full ffmpeg argument list of the current plan (after start). */
  get args(): string[] {
    return this.plan ? buildFfmpegArgs(this.plan, this.outputOptions()) : [];
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.running || this.pendingStart) throw new FramewireError('E_SOURCE', 'source already started');
    this.stopping = false;
    this.sink = sink;
    this.lost = false;
    this.backoffMs = this.opts.backoffInitialMs ?? 500;
    try {
      this.ffmpegPath = this.opts.ffmpegPath ?? (await findFfmpeg()).path;
      this.plan = typeof this.opts.plan === 'function' ? await this.opts.plan(this.ffmpegPath) : this.opts.plan;
    } catch (e) {
      throw toFramewireError(e, 'E_SOURCE');
    }
    if (this.stopping) throw new FramewireError('E_SHUTDOWN', 'source stopped while starting');
    this.declaredFps = this.plan.fps ?? this.opts.request.fps;
    this._info = { ...this._info, description: this.plan.description, fps: this.declaredFps, h264: this.plan.h264 === true };
    const secrets = this.plan.secrets ?? [];
    this.stderr = new StderrLog((ev) => this.sink?.event(ev), { redact: (line) => redactText(line, secrets) });
    const started = new Promise<void>((resolve, reject) => {
      this.pendingStart = { resolve, reject };
    });
    this.spawnRun();
    return started;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.running = false;
    this.clearTimers();
    if (this.pendingStart) {
      this.pendingStart.reject(new FramewireError('E_SHUTDOWN', 'source stopped before the first frame'));
      this.pendingStart = null;
    }
    const run = this.run;
    if (run) await this.kill(run);
    this.run = null;
    this.stderr?.dispose();
    this.h264DropLog.flush();
  }

  private outputOptions(): { quality?: number } {
    return this.opts.quality === undefined ? {} : { quality: this.opts.quality };
  }

  private spawnRun(): void {
    const plan = this.plan!;
    const args = buildFfmpegArgs(plan, this.outputOptions());
    this.stderr?.clearRecent();
    const child = spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe', plan.h264 ? 'pipe' : 'ignore'], windowsHide: true });
    trackChild(child);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const run: Run = { child, exited, ended: false, frames: 0 };
    this.run = run;
    // A restart's gap is no interval between frames.
    this.arrivalsMs = [];
    const splitter = new JpegSplitter(this.opts.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.opts.maxFrameBytes });
    let splitterDrops = 0;

    child.stdout!.on('data', (chunk: Buffer) => {
      if (run.ended || this.stopping) return;
      for (const jpeg of splitter.push(chunk)) this.onJpeg(run, jpeg);
      const drops = splitter.stats.oversize + splitter.stats.corrupt + splitter.stats.truncated;
      if (drops > splitterDrops) {
        const s = splitter.stats;
        this.sink?.event({
          kind: 'log',
          level: 'warn',
          text: `dropped ${drops - splitterDrops} malformed or oversize JPEG(s) (oversize ${s.oversize}, corrupt ${s.corrupt}, truncated ${s.truncated})`,
        });
        splitterDrops = drops;
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr?.write(chunk));
    if (plan.h264) this.readH264(run, child.stdio[H264_PIPE_FD] as Readable);
    child.once('error', (err) => this.endRun(run, `cannot run ${this.ffmpegPath}: ${err.message}`));
    child.once('close', (code, signal) => {
      this.stderr?.flush();
      if (code === 0 && this.plan?.finite && run.frames > 0) {
        this.endRun(run, 'end of file', false);
        return;
      }
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const last = this.stderr?.lastLine();
      this.endRun(run, `ffmpeg ${why}${last ? `: ${last}` : ''}`);
    });

    this.lastFrameMs = Date.now();
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = setInterval(() => {
      if (run.ended || this.stopping) return;
      const idle = Date.now() - this.lastFrameMs;
      if (idle >= this.stallMs) {
        this.endRun(run, `no frame from ffmpeg for ${(idle / 1000).toFixed(1)} s`);
        void this.kill(run);
      }
    }, Math.min(1000, Math.max(50, this.stallMs / 4)));
    this.stallTimer.unref();
  }

  /** The passthrough's counts over every run (/api/status, /metrics); undefined when the input is not passed through. */
  get passthroughStats(): Readonly<ChainStats> | undefined {
    return this._info.h264 === true ? this.h264Totals : undefined;
  }

  /** The input's own H.264 on pipe 3 (docs/h264.md, Passthrough): a fresh chain per run, so each run starts at a keyframe. */
  private readH264(run: Run, pipe: Readable): void {
    const chain = new PassthroughChain({ stats: this.h264Totals, ...(this.opts.maxAccessUnitBytes === undefined ? {} : { maxAccessUnitBytes: this.opts.maxAccessUnitBytes }) });
    pipe.on('error', () => {});
    pipe.on('data', (chunk: Buffer) => {
      if (run.ended || this.stopping) return;
      let events;
      try {
        events = chain.push(chunk);
      } catch (e) {
        // Not FLV: our own ffmpeg's output is broken; restart it like any other fault.
        this.endRun(run, `unreadable H.264 output: ${toFramewireError(e).message}`);
        void this.kill(run);
        return;
      }
      for (const ev of events) {
        if (ev.kind === 'unit') {
          const u = ev.unit;
          this.sink?.accessUnit?.({ seq: this.auSeq, captureUs: nowUs(), width: u.width, height: u.height, keyframe: u.keyframe, restart: u.restart, data: u.data });
          this.auSeq = (this.auSeq + 1) >>> 0;
        } else {
          const why = ev.kind === 'gap' ? `a picture went missing upstream: ${ev.detail}` : `${ev.error.code}: ${ev.error.message}`;
          this.h264DropLog.line(
            'warn',
            `H.264 passthrough: dropped a damaged or incomplete picture from the source (${why}); viewers skip to the next keyframe`,
            'damaged or incomplete pictures dropped',
          );
        }
      }
    });
  }

  private onJpeg(run: Run, jpeg: Buffer): void {
    const size = jpegSize(jpeg);
    if (!size) {
      if (this.badFrames++ % 100 === 0) {
        this.sink?.event({ kind: 'log', level: 'warn', text: `ffmpeg produced a JPEG without a frame header (${this.badFrames} so far); dropped` });
      }
      return;
    }
    this.lastFrameMs = Date.now();
    run.frames++;
    this.arrivalsMs.push(performance.now());
    if (this.arrivalsMs.length > RATE_WINDOW) this.arrivalsMs.shift();
    const frame: RawFrame = {
      seq: this.seq,
      captureUs: nowUs(),
      width: size.width,
      height: size.height,
      format: 'jpeg',
      data: jpeg,
    };
    this.seq = (this.seq + 1) >>> 0;
    if (run.frames === 1) {
      this.backoffMs = this.opts.backoffInitialMs ?? 500;
      if (this.pendingStart) {
        this._info = { ...this._info, width: size.width, height: size.height };
        this.measureTimer = setTimeout(() => this.finishStart(), MEASURE_MS);
      } else if (this.lost) {
        this.lost = false;
        const after = ((Date.now() - this.lostAtMs) / 1000).toFixed(1);
        this.sink?.event({ kind: 'resumed', text: `ffmpeg delivering frames again after ${after} s` });
      }
    }
    if (this.pendingStart && run.frames >= MEASURE_FRAMES) this.finishStart();
    else if (!this.pendingStart && run.frames % RATE_WINDOW === 0) this.updateRate();
    this.sink?.frame(frame);
  }

  private updateRate(): void {
    const fps = effectiveFps(this.declaredFps, measuredFps(this.arrivalsMs));
    if (fps !== undefined && fps !== this._info.fps) this._info = { ...this._info, fps };
  }

  /** The first frames are in: the size and a first measured rate are known. */
  private finishStart(): void {
    if (this.measureTimer) clearTimeout(this.measureTimer);
    this.measureTimer = null;
    const p = this.pendingStart;
    if (!p) return;
    this.pendingStart = null;
    this.updateRate();
    this.running = true;
    p.resolve();
  }

  /** A run is over (exit, spawn error or stall): fail start, or report the loss and schedule a restart. */
  private endRun(run: Run, reason: string, restart = true): void {
    if (run.ended) return;
    run.ended = true;
    if (this.stopping || this.run !== run) return;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    // Frames came before the run ended: the start succeeded (measured on what there was); this is a loss.
    if (this.pendingStart && run.frames > 0) this.finishStart();
    if (this.pendingStart) {
      const p = this.pendingStart;
      this.pendingStart = null;
      const detail = this.stderr?.lastLines().slice(-5).join(' | ');
      void this.kill(run);
      p.reject(new FramewireError('E_SOURCE', `${this._info.description}: ${reason}${detail && !reason.includes(detail) ? ` (${detail})` : ''}`));
      return;
    }
    if (!this.lost) {
      this.lost = true;
      this.lostAtMs = Date.now();
      this.sink?.event({ kind: 'lost', reason });
    } else {
      this.sink?.event({ kind: 'log', level: 'warn', text: `restart failed: ${reason}` });
    }
    if (!restart) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs ?? 10_000);
    this.sink?.event({ kind: 'log', level: 'info', text: `restarting ffmpeg in ${(delay / 1000).toFixed(1)} s` });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // The old child may still hold the device (a stalled one is being killed): wait for its exit.
      void run.exited.then(() => {
        if (!this.stopping && this.run === run) this.spawnRun();
      });
    }, delay);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  private kill(run: Run): Promise<void> {
    return stopChild(run.child, run.exited, this.opts.killGraceMs ?? 2000);
  }

  private clearTimers(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.measureTimer) clearTimeout(this.measureTimer);
    this.measureTimer = null;
    this.stallTimer = null;
    this.retryTimer = null;
  }
}
