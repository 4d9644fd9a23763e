/**
 * The server's configuration, and the one way to make one: resolveServerConfig() turns options (parsed from
 * the command line by `serve`, given to startServer() by a program, or read from a file one day) into a
 * validated, frozen ServerConfig, with the same rules and the same messages whoever asks.
 */
import net from 'node:net';
import os from 'node:os';
import { FramewireError } from '../errors.js';
import { stderrLogger, type Logger } from '../log.js';
import { LIMITS, MAX_TOKEN_BYTES } from '../protocol/constants.js';
import type { StreamParams } from '../protocol/messages.js';
import { parseSourceSpec } from '../sources/spec.js';
import { MIN_TOKEN_LENGTH, weakTokenReason } from './token.js';
import { isH264EncoderChoice, type H264EncoderChoice } from '../pipeline/h264-encoder-args.js';

/** What framewire/1 clients may be granted: JPEG only, H.264 required, or H.264 when the encoder works here. */
export type ServeCodecs = 'jpeg' | 'h264' | 'both';

/** Validated once at the edge (resolveServerConfig), frozen, and trusted inside. */
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
  /** Accept a token that could be guessed (under 16 characters, or under 8 different ones). */
  readonly allowWeakToken: boolean;
  /** HTTP: take the client's address from X-Forwarded-For (set by a reverse proxy in front). */
  readonly trustProxy: boolean;
  /**
   * HTTP: host names accepted in the Host header besides IP literals and localhost (DNS rebinding guard),
   * lower-case; the machine's own name (and NAME.local) is always among them.
   */
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
  /**
   * H.264 for framewire/1 clients that offer it (docs/h264.md): 'both' (default) when the encoder probe
   * succeeds at start-up, else JPEG and a log line; 'h264' fails the start-up without a working encoder;
   * 'jpeg' never. Clients that do not offer H.264 always get JPEG.
   */
  readonly codec: ServeCodecs;
  /** H.264 bitrate, kbit/s. */
  readonly bitrate: number;
  /** Seconds from one H.264 keyframe to the next (the longest a viewer without a catch-up run waits). */
  readonly gop: number;
  readonly h264Encoder: H264EncoderChoice;
  readonly log: Logger;
}

/** What a configuration may say: any part of a ServerConfig; what it leaves out is the default. */
export type ServerOptions = Partial<Omit<ServerConfig, 'defaults' | 'bounds'>> & {
  readonly defaults?: Partial<StreamParams>;
  readonly bounds?: Partial<ServerConfig['bounds']>;
};

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
  allowWeakToken: false,
  trustProxy: false,
  hostnames: [],
  allowOrigins: [],
  allowSeedClients: false,
  handshakeTimeoutMs: 5000,
  idleTimeoutMs: 30_000,
  maxClientMessageBytes: 4096,
  window: 2,
  codec: 'both',
  bitrate: 2000,
  gop: 2,
  h264Encoder: 'auto',
} as const satisfies Omit<ServerConfig, 'log'>;

/** The range of each number a configuration holds, and the flag that sets it. */
export const CONFIG_RANGES = {
  port: { flag: 'port', min: 0, max: 65535 },
  httpPort: { flag: 'http-port', min: 0, max: 65535 },
  width: { flag: 'width', min: LIMITS.minWidth, max: LIMITS.maxWidth },
  height: { flag: 'height', min: LIMITS.minHeight, max: LIMITS.maxHeight },
  fps: { flag: 'fps', min: LIMITS.minFps, max: LIMITS.maxFps },
  quality: { flag: 'quality', min: LIMITS.minQuality, max: LIMITS.maxQuality },
  maxWidth: { flag: 'max-width', min: LIMITS.minWidth, max: LIMITS.maxWidth },
  maxHeight: { flag: 'max-height', min: LIMITS.minHeight, max: LIMITS.maxHeight },
  maxFps: { flag: 'max-fps', min: LIMITS.minFps, max: LIMITS.maxFps },
  maxProfiles: { flag: 'max-profiles', min: 1, max: 256 },
  // Pixels per second; the flag says megapixels.
  encodeBudget: { flag: 'encode-budget', min: 1e6, max: 1e12 },
  maxClients: { flag: 'max-clients', min: 1, max: 100_000 },
  maxClientsPerAddress: { flag: 'max-clients-per-address', min: 1, max: 100_000 },
  handshakeTimeoutMs: { flag: 'handshake-timeout', min: 100, max: 600_000 },
  idleTimeoutMs: { flag: 'idle-timeout', min: 1000, max: 86_400_000 },
  maxClientMessageBytes: { flag: 'max-message', min: 64, max: 1 << 20 },
  // The wire's u16 (docs/protocol.md §3.3). A window beyond a few frames leaves only the socket buffers to
  // bound latency; it costs the server no memory (one write is pending per client whatever the window).
  window: { flag: 'window', min: 1, max: 65535 },
  // The encoder's own range (h264-encoder-args.ts: 50 kbit/s to 100 Mbit/s).
  bitrate: { flag: 'bitrate', min: 50, max: 100_000 },
  // A keyframe at least every minute: a GOP is also the longest a joiner may wait when no catch-up run is cached.
  gop: { flag: 'gop', min: 1, max: 60 },
} as const;

type RangeName = keyof typeof CONFIG_RANGES;

function bad(text: string): FramewireError {
  return new FramewireError('E_BAD_PARAMS', text);
}

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 100)) : String(v);
}

function whole(name: RangeName, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const { flag, min, max } = CONFIG_RANGES[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    if (name === 'encodeBudget') {
      throw bad(`encodeBudget must be from ${min} to ${max} pixels a second (--encode-budget ${min / 1e6} to ${max / 1e6} megapixels; got ${shown(value)})`);
    }
    throw bad(`${name} (--${flag}) must be a whole number from ${min} to ${max} (got ${shown(value)})`);
  }
  return value;
}

function bool(name: keyof ServerConfig, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw bad(`${name} must be true or false (got ${shown(value)})`);
  return value;
}

function list(name: keyof ServerConfig, value: unknown): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad(`${name} must be a list (got ${shown(value)})`);
  return value;
}

/** An --allow-origin value in the form browsers send (scheme://host[:port], default port left out), or "*". */
export function normaliseOrigin(value: string): string | null {
  if (value === '*') return value;
  try {
    const u = new URL(value);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin === 'null') return null;
    return u.origin;
  } catch {
    return null;
  }
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function hostName(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 253) return null;
  const n = v.toLowerCase().replace(/\.$/, '');
  return HOST_NAME.test(n) ? n : null;
}

function listenHost(v: unknown): string {
  if (v === undefined) return DEFAULT_SERVER_CONFIG.host;
  if (typeof v === 'string' && (net.isIP(v) !== 0 || hostName(v) !== null)) return v;
  throw bad(`host (--host) must be an IP address or a host name (got ${shown(v)})`);
}

function checkedToken(v: unknown, allowWeak: boolean): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '') throw bad('the token must be a non-empty string (or null for none)');
  if (Buffer.byteLength(v) > MAX_TOKEN_BYTES) throw bad(`the token must be at most ${MAX_TOKEN_BYTES} bytes`);
  const weak = weakTokenReason(v);
  if (weak && !allowWeak) {
    throw bad(
      `the token is too weak to stand up to guessing: ${weak} (for example: openssl rand -base64 18). ` +
        `--allow-weak-token (allowWeakToken) accepts it anyway; at least ${MIN_TOKEN_LENGTH} characters is the rule of thumb.`,
    );
  }
  return v;
}

function isLogger(v: unknown): v is Logger {
  const l = v as Partial<Logger> | null;
  return typeof l === 'object' && l !== null && typeof l.info === 'function' && typeof l.warn === 'function' && typeof l.error === 'function';
}

/**
 * Options in, a validated and frozen ServerConfig out; a value out of its range, a weak token (unless
 * allowWeakToken), a malformed host, host name or origin is E_BAD_PARAMS naming it and its flag. Resolving
 * a resolved configuration gives the same configuration.
 */
export function resolveServerConfig(options: ServerOptions = {}): ServerConfig {
  const o = options;
  const d = DEFAULT_SERVER_CONFIG;
  const source = o.source ?? d.source;
  if (typeof source !== 'string') throw bad(`source (--source) must be a string (got ${shown(source)})`);
  parseSourceSpec(source);
  const maxClients = whole('maxClients', o.maxClients, d.maxClients);
  const allowWeakToken = bool('allowWeakToken', o.allowWeakToken, d.allowWeakToken);
  const hostnames = list('hostnames', o.hostnames).map((v) => {
    const n = hostName(v);
    if (n === null) throw bad(`--hostname ${shown(v)}: expected a host name such as camera.example.org`);
    return n;
  });
  // The machine's own name (and its mDNS form) is not a name an outside page can point at this server.
  const own = os.hostname().toLowerCase();
  if (own) hostnames.push(own, `${own}.local`);
  const allowOrigins = list('allowOrigins', o.allowOrigins).map((v) => {
    const origin = typeof v === 'string' ? normaliseOrigin(v) : null;
    if (origin === null) throw bad(`--allow-origin ${shown(v)}: expected an origin such as https://dash.example.org, or *`);
    return origin;
  });
  const codec = o.codec ?? d.codec;
  if (codec !== 'jpeg' && codec !== 'h264' && codec !== 'both') throw bad(`codec (--codec) must be jpeg, h264 or both (got ${shown(codec)})`);
  const h264Encoder = o.h264Encoder ?? d.h264Encoder;
  if (typeof h264Encoder !== 'string' || !isH264EncoderChoice(h264Encoder)) {
    throw bad(`h264Encoder (--h264-encoder) must be auto, libx264, h264_v4l2m2m, h264_vaapi, h264_nvenc or h264_qsv (got ${shown(h264Encoder)})`);
  }
  const log = o.log ?? stderrLogger();
  if (!isLogger(log)) throw bad('log must have info, warn and error functions');
  return Object.freeze({
    source,
    loop: bool('loop', o.loop, d.loop),
    passthrough: bool('passthrough', o.passthrough, d.passthrough),
    host: listenHost(o.host),
    port: whole('port', o.port, d.port),
    httpPort: o.httpPort === null ? null : whole('httpPort', o.httpPort, d.httpPort),
    defaults: Object.freeze({
      width: whole('width', o.defaults?.width, d.defaults.width),
      height: whole('height', o.defaults?.height, d.defaults.height),
      fps: whole('fps', o.defaults?.fps, d.defaults.fps),
      quality: whole('quality', o.defaults?.quality, d.defaults.quality),
    }),
    bounds: Object.freeze({
      maxWidth: whole('maxWidth', o.bounds?.maxWidth, d.bounds.maxWidth),
      maxHeight: whole('maxHeight', o.bounds?.maxHeight, d.bounds.maxHeight),
      maxFps: whole('maxFps', o.bounds?.maxFps, d.bounds.maxFps),
    }),
    maxProfiles: whole('maxProfiles', o.maxProfiles, d.maxProfiles),
    encodeBudget: whole('encodeBudget', o.encodeBudget, d.encodeBudget),
    allowUpscale: bool('allowUpscale', o.allowUpscale, d.allowUpscale),
    maxClients,
    maxClientsPerAddress: whole('maxClientsPerAddress', o.maxClientsPerAddress, Math.min(maxClients, d.maxClientsPerAddress)),
    token: checkedToken(o.token, allowWeakToken),
    allowWeakToken,
    trustProxy: bool('trustProxy', o.trustProxy, d.trustProxy),
    hostnames: Object.freeze([...new Set(hostnames)]),
    allowOrigins: Object.freeze([...new Set(allowOrigins)]),
    allowSeedClients: bool('allowSeedClients', o.allowSeedClients, d.allowSeedClients),
    handshakeTimeoutMs: whole('handshakeTimeoutMs', o.handshakeTimeoutMs, d.handshakeTimeoutMs),
    idleTimeoutMs: whole('idleTimeoutMs', o.idleTimeoutMs, d.idleTimeoutMs),
    maxClientMessageBytes: whole('maxClientMessageBytes', o.maxClientMessageBytes, d.maxClientMessageBytes),
    window: whole('window', o.window, d.window),
    codec,
    bitrate: whole('bitrate', o.bitrate, d.bitrate),
    gop: whole('gop', o.gop, d.gop),
    h264Encoder,
    log,
  });
}
