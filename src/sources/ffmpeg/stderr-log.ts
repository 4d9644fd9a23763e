/**
 * Turns ffmpeg's stderr into log events without flooding: at most `burst` lines per window are
 * forwarded; the rest are counted and summarised at the end of the window (never dropped
 * silently). The last lines are kept for error messages.
 */
import type { SourceEvent } from '../source.js';

type LogEvent = Extract<SourceEvent, { kind: 'log' }>;

export interface StderrLogOptions {
  burst?: number;
  windowMs?: number;
  keep?: number;
  prefix?: string;
  /** Applied to every line before it is kept or forwarded (hides a source URL's credentials). */
  redact?: (line: string) => string;
}

export class StderrLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly keep: number;
  private readonly prefix: string;
  private readonly redact: (line: string) => string;
  private partial = '';
  private recent: string[] = [];
  private windowStart = 0;
  private sentInWindow = 0;
  private suppressed = 0;
  private lastSuppressed = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly emit: (event: LogEvent) => void,
    options: StderrLogOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.burst = options.burst ?? 10;
    this.windowMs = options.windowMs ?? 10_000;
    this.keep = options.keep ?? 20;
    this.prefix = options.prefix ?? 'ffmpeg: ';
    this.redact = options.redact ?? ((l) => l);
  }

  /** The last lines seen (oldest first). */
  lastLines(): string[] {
    return [...this.recent];
  }

  lastLine(): string | undefined {
    return this.recent[this.recent.length - 1];
  }

  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r\n|\n|\r/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > 4096) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const l of lines) this.line(l);
  }

  /** Flush a trailing partial line and any pending summary (call when the child has exited). */
  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.summarise();
  }

  /** Start a new run: keep counters' history but forget lines of the previous run. */
  clearRecent(): void {
    this.recent = [];
  }

  dispose(): void {
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private line(raw: string): void {
    const text = this.redact(raw.trimEnd());
    if (!text.trim()) return;
    this.recent.push(text);
    if (this.recent.length > this.keep) this.recent.shift();
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.summarise();
      this.windowStart = t;
      this.sentInWindow = 0;
    }
    if (this.sentInWindow < this.burst) {
      this.sentInWindow++;
      this.emit({ kind: 'log', level: levelOf(text), text: this.prefix + text });
      return;
    }
    this.suppressed++;
    this.lastSuppressed = text;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.summarise();
      }, Math.max(0, this.windowStart + this.windowMs - t));
      this.timer.unref();
    }
  }

  private summarise(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.suppressed === 0) return;
    const n = this.suppressed;
    this.suppressed = 0;
    this.emit({ kind: 'log', level: 'warn', text: `${this.prefix}${n} more line${n === 1 ? '' : 's'} suppressed; last: ${this.lastSuppressed}` });
  }
}

export function levelOf(line: string): 'info' | 'warn' | 'error' {
  // Our own choice of full-range yuvj420p for MJPEG makes swscale say this at every start.
  if (/deprecated pixel format used/.test(line)) return 'info';
  if (/error|failed|cannot|could not|no such|invalid|not found|denied|refused|unable/i.test(line)) return 'error';
  return 'warn';
}
