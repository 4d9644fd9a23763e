/**
 * A stream of frames as one long HTTP response — what /stream.mjpg and /stream.ts have in common: each request
 * is a Viewer (../viewer.ts), refused with 503 when nothing can be granted or the source is down, answered
 * with its grant in the headers, and ended by the server's shutdown. A format says only how a frame looks in
 * its body.
 */
import type http from 'node:http';
import { toFramewireError } from '../../errors.js';
import type { EncodedFrame } from '../../pipeline/encoded-frame.js';
import type { StreamParams } from '../../protocol/messages.js';
import type { ClientProtocol } from '../client-registry.js';
import type { ServerContext } from '../context.js';
import { writeFrame } from '../direct-write.js';
import { Viewer, type Grant, type ViewerCoding } from '../viewer.js';
import { COMMON_HEADERS, sendText } from './respond.js';
import type { SourceHealth } from './source-health.js';

export interface HttpStreamFormat {
  readonly contentType: string;
  /** What its clients count as in /api/status and /metrics. */
  readonly protocol: ClientProtocol;
  /** How the viewer's frames are coded (default JPEG). */
  readonly coding?: ViewerCoding;
  /** Why this server cannot serve the format (answered 404), or null. */
  unavailable?(): string | null;
  /** A new response's framing: the bytes of one frame in its body (a format may keep state per response). */
  framer(): (f: EncodedFrame) => Uint8Array;
}

export interface HttpFrameStreams {
  serve(req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void;
  /** Server shutdown: end every stream (a player sees a clean end of the body). */
  closeAll(): void;
}

/** The response header has been handed to the socket (not just set): body bytes may then go straight to it. */
function headerSent(res: http.ServerResponse): boolean {
  return (res as unknown as { _headerSent?: boolean })._headerSent === true;
}

/** onStreaming: called once a request has become a stream (admitted as a client). */
export function httpFrameStreams(
  ctx: ServerContext,
  health: () => SourceHealth,
  format: HttpStreamFormat,
  onStreaming: (res: http.ServerResponse) => void = () => {},
): HttpFrameStreams {
  const live = new Set<http.ServerResponse>();
  const headers = (g: Grant): http.OutgoingHttpHeaders => ({
    ...COMMON_HEADERS,
    'Content-Type': format.contentType,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    Connection: 'close',
    'X-Framewire-Size': `${g.width}x${g.height}`,
    'X-Framewire-Fps': String(g.fps),
  });

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void => {
    // The token check may have waited (auth-limiter.ts): a player that left meanwhile has no 'close' to come.
    if (req.socket.destroyed) return;
    const missing = format.unavailable?.() ?? null;
    if (missing !== null) return sendText(res, 404, missing);
    // The hub may grant a smaller live profile instead (--max-profiles, --encode-budget), or none.
    let granted: Grant;
    try {
      granted = Viewer.preview(ctx, requested, format.coding);
    } catch (e) {
      const err = toFramewireError(e);
      sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '5' });
      return;
    }
    // With the source down no frame would come, and a player would wait on a response that never starts.
    const h = health();
    if (h.problem !== null) return sendText(res, 503, h.problem, { 'Retry-After': '5' });
    if (req.method === 'HEAD') {
      res.writeHead(200, headers(granted));
      res.end();
      return;
    }
    const frame = format.framer();
    let viewer: Viewer;
    try {
      viewer = Viewer.open(
        ctx,
        { address, protocol: format.protocol },
        requested,
        {
          ready: () => !res.destroyed && !res.writableEnded,
          write: (f, done) => writeFrame(res.socket, frame(f), done, res, () => headerSent(res)),
          begin: (g) => {
            // A plain body ended by closing the connection, as MJPEG cameras send it: naive multipart readers
            // (embedded clients, hand-written parsers) do not expect chunked transfer coding in the middle of parts.
            res.useChunkedEncodingByDefault = false;
            res.writeHead(200, headers(g));
            // Headers go out now, not with the first frame: the player knows at once that it is connected.
            res.flushHeaders();
            res.socket?.setNoDelay(true);
            live.add(res);
            onStreaming(res);
          },
          // A reader that has taken nothing for the idle timeout is gone in all but name: free its slot.
          end: () => res.destroy(),
        },
        format.coding,
      );
    } catch (e) {
      const err = toFramewireError(e);
      sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '5' });
      return;
    }
    res.on('close', () => {
      live.delete(res);
      viewer.close();
    });
  };

  return {
    serve,
    closeAll: () => {
      for (const res of live) {
        res.end();
        setTimeout(() => res.destroy(), 1000).unref();
      }
    },
  };
}
