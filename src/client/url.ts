import { FramewireError } from '../errors.js';

export type StreamScheme = 'tcp' | 'tls' | 'seed';

export interface StreamUrl {
  scheme: StreamScheme;
  host: string;
  port: number;
}

export const DEFAULT_TCP_PORT = 8880;

/** Parse tcp://host:port, tls://host:port or seed://host:port (the tutorial's format). */
export function parseStreamUrl(url: string): StreamUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FramewireError('E_BAD_PARAMS', `not a URL: ${JSON.stringify(url)} (expected tcp://HOST:PORT, tls://HOST:PORT or seed://HOST:PORT)`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'tcp' && scheme !== 'tls' && scheme !== 'seed') {
    throw new FramewireError('E_BAD_PARAMS', `unsupported scheme ${scheme}: (expected tcp, tls or seed)`);
  }
  const port = u.port ? Number(u.port) : DEFAULT_TCP_PORT;
  if (!u.hostname) throw new FramewireError('E_BAD_PARAMS', `no host in ${url}`);
  return { scheme, host: u.hostname.replace(/^\[|\]$/g, ''), port };
}
