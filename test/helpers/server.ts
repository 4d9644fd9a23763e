import net from 'node:net';
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer, type ExtraTransport } from '../../src/server/server.js';
import { TestPatternSource } from '../../src/sources/testpattern.js';
import type { TcpTransportOptions } from '../../src/server/tcp/tcp-transport.js';
import type { Source } from '../../src/sources/source.js';
import type { AuthLimits } from '../../src/server/auth-limiter.js';
import { silentLogger } from '../../src/log.js';

export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return Object.freeze({
    ...DEFAULT_SERVER_CONFIG,
    host: '127.0.0.1',
    port: 0,
    httpPort: null,
    defaults: { width: 640, height: 360, fps: 30, quality: 75 },
    log: silentLogger,
    // Tests use short tokens where the token's strength is not what they test.
    allowWeakToken: true,
    // H.264 only where a test asks for it: no encoder probe at every test server's start-up.
    codec: 'jpeg',
    ...overrides,
  });
}

/** A server on a free loopback port with the test pattern (640x360@30 unless overridden). */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  opts: { source?: Source; extras?: ExtraTransport[]; tcp?: TcpTransportOptions; authLimits?: Partial<AuthLimits> } = {},
): Promise<RunningServer> {
  const config = testConfig(overrides);
  return startServer(config, opts.source ?? new TestPatternSource(config.defaults), {
    extras: opts.extras ?? [],
    ...(opts.tcp ? { tcp: opts.tcp } : {}),
    ...(opts.authLimits ? { authLimits: opts.authLimits } : {}),
  });
}

/** A raw TCP connection to the server (for speaking bytes the library would never send). */
export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolve with everything the peer sends until it closes; reject if it stays open past ms. */
export function readUntilClose(s: net.Socket, ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Reject a promise that takes longer than ms, naming what was awaited. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * Resolve once cond() holds, checking every `everyMs`; reject after ms naming what was awaited.
 * For state with no event to wait on (registries, files on disk); prefer events where they exist.
 */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 20): Promise<void> {
  let stop = false;
  const poll = (async () => {
    while (!stop && !(await cond())) await new Promise((r) => setTimeout(r, everyMs));
  })();
  try {
    await within(poll, ms, what);
  } finally {
    stop = true;
  }
}
