/**
 * What a peer may make the server say. Every reply a peer can trigger (PONG, ACCEPT, errors) is output it
 * can refuse to read, so the triggers are rate-limited and the unread replies are bounded
 * (docs/security.md, "What a peer can make the server do").
 */

/** A token bucket: up to `burst` at once, refilled at `perSecond`. */
export class RateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** True if one more event is allowed now (and counts it). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Messages of any kind from one client. An honest client sends an ACK per frame (at most 120 a second) and
 * a ping a second; this bounds the decoding work one connection can cost at any byte rate.
 */
export const MESSAGE_RATE = { perSecond: 1000, burst: 1000 } as const;

/**
 * Client PINGs (framewire/1, and WebSocket pings on /ws). The reference clients send 5 in their first
 * 200 ms and then 1 a second; 5 a second sustained with a burst of 20 leaves room for any sane client and
 * still stops a flood after 20 replies.
 */
export const PING_RATE = { perSecond: 5, burst: 20 } as const;

/**
 * RENEGOTIATEs: each may start a new encode and is answered with an ACCEPT. A person clicking through the
 * viewer's menus stays far below 2 a second sustained with a burst of 10.
 */
export const RENEGOTIATE_RATE = { perSecond: 2, burst: 10 } as const;

/**
 * Control replies (PONG, ACCEPT, STATUS, PING) a peer may leave unread before the server stops reading from
 * it. They are counted once written and until the OS takes them, so they only pile up behind a kernel
 * buffer the peer has stopped emptying; an honest client has a few hundred bytes of them there at most.
 * A peer still that far behind a third of --idle-timeout later is closed.
 */
export const CONTROL_BACKLOG_BYTES = 16 * 1024;
