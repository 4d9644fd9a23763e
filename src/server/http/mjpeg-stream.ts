/**
 * MJPEG over HTTP (multipart/x-mixed-replace): the format every player and <img> understands.
 * One part per frame, built once per frame and shared by every MJPEG client; each client is a Viewer
 * (../viewer.ts) with at most one frame waiting, so a slow reader drops frames instead of delaying anyone or
 * buffering without bound. A multipart stream has no place for status text: while the source is lost,
 * players are shown the no-signal picture.
 */
import type http from 'node:http';
import { toFramewireError } from '../../errors.js';
import type { EncodedFrame, WireFormat } from '../../pipeline/encoded-frame.js';
import type { StreamParams } from '../../protocol/messages.js';
import type { ServerContext } from '../context.js';
import { writeFrame } from '../direct-write.js';
import { Viewer, type Grant } from '../viewer.js';
import { COMMON_HEADERS, sendText } from './respond.js';
import type { SourceHealth } from './source-health.js';

/** The response header has been handed to the socket (not just set): body bytes may then go straight to it. */
function headerSent(res: http.ServerResponse): boolean {
  return (res as unknown as { _headerSent?: boolean })._headerSent === true;
}

/** One boundary for every client, so that every MJPEG client can share the part built for a frame. */
export const MJPEG_BOUNDARY = 'framewire-mjpeg-boundary';

const CRLF = Buffer.from('\r\n', 'latin1');

/** One multipart part: part header, JPEG, CRLF. */
export const MJPEG_PART: WireFormat = {
  name: 'MJPEG part',
  build: (f: EncodedFrame) =>
    Buffer.concat([
      Buffer.from(`--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.payload.length}\r\nX-Timestamp-Us: ${f.captureUs}\r\n\r\n`, 'latin1'),
      f.payload,
      CRLF,
    ]),
};

export interface MjpegStreams {
  serve(req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void;
  /** Server shutdown: end every stream (the player sees a clean end of the multipart body). */
  closeAll(): void;
}

/** onStreaming: called once a request has become a stream (admitted as a client). */
function headers(g: Grant): http.OutgoingHttpHeaders {
  return {
    ...COMMON_HEADERS,
    'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    Connection: 'close',
    'X-Framewire-Size': `${g.width}x${g.height}`,
    'X-Framewire-Fps': String(g.fps),
  };
}

export function mjpegStreams(ctx: ServerContext, health: () => SourceHealth, onStreaming: (res: http.ServerResponse) => void = () => {}): MjpegStreams {
  const live = new Set<http.ServerResponse>();

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void => {
    // The hub may grant a smaller live profile instead (--max-profiles, --encode-budget), or none.
    let granted: Grant;
    try {
      granted = Viewer.preview(ctx, requested);
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
    let viewer: Viewer;
    try {
      viewer = Viewer.open(ctx, { address, protocol: 'mjpeg' }, requested, {
        ready: () => !res.destroyed && !res.writableEnded,
        write: (f, done) => writeFrame(res.socket, f.wire(MJPEG_PART), done, res, () => headerSent(res)),
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
      });
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
