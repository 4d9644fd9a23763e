/**
 * Rationing token checks so a token cannot be guessed at line rate, without locking anyone out.
 *
 * Only wrong tokens cost anything (a missing token is not a guess and never reaches this). A network (an IPv4
 * address or an IPv6 /64, see address-key.ts) may send `perNetworkBurst` wrong tokens at once, then one per
 * `perNetworkIntervalMs`; all networks together `globalBurst` at once, then `globalPerSecond`. A check that
 * would overdraw either budget is not refused: it waits its turn (at most `maxWaitMs`), then the token is
 * checked like any other — a correct token is slowed by guessing, never turned away by it. Turns go round
 * robin over the waiting networks, networks without a recent wrong token first, so a guesser never sits
 * between a clean address and its check. Each check reserves one unit of both budgets and a correct token
 * gives them back.
 *
 * A network that presented the right token within `knownForMs` is known: its checks skip the global budget
 * and the line (its own budget still holds), so the owner is not slowed even by a guesser with thousands
 * of fresh addresses, who can never become known without the token.
 *
 * Memory is bounded without forgetting a guesser: a network is remembered for `rememberMs` after its last
 * wrong token (oldest first, so expired ones leave in O(1)); when `maxNetworks` are remembered, any further
 * network shares one "overflow" budget instead of evicting anyone.
 */

export interface AuthLimits {
  /** Wrong tokens a network may send before it is slowed. */
  readonly perNetworkBurst: number;
  /** Then one wrong token per this many ms. */
  readonly perNetworkIntervalMs: number;
  /** Wrong tokens all networks together may send before everyone's checks are rationed. */
  readonly globalBurst: number;
  /** Then this many per second, in all. */
  readonly globalPerSecond: number;
  /** A network is remembered (and ranked behind clean ones) this long after its last wrong token. */
  readonly rememberMs: number;
  /** Networks remembered at once; beyond, new networks share one budget. */
  readonly maxNetworks: number;
  /** A check waits at most this long for its turn; then it is refused with E_RATE_LIMITED. */
  readonly maxWaitMs: number;
  /** Checks waiting at once from one network, and in all; more are refused at once. */
  readonly maxWaitingPerNetwork: number;
  readonly maxWaiting: number;
  /** A network that presented the right token is known this long (its checks skip the global budget). */
  readonly knownForMs: number;
  /** Known networks remembered at once (least recently successful forgotten first: it only loses a privilege). */
  readonly maxKnown: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = Object.freeze({
  perNetworkBurst: 5,
  perNetworkIntervalMs: 2000,
  globalBurst: 50,
  globalPerSecond: 10,
  rememberMs: 3_600_000,
  maxNetworks: 10_000,
  maxWaitMs: 5000,
  maxWaitingPerNetwork: 8,
  maxWaiting: 1024,
  knownForMs: 7 * 24 * 3_600_000,
  maxKnown: 1024,
});

/** A turn to check one token: call settle() with the outcome (a correct token refunds the budgets). */
export type Turn = { granted: true; settle(correct: boolean): void } | { granted: false; retryAfterSeconds: number };

interface Waiter {
  /** The waiter's own network (its Network may be the shared overflow one). */
  key: string;
  isOpen(): boolean;
  deadline: number;
  resolve(t: Turn): void;
}

interface Network {
  readonly key: string;
  tokens: number;
  refilledAt: number;
  /** 0: never failed (remembered only while it has checks waiting). */
  lastFailure: number;
  waiters: Waiter[];
}

/** The key of the budget shared by networks that arrive while maxNetworks are remembered. */
export const OVERFLOW_KEY = '*';

export class AuthLimiter {
  readonly limits: AuthLimits;
  private readonly now: () => number;
  /** Ordered by last wrong token, oldest first (re-inserted on each), so expiry prunes from the front. */
  private readonly networks = new Map<string, Network>();
  private overflow: Network | null = null;
  /** Networks that presented the right token: key → time of the last success, least recent first. */
  private readonly known = new Map<string, number>();
  /** Networks with checks waiting, in round-robin order: clean ones are served first. */
  private readonly cleanQueue = new Set<Network>();
  private readonly suspectQueue = new Set<Network>();
  private waiting = 0;
  private globalTokens: number;
  private globalAt: number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  /** Counters for logs and tests. */
  readonly counts = { checks: 0, failures: 0, refused: 0, waited: 0 };

  constructor(limits: Partial<AuthLimits> = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.now = now;
    this.globalTokens = this.limits.globalBurst;
    this.globalAt = now();
  }

  /** Networks remembered now (the overflow budget included). */
  get tracked(): number {
    return this.networks.size + (this.overflow ? 1 : 0);
  }

  /** True while the global budget is spent: every network's wrong tokens are being rationed. */
  get globallyLimited(): boolean {
    this.refillGlobal(this.now());
    return this.globalTokens < 1;
  }

  /** True when this network presented the right token within knownForMs. */
  isKnown(key: string): boolean {
    const t = this.known.get(key);
    return t !== undefined && this.now() - t < this.limits.knownForMs;
  }

  /** True when this network has sent a wrong token within rememberMs. */
  isSuspect(key: string): boolean {
    const n = this.networks.get(key) ?? (key === OVERFLOW_KEY ? this.overflow : undefined);
    return !!n && this.suspect(n, this.now());
  }

  /**
   * Ask for a turn to check one token from network `key`. Returns at once when it can be decided now, else a
   * promise that resolves when the turn comes (or is refused after maxWaitMs). isOpen: false once the client
   * has gone, so its place in line is given up.
   */
  turn(key: string, isOpen: () => boolean): Turn | Promise<Turn> {
    const now = this.now();
    this.prune(now);
    this.refillGlobal(now);
    let n = this.networks.get(key);
    if (n && !this.suspect(n, now) && n.waiters.length === 0) {
      this.networks.delete(key);
      n = undefined;
    }
    if (this.isKnown(key) && (!n || n.waiters.length === 0)) {
      if (n) this.refill(n, now);
      if (!n || n.tokens >= 1) {
        // The owner's network: at once, whatever others are doing; only its own budget applies.
        if (n) n.tokens -= 1;
        this.counts.checks++;
        return this.directGrant(key, n ?? null, false);
      }
    }
    if (!n && this.networks.size >= this.limits.maxNetworks) n = this.overflowNetwork(now);
    if (!n && this.cleanQueue.size === 0 && this.globalTokens >= 1) {
      // A network with no recent wrong token, and nobody in line ahead of it: check at once.
      this.globalTokens -= 1;
      this.counts.checks++;
      return this.directGrant(key, null, true);
    }
    if (!n) {
      n = { key, tokens: this.limits.perNetworkBurst, refilledAt: now, lastFailure: 0, waiters: [] };
      this.networks.set(key, n);
    }
    if (n.waiters.length >= this.limits.maxWaitingPerNetwork || this.waiting >= this.limits.maxWaiting) {
      this.counts.refused++;
      return { granted: false, retryAfterSeconds: this.retryAfter(n, now) };
    }
    const box: { turn: Turn | null; resolve: ((t: Turn) => void) | null } = { turn: null, resolve: null };
    n.waiters.push({
      key,
      isOpen,
      deadline: now + this.limits.maxWaitMs,
      resolve: (t) => {
        if (box.resolve) box.resolve(t);
        else box.turn = t;
      },
    });
    this.waiting++;
    this.queueOf(n, now).add(n);
    this.pump();
    if (box.turn) return box.turn;
    this.counts.waited++;
    return new Promise<Turn>((resolve) => {
      box.resolve = resolve;
    });
  }

  /** Stop the timer (server shutdown); waiting checks are refused. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const q of [this.cleanQueue, this.suspectQueue]) {
      for (const n of q) for (const w of n.waiters.splice(0)) w.resolve({ granted: false, retryAfterSeconds: 1 });
      q.clear();
    }
    this.waiting = 0;
  }

  private suspect(n: Network, now: number): boolean {
    return n.lastFailure > 0 && now - n.lastFailure < this.limits.rememberMs;
  }

  private queueOf(n: Network, now: number): Set<Network> {
    return this.suspect(n, now) ? this.suspectQueue : this.cleanQueue;
  }

  private overflowNetwork(now: number): Network {
    this.overflow ??= { key: OVERFLOW_KEY, tokens: this.limits.perNetworkBurst, refilledAt: now, lastFailure: 0, waiters: [] };
    return this.overflow;
  }

  private refillGlobal(now: number): void {
    const { globalBurst, globalPerSecond } = this.limits;
    this.globalTokens = Math.min(globalBurst, this.globalTokens + ((now - this.globalAt) * globalPerSecond) / 1000);
    this.globalAt = now;
  }

  private refill(n: Network, now: number): void {
    const { perNetworkBurst, perNetworkIntervalMs } = this.limits;
    n.tokens = Math.min(perNetworkBurst, n.tokens + (now - n.refilledAt) / perNetworkIntervalMs);
    n.refilledAt = now;
  }

  /** Forget networks whose last wrong token is older than rememberMs, oldest first. */
  private prune(now: number): void {
    for (const n of this.networks.values()) {
      if (this.suspect(n, now) || n.waiters.length > 0) break;
      this.networks.delete(n.key);
    }
    if (this.overflow && !this.suspect(this.overflow, now) && this.overflow.waiters.length === 0) this.overflow = null;
  }

  private retryAfter(n: Network, now: number): number {
    this.refill(n, now);
    const networkMs = n.tokens >= 1 ? 0 : (1 - n.tokens) * this.limits.perNetworkIntervalMs;
    const globalMs = this.globalTokens >= 1 ? 0 : ((1 - this.globalTokens) * 1000) / this.limits.globalPerSecond;
    return Math.max(1, Math.ceil((Math.max(networkMs, globalMs) + n.waiters.length * this.limits.perNetworkIntervalMs) / 1000));
  }

  /**
   * A turn decided at once. reserved: the network's unit (when tracked) and, with tookGlobal, a global one were
   * taken; a correct token gives them back, a wrong one is charged to the network (remembered from now on).
   */
  private directGrant(key: string, reserved: Network | null, tookGlobal: boolean): Turn {
    return this.settledOnce(
      key,
      () => this.refund(reserved, tookGlobal),
      () => {
        const now = this.now();
        if (!tookGlobal) {
          this.refillGlobal(now);
          this.globalTokens = Math.max(0, this.globalTokens - 1);
        }
        let n = reserved;
        if (!n) {
          this.prune(now);
          n = this.networks.get(key) ?? null;
          if (!n && this.networks.size >= this.limits.maxNetworks) n = this.overflowNetwork(now);
          if (!n) {
            n = { key, tokens: this.limits.perNetworkBurst, refilledAt: now, lastFailure: 0, waiters: [] };
            this.networks.set(key, n);
          }
          this.refill(n, now);
          n.tokens = Math.max(0, n.tokens - 1);
        }
        this.markFailure(n, now);
      },
    );
  }

  private grant(n: Network, key: string): Turn {
    return this.settledOnce(
      key,
      () => this.refund(n, true),
      () => this.markFailure(n, this.now()),
    );
  }

  /** A granted turn, settled at most once: a correct token makes its network known, then `correct` or `wrong` settles the budgets. */
  private settledOnce(key: string, correct: () => void, wrong: () => void): Turn {
    let settled = false;
    return {
      granted: true,
      settle: (ok) => {
        if (settled) return;
        settled = true;
        if (ok) {
          this.markKnown(key);
          correct();
        } else {
          this.counts.failures++;
          wrong();
        }
      },
    };
  }

  private markKnown(key: string): void {
    this.known.delete(key);
    this.known.set(key, this.now());
    while (this.known.size > this.limits.maxKnown) this.known.delete(this.known.keys().next().value!);
  }

  private markFailure(n: Network, now: number): void {
    n.lastFailure = now;
    if (n !== this.overflow) {
      this.networks.delete(n.key);
      this.networks.set(n.key, n);
    }
    if (this.cleanQueue.delete(n)) this.suspectQueue.add(n);
  }

  private refund(n: Network | null, global: boolean): void {
    const now = this.now();
    this.refillGlobal(now);
    if (global) this.globalTokens = Math.min(this.limits.globalBurst, this.globalTokens + 1);
    if (n) {
      this.refill(n, now);
      n.tokens = Math.min(this.limits.perNetworkBurst, n.tokens + 1);
    }
    if (this.waiting > 0) this.pump();
  }

  /**
   * Hand out every turn that both budgets allow now, refuse the ones that waited too long, and plan the next
   * wake-up. Runs from its own timer; public so a test with a fake clock can drive it.
   */
  poll(): void {
    this.pump();
  }

  private pump(): void {
    const now = this.now();
    this.refillGlobal(now);
    this.expire(now);
    while (this.globalTokens >= 1) {
      const n = this.nextEligible(now);
      if (!n) break;
      const w = n.waiters.shift()!;
      this.waiting--;
      // Round robin: a network that still has checks waiting goes to the back of its line.
      this.cleanQueue.delete(n);
      this.suspectQueue.delete(n);
      if (n.waiters.length > 0) this.queueOf(n, now).add(n);
      else this.release(n, now);
      if (!w.isOpen()) continue;
      n.tokens -= 1;
      this.globalTokens -= 1;
      this.counts.checks++;
      w.resolve(this.grant(n, w.key));
    }
    this.schedule(now);
  }

  private nextEligible(now: number): Network | null {
    for (const q of [this.cleanQueue, this.suspectQueue]) {
      for (const n of q) {
        this.refill(n, now);
        if (n.tokens >= 1) return n;
      }
    }
    return null;
  }

  /** A network left the queues: forget it unless it is still remembered for a wrong token. */
  private release(n: Network, now: number): void {
    this.cleanQueue.delete(n);
    this.suspectQueue.delete(n);
    if (n !== this.overflow && !this.suspect(n, now)) this.networks.delete(n.key);
  }

  private expire(now: number): void {
    for (const q of [this.cleanQueue, this.suspectQueue]) {
      for (const n of [...q]) {
        // Waiters of one network share maxWaitMs and queue in order: only the head can be the oldest.
        while (n.waiters.length > 0 && (n.waiters[0]!.deadline <= now || !n.waiters[0]!.isOpen())) {
          const w = n.waiters.shift()!;
          this.waiting--;
          if (w.isOpen()) {
            this.counts.refused++;
            w.resolve({ granted: false, retryAfterSeconds: this.retryAfter(n, now) });
          }
        }
        if (n.waiters.length === 0) this.release(n, now);
      }
    }
  }

  private schedule(now: number): void {
    if (this.waiting === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    const globalAt = this.globalTokens >= 1 ? now : now + ((1 - this.globalTokens) * 1000) / this.limits.globalPerSecond;
    let networkAt = Infinity;
    let deadline = Infinity;
    for (const q of [this.cleanQueue, this.suspectQueue]) {
      for (const n of q) {
        networkAt = Math.min(networkAt, n.tokens >= 1 ? now : n.refilledAt + (1 - n.tokens) * this.limits.perNetworkIntervalMs);
        deadline = Math.min(deadline, n.waiters[0]?.deadline ?? Infinity);
      }
    }
    const at = Math.max(now + 1, Math.min(Math.max(globalAt, networkAt), deadline));
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.pump();
    }, at - now);
    this.timer.unref();
  }
}
