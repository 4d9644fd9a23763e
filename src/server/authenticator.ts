/**
 * One place where every transport's token check goes (framewire/1 hello on TCP, TLS and WebSocket; HTTP
 * routes and the WebSocket upgrade): the comparison, the guessing budgets of auth-limiter.ts, and the log,
 * whose lines are bounded however fast a peer fails.
 */
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { addressKey } from './address-key.js';
import { AuthLimiter, type AuthLimits, type Turn } from './auth-limiter.js';
import { tokenMatches } from './token.js';

export type AuthVerdict =
  | { ok: true }
  | {
      ok: false;
      /** E_AUTH: no token or a wrong one; E_RATE_LIMITED: guessing budget spent, retry later; E_CLOSED: the client left while waiting. */
      code: 'E_AUTH' | 'E_RATE_LIMITED' | 'E_CLOSED';
      /** The token was missing (E_AUTH only): say how to send one rather than "wrong". */
      missing: boolean;
      text: string;
      retryAfterSeconds?: number;
    };

const OK: AuthVerdict = { ok: true };

export class Authenticator {
  readonly limiter: AuthLimiter;
  private readonly logs: LogThrottle;

  constructor(
    private readonly token: string | null,
    log: Logger,
    limits: Partial<AuthLimits> = {},
    now: () => number = Date.now,
  ) {
    this.limiter = new AuthLimiter(limits, now);
    this.logs = new LogThrottle(log, { prefix: 'E_AUTH:', now });
  }

  /** A token is required (the server was given one). */
  get required(): boolean {
    return this.token !== null;
  }

  /**
   * Check the token a client presents (null or '' when it sent none). A missing token is refused at once and
   * costs nothing; a wrong one is charged to the client's network and to the global budget; when either is
   * spent the check waits for its turn (see auth-limiter.ts). Synchronous when decided at once.
   * what: who asked, for the log ("framewire client", "http /stream.mjpg"). isOpen: false once the client left.
   */
  check(address: string, presented: string | null, what: string, isOpen: () => boolean = () => true): AuthVerdict | Promise<AuthVerdict> {
    if (this.token === null) return OK;
    if (!presented) {
      this.refusedAnonymous(address, what);
      return { ok: false, code: 'E_AUTH', missing: true, text: 'this server requires a token' };
    }
    const turn = this.limiter.turn(addressKey(address), isOpen);
    return turn instanceof Promise ? turn.then((t) => this.decide(t, address, presented, what, isOpen)) : this.decide(turn, address, presented, what, isOpen);
  }

  /** Log a client refused for sending no token (rate-limited like failures: anyone can send these). */
  refusedAnonymous(address: string, what: string, why = 'sent no token'): void {
    this.logs.line('info', `E_AUTH: ${what} ${address} ${why}`, 'without a token', address);
  }

  dispose(): void {
    this.limiter.dispose();
    this.logs.dispose();
  }

  private decide(turn: Turn, address: string, presented: string, what: string, isOpen: () => boolean): AuthVerdict {
    if (!turn.granted) {
      this.logs.line('warn', `E_RATE_LIMITED: ${what} ${address}: too many wrong tokens; retry in ${turn.retryAfterSeconds} s`, 'refused while guessing was rate-limited', address);
      return {
        ok: false,
        code: 'E_RATE_LIMITED',
        missing: false,
        text: `too many wrong tokens from this network; try again in ${turn.retryAfterSeconds} s`,
        retryAfterSeconds: turn.retryAfterSeconds,
      };
    }
    if (!isOpen()) {
      turn.settle(true); // nothing was checked: give the turn back
      return { ok: false, code: 'E_CLOSED', missing: false, text: 'client left while waiting' };
    }
    const correct = tokenMatches(this.token, presented);
    turn.settle(correct);
    if (correct) return OK;
    const limited = this.limiter.globallyLimited ? ' (wrong tokens from all addresses are being rationed)' : '';
    this.logs.line('warn', `E_AUTH: ${what} ${address} sent a wrong token${limited}`, 'wrong tokens', address);
    return { ok: false, code: 'E_AUTH', missing: false, text: 'wrong token' };
  }
}
