/**
 * MJPEG over HTTP (multipart/x-mixed-replace): the format every player and <img> understands.
 * One part per frame; the part header is built once per frame and shared by every MJPEG client, and each
 * client has at most one frame waiting (NewestFrameSlot), so a slow reader drops frames instead of
 * delaying anyone or buffering without bound.
 */
import type http from 'node:http';
import { toFramewireError } from '../../errors.js';
import { grantParams } from '../../pipeline/profile.js';
import type { StreamParams } from '../../protocol/messages.js';
import type { ClientRecord } from '../client-registry.js';
import type { ServerContext } from '../framewire-session.js';
import { NewestFrameSlot } from '../newest-frame-slot.js';
import { COMMON_HEADERS, sendText } from './respond.js';
import type { SourceHealth } from './source-health.js';
import { writeFrame } from '../direct-write.js';

/** The response header has been handed to the socket (not just set): body bytes may then go straight to it. */
function headerSent(res: http.ServerResponse): boolean {
  return (res as unknown as { _headerSent?: boolean })._headerSent === true;
}

/**
 * One boundary for every client: EncodedFrame caches its part header (boundary included) on first use,
 * which is what lets all MJPEG clients share it.
 */
export const MJPEG_BOUNDARY = 'framewire-mjpeg-boundary';

export interface MjpegStreams {
  serve(req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void;
  /** Server shutdown: end every stream (the player sees a clean end of the multipart body). */
  closeAll(): void;
}

/** onStreaming: called once a request has become a stream (admitted as a client). */
export function mjpegStreams(ctx: ServerContext, health: () => SourceHealth, onStreaming: (res: http.ServerResponse) => void = () => {}): MjpegStreams {
  const live = new Set<http.ServerResponse>();

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void => {
    const { config, hub, registry } = ctx;
    const asked = grantParams(requested, config, hub.source.info);
    // The hub may grant a smaller live profile instead (--max-profiles, --encode-budget), or none.
    let granted: StreamParams;
    try {
      granted = { ...hub.fitProfile({ width: asked.width, height: asked.height, quality: asked.quality }, asked.fps), fps: asked.fps };
    } catch (e) {
      const err = toFramewireError(e);
      sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '5' });
      return;
    }
    const headers = {
      ...COMMON_HEADERS,
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
      'X-Framewire-Size': `${granted.width}x${granted.height}`,
      'X-Framewire-Fps': String(granted.fps),
    };
    // With the source down no frame would come, and a player would wait on a response that never starts.
    const h = health();
    if (h.problem !== null) return sendText(res, 503, h.problem, { 'Retry-After': '5' });
    if (req.method === 'HEAD') {
      res.writeHead(200, headers);
      res.end();
      return;
    }

    const slot = new NewestFrameSlot({
      ready: () => !res.destroyed && !res.writableEnded,
      // One write of the part (header, JPEG, CRLF) built once per frame and shared by every MJPEG client.
      send: (f, done) => writeFrame(res.socket, f.mjpegPart(MJPEG_BOUNDARY), done, res, () => headerSent(res)),
    });

    let record: ClientRecord;
    try {
      record = registry.admit(address, 'mjpeg', () => ({ sent: slot.sent, dropped: slot.dropped, bytes: slot.bytes }));
    } catch (e) {
      const err = toFramewireError(e);
      sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '5' });
      return;
    }

    // A plain body ended by closing the connection, as MJPEG cameras send it: naive multipart readers
    // (embedded clients, hand-written parsers) do not expect chunked transfer coding in the middle of parts.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, headers);
    // Headers go out now, not with the first frame: the player knows at once that it is connected.
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    live.add(res);
    onStreaming(res);
    const sub = hub.subscribe({ width: granted.width, height: granted.height, quality: granted.quality }, granted.fps, {
      deliver: (f) => {
        // A reader that has taken nothing for the idle timeout is gone in all but name: free its slot.
        if (slot.stalled(config.idleTimeoutMs)) {
          config.log.info(`E_TIMEOUT: mjpeg client ${address} read nothing for ${config.idleTimeoutMs} ms; closed`);
          res.destroy();
          return;
        }
        slot.offer(f);
      },
      // A multipart stream has no place for status text; players just see the frames pause.
      sourceEvent: () => {},
    });
    record.profile = sub.profile;
    record.fps = granted.fps;
    config.log.info(`mjpeg client ${address} streaming ${granted.width}x${granted.height}@${granted.fps} q${granted.quality}`);

    res.on('close', () => {
      live.delete(res);
      sub.cancel();
      slot.clear();
      registry.remove(record);
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
