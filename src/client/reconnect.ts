/**
 * When and how often to dial again after a lost connection: exponential backoff with jitter, and the refusals
 * that no retry can fix. Backoff and isFatal are shared by the Node client and the browser viewer.
 */
import { toFramewireError, type ErrorCode, type FramewireError } from '../errors.js';

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

/** Refusals that reconnecting cannot fix: the same request would get the same answer. */
const FATAL: ReadonlySet<ErrorCode> = new Set(['E_AUTH', 'E_VERSION', 'E_BAD_PARAMS', 'E_TLS', 'E_UNSUPPORTED', 'E_BAD_MAGIC']);

export function isFatal(code: ErrorCode): boolean {
  return FATAL.has(code);
}

export class Backoff {
  private delayMs: number;

  constructor(
    private readonly initialMs = 250,
    private readonly maxMs = 5000,
  ) {
    this.delayMs = initialMs;
  }

  /**
   * The wait before the next attempt; each call doubles the one after, up to the maximum. The ±20 % jitter
   * keeps the viewers of a restarted server from all dialling it in the same millisecond.
   */
  next(): number {
    const d = this.delayMs * (0.8 + 0.4 * Math.random());
    this.delayMs = Math.min(this.maxMs, this.delayMs * 2);
    return d;
  }

  /** A connection got through: the next loss starts from the shortest wait again. */
  reset(): void {
    this.delayMs = this.initialMs;
  }
}

export type RedialResult = { connected: true } | { connected: false; error: FramewireError | null };

/**
 * Dials until a dial resolves, waiting longer after each failure; gives up on a fatal refusal, after
 * maxAttempts, or as soon as stopped() says so (error null then).
 */
export async function redial(options: ReconnectOptions, dial: () => Promise<void>, stopped: () => boolean): Promise<RedialResult> {
  const backoff = new Backoff(options.initialDelayMs, options.maxDelayMs);
  for (let attempt = 1; ; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, backoff.next()));
    if (stopped()) return { connected: false, error: null };
    try {
      await dial();
      return { connected: true };
    } catch (e) {
      const error = toFramewireError(e, 'E_CONNECT');
      if (isFatal(error.code) || (options.maxAttempts !== undefined && attempt >= options.maxAttempts)) return { connected: false, error };
    }
  }
}
