/**
 * Per-address rate limit on failed authentication: after `maxFailures` failures within `windowMs`, the
 * address is refused (E_RATE_LIMITED) for `blockMs`, so a token cannot be guessed at line rate.
 * Memory is bounded: at most `maxTracked` addresses, the oldest forgotten first.
 */
export interface AuthGuardOptions {
  maxFailures?: number;
  windowMs?: number;
  blockMs?: number;
  maxTracked?: number;
  now?: () => number;
}

interface Entry {
  failures: number[];
  blockedUntil: number;
}

export class AuthGuard {
  private readonly entries = new Map<string, Entry>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(o: AuthGuardOptions = {}) {
    this.maxFailures = o.maxFailures ?? 5;
    this.windowMs = o.windowMs ?? 60_000;
    this.blockMs = o.blockMs ?? 60_000;
    this.maxTracked = o.maxTracked ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  failed(address: string): void {
    const t = this.now();
    let e = this.entries.get(address);
    if (e) this.entries.delete(address); // re-insert: Map order is our LRU order
    else e = { failures: [], blockedUntil: 0 };
    e.failures = e.failures.filter((x) => t - x < this.windowMs);
    e.failures.push(t);
    if (e.failures.length >= this.maxFailures) e.blockedUntil = t + this.blockMs;
    this.entries.set(address, e);
    while (this.entries.size > this.maxTracked) this.entries.delete(this.entries.keys().next().value!);
  }

  isBlocked(address: string): boolean {
    const e = this.entries.get(address);
    return !!e && e.blockedUntil > this.now();
  }

  get tracked(): number {
    return this.entries.size;
  }
}
