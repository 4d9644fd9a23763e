import { FramewireError } from '../errors.js';
import type { Profile } from '../pipeline/profile.js';
import { addressKey } from './address-key.js';

/** How a client is served: 'mjpeg' is /stream.mjpg, 'mpegts' is /stream.ts (H.264 for players). */
export type ClientProtocol = 'framewire' | 'tutorial' | 'websocket' | 'mjpeg' | 'mpegts';

export interface ClientRecord {
  readonly id: number;
  readonly address: string;
  readonly protocol: ClientProtocol;
  readonly connectedAt: number;
  profile: Profile | null;
  fps: number;
  /** Live counters, read through the getter: each viewer owns its own (server/viewer.ts). */
  counters: () => ClientTotals;
}

export interface ClientInfo {
  id: number;
  address: string;
  protocol: ClientProtocol;
  connectedSeconds: number;
  width: number | null;
  height: number | null;
  quality: number | null;
  fps: number;
  sent: number;
  dropped: number;
  bytes: number;
}

export interface ClientTotals {
  sent: number;
  dropped: number;
  bytes: number;
  /** Of `dropped`: H.264 frames dropped to keep a viewer's reference chain whole (skipped to the next keyframe). */
  skipped: number;
}

/** Every streaming client of every transport, so limits and status are counted once. */
export class ClientRegistry {
  private readonly clients = new Set<ClientRecord>();
  /** What clients that have left were sent and dropped: folded in as each leaves, so totals never go down. */
  private readonly retired: ClientTotals = { sent: 0, dropped: 0, bytes: 0, skipped: 0 };
  private readonly perAddress = new Map<string, number>();
  private nextId = 1;

  constructor(
    readonly maxClients: number,
    readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Admit a client or explain why not (E_TOO_MANY_CLIENTS). */
  admit(address: string, protocol: ClientProtocol, counters: ClientRecord['counters']): ClientRecord {
    if (this.clients.size >= this.maxClients) {
      throw new FramewireError('E_TOO_MANY_CLIENTS', `server is full (${this.maxClients} clients, --max-clients)`);
    }
    // One IPv6 host has a whole /64 to pick addresses from: count it as one.
    const key = addressKey(address);
    const n = this.perAddress.get(key) ?? 0;
    if (n >= this.maxPerAddress) {
      throw new FramewireError('E_TOO_MANY_CLIENTS', `too many clients from ${address} (${this.maxPerAddress}, --max-clients-per-address)`);
    }
    const rec: ClientRecord = { id: this.nextId++, address, protocol, connectedAt: Date.now(), profile: null, fps: 0, counters };
    this.clients.add(rec);
    this.perAddress.set(key, n + 1);
    return rec;
  }

  remove(rec: ClientRecord): void {
    if (!this.clients.delete(rec)) return;
    const k = rec.counters();
    this.retired.sent += k.sent;
    this.retired.dropped += k.dropped;
    this.retired.bytes += k.bytes;
    this.retired.skipped += k.skipped;
    const key = addressKey(rec.address);
    const n = (this.perAddress.get(key) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(key);
    else this.perAddress.set(key, n);
  }

  /** Monotonic totals over every client since start: those that left plus those streaming now. */
  totals(): ClientTotals {
    const t = { ...this.retired };
    for (const c of this.clients) {
      const k = c.counters();
      t.sent += k.sent;
      t.dropped += k.dropped;
      t.bytes += k.bytes;
      t.skipped += k.skipped;
    }
    return t;
  }

  list(): ClientInfo[] {
    const now = Date.now();
    return [...this.clients].map((c) => {
      const k = c.counters();
      return {
        id: c.id,
        address: c.address,
        protocol: c.protocol,
        connectedSeconds: Math.round((now - c.connectedAt) / 100) / 10,
        width: c.profile?.width ?? null,
        height: c.profile?.height ?? null,
        quality: c.profile?.quality ?? null,
        fps: c.fps,
        ...k,
      };
    });
  }
}
