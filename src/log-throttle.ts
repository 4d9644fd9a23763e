/**
 * A bounded number of log lines per window for events a peer can cause at will (failed tokens, refusals):
 * the first `perWindow` in each window are logged one by one, the rest are counted and summarised in one line
 * when the window ends — never dropped silently, never one line per event.
 */
import type { Logger } from './log.js';

export interface LogThrottleOptions {
  perWindow?: number;
  windowMs?: number;
  /** Prefix of the summary line, e.g. "E_AUTH:". */
  prefix?: string;
  now?: () => number;
}

type Level = 'info' | 'warn' | 'error';

/** Distinct addresses counted per window for the summary (beyond, it says "at least"). */
const MAX_ADDRESSES_COUNTED = 10_000;

export class LogThrottle {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly prefix: string;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private logged = 0;
  /** Suppressed events by label ("wrong tokens"), in first-seen order. */
  private readonly suppressed = new Map<string, number>();
  private readonly addresses = new Set<string>();
  private level: Level = 'info';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    options: LogThrottleOptions = {},
  ) {
    this.perWindow = options.perWindow ?? 5;
    this.windowMs = options.windowMs ?? 10_000;
    this.prefix = options.prefix ?? '';
    this.now = options.now ?? Date.now;
  }

  /** Log `text` now, or count it under `label` (from `address`) for the window's summary. */
  line(level: Level, text: string, label: string, address?: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = t;
      this.logged = 0;
    }
    if (this.logged < this.perWindow) {
      this.logged++;
      this.log[level](text);
      return;
    }
    this.suppressed.set(label, (this.suppressed.get(label) ?? 0) + 1);
    if (address !== undefined && this.addresses.size < MAX_ADDRESSES_COUNTED) this.addresses.add(address);
    if (level === 'error' || (level === 'warn' && this.level === 'info')) this.level = level;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - t));
      this.timer.unref();
    }
  }

  /** Write the pending summary, if any (also called when the window ends). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.suppressed.size === 0) return;
    const parts = [...this.suppressed].map(([label, n]) => `${n} ${label}`);
    const n = this.addresses.size;
    const from = n === 0 ? '' : ` from ${n >= MAX_ADDRESSES_COUNTED ? 'at least ' : ''}${n} address${n === 1 ? '' : 'es'}`;
    const secs = Math.round(this.windowMs / 1000);
    this.log[this.level](`${this.prefix}${this.prefix ? ' ' : ''}${parts.join(', ')}${from} in the last ${secs} s (not logged one by one)`);
    this.suppressed.clear();
    this.addresses.clear();
    this.level = 'info';
  }

  dispose(): void {
    this.flush();
  }
}
