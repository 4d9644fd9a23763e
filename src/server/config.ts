import os from 'node:os';
import { LIMITS } from '../protocol/constants.js';
import type { StreamParams } from '../protocol/messages.js';
import type { Logger } from '../log.js';

/** Validated once at the edge (CLI flags or startServer options), frozen, and trusted inside. */
export interface ServerConfig {
  /** Source spec, e.g. "testpattern", "camera", "file:clip.mp4" (docs/sources.md). */
  readonly source: string;
  readonly loop: boolean;
  /** Forward a source's JPEG untouched to clients at its exact size (false: always re-encode at the asked quality). */
  readonly passthrough: boolean;
  readonly host: string;
  /** framewire/1 + tutorial TCP port; 0 picks a free port. */
  readonly port: number;
  /** HTTP (viewer, MJPEG, snapshot, status, metrics); 0 picks a free port, null turns it off. */
  readonly httpPort: number | null;
  /** Source size and rate, and the profile a client gets when it asks for 0 (default). */
  readonly defaults: StreamParams;
  /** Largest size and rate a client may be granted (requests above are clamped). */
  readonly bounds: { readonly maxWidth: number; readonly maxHeight: number; readonly maxFps: number };
  /** Distinct (size, quality) profiles encoded at once; further requests get a live profile at or below theirs. */
  readonly maxProfiles: number;
  /**
   * Encoding work clients may cause, in pixels per second over all profiles (each encoded frame counts its
   * output pixels, plus the source's when it is resized). The default profile is always served.
   */
  readonly encodeBudget: number;
  /** Grant pictures larger than the source (default false: upscaling costs encoding and adds no detail). */
  readonly allowUpscale: boolean;
  readonly maxClients: number;
  /** Streaming clients from one IPv4 address or IPv6 /64 (server/address-key.ts). */
  readonly maxClientsPerAddress: number;
  /** Shared secret required in the hello (and on HTTP); null: no authentication. */
  readonly token: string | null;
  /** HTTP: take the client's address from X-Forwarded-For (set by a reverse proxy in front). */
  readonly trustProxy: boolean;
  /** HTTP: host names accepted in the Host header besides IP literals and localhost (DNS rebinding guard). */
  readonly hostnames: readonly string[];
  /** Origins (scheme://host[:port], or "*") whose pages may open the WebSocket besides the server's own. */
  readonly allowOrigins: readonly string[];
  /** Serve tutorial-format clients (which cannot send a token) even when a token is set. */
  readonly allowSeedClients: boolean;
  /** A connection must complete its hello within this (slow-loris guard). */
  readonly handshakeTimeoutMs: number;
  /** A client that sends nothing (no ack, no pong) for this long is disconnected. */
  readonly idleTimeoutMs: number;
  /** Largest message a client may send (clients only send small control messages). */
  readonly maxClientMessageBytes: number;
  /** Frames sent ahead of a framewire/1 client's acks (end-to-end bound on queued frames). */
  readonly window: number;
  readonly log: Logger;
}

/**
 * Default encode budget per core, in pixels per second. Measured on the reference 2-core machine: one core
 * encodes 330 to 440 million such pixels a second from a 1280x720 source (native encoder at the source size,
 * sharp when resizing); the default allows about a quarter of that, leaving the rest for capture, fan-out
 * and the event loop (docs/security.md).
 */
export const ENCODE_BUDGET_PER_CORE = 100_000_000;

export const DEFAULT_SERVER_CONFIG = {
  source: 'testpattern',
  loop: true,
  passthrough: true,
  host: '0.0.0.0',
  port: 8880,
  httpPort: 8080,
  defaults: { width: 1280, height: 720, fps: 30, quality: 80 },
  bounds: { maxWidth: LIMITS.maxWidth, maxHeight: LIMITS.maxHeight, maxFps: LIMITS.maxFps },
  maxProfiles: 16,
  encodeBudget: ENCODE_BUDGET_PER_CORE * Math.max(1, os.availableParallelism()),
  allowUpscale: false,
  maxClients: 1000,
  // A household behind one address: a few screens with a viewer page or a player each, with room to spare;
  // one address alone can then hold at most 2 % of --max-clients.
  maxClientsPerAddress: 20,
  token: null,
  trustProxy: false,
  hostnames: [],
  allowOrigins: [],
  allowSeedClients: false,
  handshakeTimeoutMs: 5000,
  idleTimeoutMs: 30_000,
  maxClientMessageBytes: 4096,
  window: 2,
} as const satisfies Omit<ServerConfig, 'log'>;
