/**
 * Connections that have not yet become streaming clients (no hello yet, a TLS handshake, an HTTP request
 * that is not a stream): a bounded pool that never refuses a newcomer. An honest handshake takes
 * milliseconds, so when the pool is full the oldest handshake of the address holding the most is dropped
 * instead: one address (or one IPv6 /64) can fill the pool only while nobody else is waiting, and it
 * cannot keep anyone else out. Every entry may also carry a deadline after which it is dropped whatever
 * it is doing.
 */
import net from 'node:net';
import { addressKey } from './address-key.js';

/**
 * Connections per port that are not streaming clients, on top of --max-clients: what slow, idle or
 * never-finishing peers can hold. An honest handshake is over in milliseconds, so 256 is room for a
 * reconnect storm of hundreds of viewers at once.
 */
export const MAX_PENDING_HANDSHAKES = 256;

export type DropReason = 'evicted' | 'deadline';

export interface PendingEntry {
  readonly address: string;
  /** The address as the pool counts it (IPv6 by /64: one host usually owns a whole /64). */
  readonly group: string;
}

interface Entry extends PendingEntry {
  readonly drop: (why: DropReason) => void;
  timer: NodeJS.Timeout | null;
  live: boolean;
}

export interface PendingHandshakesOptions {
  capacity: number;
  /** Drop an entry this long after it was added; null: no deadline (the owner has its own timers). */
  deadlineMs: number | null;
}

/** IPv4 (also IPv4-mapped IPv6) as it is; any other IPv6 address by its /64 prefix (one rule for every per-address limit). */
export const addressGroup = addressKey;

export class PendingHandshakes {
  /** Entries per group, oldest first (a Set keeps insertion order). */
  private readonly groups = new Map<string, Set<Entry>>();
  private count = 0;
  /** Entries dropped to make room, since start (for logs and tests). */
  evicted = 0;

  constructor(private readonly options: PendingHandshakesOptions) {}

  get size(): number {
    return this.count;
  }

  countFor(address: string): number {
    return this.groups.get(addressGroup(address))?.size ?? 0;
  }

  /**
   * Admit a connection; if the pool is full, first drop the oldest entry of the group with the most entries
   * (its drop callback runs synchronously, with 'evicted'). Returns the entry to release() once the
   * connection streams or closes.
   */
  add(address: string, drop: (why: DropReason) => void): PendingEntry {
    while (this.count >= this.options.capacity) {
      const victim = this.oldestOfLargestGroup();
      if (!victim) break;
      this.evicted++;
      this.release(victim);
      victim.drop('evicted');
    }
    const group = addressGroup(address);
    const e: Entry = { address, group, drop, timer: null, live: true };
    let set = this.groups.get(group);
    if (!set) this.groups.set(group, (set = new Set()));
    set.add(e);
    this.count++;
    if (this.options.deadlineMs !== null) {
      e.timer = setTimeout(() => {
        this.release(e);
        e.drop('deadline');
      }, this.options.deadlineMs);
      e.timer.unref();
    }
    return e;
  }

  /** The connection is streaming, or gone. Idempotent. */
  release(entry: PendingEntry): void {
    const e = entry as Entry;
    if (!e.live) return;
    e.live = false;
    if (e.timer) clearTimeout(e.timer);
    const set = this.groups.get(e.group);
    set?.delete(e);
    if (set?.size === 0) this.groups.delete(e.group);
    this.count--;
  }

  private oldestOfLargestGroup(): Entry | null {
    let best: Set<Entry> | null = null;
    // Ties go to the group created first (Map order).
    for (const set of this.groups.values()) if (!best || set.size > best.size) best = set;
    return best ? (best.values().next().value ?? null) : null;
  }
}

/** One TCP connection, the same for its raw socket and a TLS socket on top of it. */
function peerKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/**
 * Put every connection a server accepts into the pool, from the moment it is accepted (before any TLS
 * handshake) until it closes or the returned admitted() says it streams. A dropped connection is destroyed.
 */
export function poolConnections(
  server: net.Server,
  pool: PendingHandshakes,
  onDrop: (address: string, why: DropReason) => void,
): (socket: net.Socket) => void {
  const byPeer = new Map<string, PendingEntry>();
  // Ahead of the server's own listeners, so the pool knows a connection before anything reads from it.
  server.prependListener('connection', (raw: net.Socket) => {
    const address = raw.remoteAddress;
    if (address === undefined) {
      raw.destroy(); // already reset by the peer
      return;
    }
    const key = peerKey(raw);
    const entry = pool.add(address, (why) => {
      onDrop(address, why);
      raw.destroy();
    });
    byPeer.set(key, entry);
    raw.once('close', () => {
      pool.release(entry);
      if (byPeer.get(key) === entry) byPeer.delete(key);
    });
  });
  return (socket) => {
    const key = peerKey(socket);
    const entry = byPeer.get(key);
    if (!entry) return;
    pool.release(entry);
    byPeer.delete(key);
  };
}

/** Log a flood of drops without flooding the log: the first at once, then one summary every 10 s at most. */
export function dropLogger(log: { warn(msg: string): void }, where: string): (address: string, why: DropReason) => void {
  let last = -Infinity;
  let since = { evicted: 0, deadline: 0 };
  return (address, why) => {
    since[why]++;
    const now = performance.now();
    if (now - last < 10_000) return;
    last = now;
    const n = since.evicted + since.deadline;
    since = { evicted: 0, deadline: 0 };
    log.warn(
      `E_TOO_MANY_CLIENTS: ${where}: dropped ${n} pending connection${n === 1 ? '' : 's'} ` +
        `(to make room for newcomers or past their deadline), the latest from ${address}`,
    );
  };
}
