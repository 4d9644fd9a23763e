/**
 * The HTTP port: the browser viewer, framewire/1 over WebSocket, MJPEG for players, snapshots, status,
 * Prometheus metrics and a health check — one listener, one route table (docs/http.md).
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { FramewireError, toFramewireError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { grantParams } from '../grant.js';
import { dropLogger, MAX_PENDING_HANDSHAKES, PendingHandshakes, poolConnections } from '../pending-handshakes.js';
import type { ExtraTransport, RunningTransport } from '../transport.js';
import { createWebSocketEndpoint } from '../websocket/websocket-transport.js';
import { clientAddress } from './client-address.js';
import { hostAllowed, originAllowed } from './host-origin.js';
import { checkRequestAuth } from './http-auth.js';
import { createServerMetrics } from './metrics.js';
import { mjpegStreams } from './mjpeg-stream.js';
import { tsStreams } from './ts-stream.js';
import { parseStreamQuery } from './query-params.js';
import { sendBody, sendText } from './respond.js';
import { watchSource } from './source-health.js';
import { statusReport } from './status-report.js';
import { findViewerDir, isViewerPath, readViewerFile, VIEWER_CSP } from './viewer-files.js';

export interface HttpTransportOptions {
  /** TLS certificate and key (PEM); absent: plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** Longer URLs are refused with 414: no route needs more than a few parameters. */
export const MAX_URL_LENGTH = 2048;
/** Request head limit (node answers 431 beyond it). */
export const MAX_HEADER_BYTES = 8192;
/**
 * How often node looks for requests past their header/request timeouts. Its default (30 s) let a silent
 * connection live 25-35 s whatever the timeouts said.
 */
export function timeoutCheckMs(handshakeTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(handshakeTimeoutMs / 5)));
}

type Route = 'viewer' | 'ws' | 'mjpeg' | 'ts' | 'snapshot' | 'status' | 'metrics' | 'healthz';

function routeOf(pathname: string): Route | null {
  if (isViewerPath(pathname)) return 'viewer';
  switch (pathname) {
    case '/ws':
      return 'ws';
    case '/stream.mjpg':
      return 'mjpeg';
    case '/stream.ts':
      return 'ts';
    case '/snapshot.jpg':
      return 'snapshot';
    case '/api/status':
      return 'status';
    case '/metrics':
      return 'metrics';
    case '/healthz':
      return 'healthz';
    default:
      return null;
  }
}

/** Answer to a Host header this server does not know itself by (see host-origin.ts). */
const WRONG_HOST = 'This server does not answer to that host name (a guard against DNS rebinding): use its IP address, or start it with --hostname NAME.';

/** Refuse an upgrade on the raw socket (no ServerResponse exists for upgrades). */
function refuseUpgrade(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** The URL of a request, or null when it is not a path we could parse. */
function requestUrl(req: http.IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://framewire.invalid');
  } catch {
    return null;
  }
}

export function httpTransport(options: HttpTransportOptions = {}): ExtraTransport {
  return { start: (ctx) => startHttpTransport(ctx, options) };
}

export function startHttpTransport(ctx: ServerContext, options: HttpTransportOptions = {}): Promise<RunningTransport> {
  const { config, hub } = ctx;
  if (config.httpPort === null) {
    return Promise.reject(new FramewireError('E_INTERNAL', 'httpTransport started with httpPort null (HTTP turned off)'));
  }
  const httpPort = config.httpPort;
  const startedAt = Date.now();
  const metrics = createServerMetrics(ctx);
  // Set once the server exists: a connection that streams leaves the pending pool.
  let admitted: (socket: net.Socket) => void = () => {};
  const health = watchSource(hub);
  const mjpeg = mjpegStreams(ctx, health, (res) => admitted(res.socket as net.Socket));
  const ts = tsStreams(ctx, health, (res) => admitted(res.socket as net.Socket));
  const ws = createWebSocketEndpoint(ctx);
  let viewerDir = findViewerDir();
  let closing = false;
  let closed: Promise<void> | null = null;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const address = clientAddress(req, config.trustProxy);
    if ((req.url ?? '').length > MAX_URL_LENGTH) return sendText(res, 414, `URL longer than ${MAX_URL_LENGTH} characters.`);
    if (!hostAllowed(req.headers.host, config.hostnames)) return sendText(res, 403, WRONG_HOST);
    const url = requestUrl(req);
    if (!url) return sendText(res, 400, 'Malformed URL.');
    const route = routeOf(url.pathname);
    if (!route) return sendText(res, 404, `No such page: ${url.pathname}. Try / (viewer), /stream.mjpg, /stream.ts, /snapshot.jpg, /api/status, /metrics.`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, `${req.method} is not allowed here; use GET.`, { Allow: 'GET, HEAD' });
    if (route === 'healthz') {
      // A monitor reads the status code; a person reads what is wrong.
      const h = health();
      return h.problem === null ? sendText(res, 200, 'ok') : sendText(res, 503, h.problem, { 'Retry-After': '5' });
    }
    // The viewer's page, script and stylesheet are the package's static files and carry no data; they load
    // without a token so the page can ask the user for one (its WebSocket hello is then checked like TCP's).
    if (route !== 'viewer') {
      const auth = await checkRequestAuth(ctx, req, url, address);
      if (!auth.ok) return auth.status === 499 ? void res.destroy() : sendText(res, auth.status, auth.text, auth.headers);
    }
    if (closing) return sendText(res, 503, 'Server shutting down.', { Connection: 'close' });

    switch (route) {
      case 'viewer': {
        // Looked for again while missing, so a build made after the server started is picked up.
        viewerDir ??= findViewerDir();
        const file = viewerDir ? await readViewerFile(viewerDir, url.pathname) : null;
        if (!file) return sendText(res, 503, 'The viewer is not built: run `npm run build` (or `node scripts/build-web.mjs`).');
        return sendBody(res, 200, file.type, file.body, { 'Cache-Control': 'no-cache', 'Content-Security-Policy': VIEWER_CSP });
      }
      case 'ws':
        // A plain GET reached the WebSocket path (upgrades go through the 'upgrade' event).
        return sendText(res, 426, 'This is the WebSocket endpoint (framewire/1); open / in a browser.', { Upgrade: 'websocket' });
      case 'ts': {
        const q = parseStreamQuery(url.searchParams);
        if (!q.ok) return sendText(res, 400, `${q.error.code}: ${q.error.message}`);
        return ts.serve(req, res, q.params, address);
      }
      case 'mjpeg':
      case 'snapshot': {
        const q = parseStreamQuery(url.searchParams);
        if (!q.ok) return sendText(res, 400, `${q.error.code}: ${q.error.message}`);
        if (route === 'mjpeg') return mjpeg.serve(req, res, q.params, address);
        const g = grantParams(q.params, config, hub.source.info);
        // An old picture served as the current one would hide that the camera is down.
        const h = health();
        if (h.problem !== null) return sendText(res, 503, `${h.problem}; no current picture`, { 'Retry-After': '5' });
        try {
          const frame = await hub.snapshot({ width: g.width, height: g.height, quality: g.quality });
          const ageMs = Math.max(0, Math.round(Date.now() - frame.captureUs / 1000));
          if (ageMs > h.staleAfterMs) return sendText(res, 503, `E_SOURCE: the newest picture is ${(ageMs / 1000).toFixed(1)} s old`, { 'Retry-After': '5' });
          return sendBody(res, 200, 'image/jpeg', frame.payload, {
            'Cache-Control': 'no-store',
            'Content-Disposition': 'inline; filename="snapshot.jpg"',
            'X-Timestamp-Us': String(frame.captureUs),
            'X-Frame-Age-Ms': String(ageMs),
          });
        } catch (e) {
          const err = toFramewireError(e, 'E_SOURCE');
          return sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '1' });
        }
      }
      case 'status':
        return sendBody(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(statusReport(ctx, startedAt, health()), null, 2)}\n`, {
          'Cache-Control': 'no-store',
        });
      case 'metrics': {
        const text = await metrics.render();
        return sendBody(res, 200, metrics.registry.contentType, text, { 'Cache-Control': 'no-store' });
      }
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      const err = toFramewireError(e);
      config.log.error(`${err.code}: http ${req.method} ${req.url}: ${err.message}`);
      if (!res.headersSent) sendText(res, 500, `${err.code}: internal error`);
      else res.destroy();
    });
  };

  const onUpgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => {});
    const address = clientAddress(req, config.trustProxy);
    if ((req.url ?? '').length > MAX_URL_LENGTH) return refuseUpgrade(socket, 414, `URL longer than ${MAX_URL_LENGTH} characters.`);
    if (!hostAllowed(req.headers.host, config.hostnames)) return refuseUpgrade(socket, 403, WRONG_HOST);
    const url = requestUrl(req);
    if (!url || url.pathname !== '/ws') return refuseUpgrade(socket, 404, 'WebSocket upgrades are served at /ws only.');
    if (!originAllowed(req.headers.origin, req.headers.host, config.allowOrigins)) {
      config.log.warn(`http client ${address}: WebSocket from another origin refused (Origin: ${JSON.stringify(req.headers.origin?.slice(0, 200))}; --allow-origin admits one)`);
      return refuseUpgrade(socket, 403, 'A page from another origin may not open this WebSocket (the server allows others with --allow-origin).');
    }
    if (closing) return refuseUpgrade(socket, 503, 'Server shutting down.');
    // The token may come in the hello instead (as on TCP); a wrong one on the upgrade is refused right here.
    const auth = await checkRequestAuth(ctx, req, url, address, true);
    if (!auth.ok) return auth.status === 499 ? void socket.destroy() : refuseUpgrade(socket, auth.status, auth.text, auth.headers);
    if (closing || socket.destroyed) return void socket.destroy();
    ws.handleUpgrade(req, socket, head, address, auth.proven, () => admitted(socket as net.Socket));
  };

  const serverOptions: http.ServerOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: config.handshakeTimeoutMs,
    // Requests are GETs without bodies: the whole request arrives with its headers or not at all.
    requestTimeout: config.handshakeTimeoutMs * 2,
    connectionsCheckingInterval: timeoutCheckMs(config.handshakeTimeoutMs),
  };
  const server = options.tls
    ? https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: config.handshakeTimeoutMs }, onRequest)
    : http.createServer(serverOptions, onRequest);
  // A response the peer never reads (a snapshot, a stalled MJPEG stream) holds its buffers until this.
  server.timeout = config.idleTimeoutMs;
  // Connections that are not streams (a TLS handshake, a request, keep-alive between requests) are
  // pending: at most MAX_PENDING_HANDSHAKES, the oldest of the address holding the most dropped for a
  // newcomer. Their deadlines are node's: the TLS handshake, header, request and keep-alive timeouts.
  const pending = new PendingHandshakes({ capacity: MAX_PENDING_HANDSHAKES, deadlineMs: null });
  admitted = poolConnections(server, pending, dropLogger(config.log, 'HTTP port'));
  // A hard cap for the process's descriptors, which the pool keeps from being reached.
  server.maxConnections = config.maxClients + 2 * MAX_PENDING_HANDSHAKES;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((e: unknown) => {
      config.log.error(`${toFramewireError(e).code}: http upgrade ${req.url}: ${String(e)}`);
      socket.destroy();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Let node answer header overflows (431) and timeouts (408) itself; anything else is a garbage request.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADER_OVERFLOW') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 408;
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
      return;
    }
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  if (options.tls) {
    server.on('tlsClientError', (err: Error, s: net.Socket) => {
      config.log.info(`E_TLS: ${s.remoteAddress ?? 'unknown'}: ${err.message}`);
      // Node reports a handshake timeout here but leaves the socket open.
      s.destroy();
    });
  }

  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const what = e.code === 'EADDRINUSE' ? `port ${httpPort} is already in use (--http-port)` : e.message;
      reject(new FramewireError('E_IO', `cannot listen on ${config.host}:${httpPort}: ${what}`, { cause: e }));
    });
    server.listen(httpPort, config.host, () => {
      const a = server.address() as net.AddressInfo;
      if (!viewerDir) config.log.warn('the browser viewer is not built (dist/web missing): run `npm run build`');
      resolve({
        host: a.address,
        port: a.port,
        pendingHandshakes: () => pending.size,
        close: () =>
          (closed ??= (async () => {
            closing = true;
            const stopped = new Promise<void>((done) => server.close(() => done()));
            mjpeg.closeAll();
            ts.closeAll();
            await ws.close();
            server.closeIdleConnections();
            // Anything still open after the goodbyes had its chance (a stalled reader, a half-sent request).
            const force = setTimeout(() => server.closeAllConnections(), 1500);
            force.unref();
            await stopped;
            clearTimeout(force);
          })()),
      });
    });
  });
}
