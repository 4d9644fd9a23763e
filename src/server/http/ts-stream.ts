/**
 * Live H.264 in an MPEG transport stream over HTTP (/stream.ts): what ffplay, VLC, mpv and ffprobe open as a
 * plain URL. MPEG-TS rather than fragmented MP4: no init segment, a reader can start at any keyframe's PAT,
 * and a cut-off stream is readable up to its last whole packet. Each client is an H.264 Viewer (../viewer.ts)
 * with skip-to-keyframe, so its first bytes are a keyframe with SPS/PPS (or the GOP's catch-up run from one)
 * and a slow reader skips to the next keyframe instead of buffering without bound.
 */
import type http from 'node:http';
import { TsMuxer } from '../../codecs/mpegts.js';
import { toFramewireError } from '../../errors.js';
import type { StreamParams } from '../../protocol/messages.js';
import { Codec } from '../../protocol/constants.js';
import type { ServerContext } from '../context.js';
import { writeFrame } from '../direct-write.js';
import { Viewer, type Grant } from '../viewer.js';
import { COMMON_HEADERS, sendText } from './respond.js';
import type { SourceHealth } from './source-health.js';

function headerSent(res: http.ServerResponse): boolean {
  return (res as unknown as { _headerSent?: boolean })._headerSent === true;
}

function headers(g: Grant): http.OutgoingHttpHeaders {
  return {
    ...COMMON_HEADERS,
    'Content-Type': 'video/mp2t',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    Connection: 'close',
    'X-Framewire-Size': `${g.width}x${g.height}`,
    'X-Framewire-Fps': String(g.fps),
  };
}

export interface TsStreams {
  serve(req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void;
  closeAll(): void;
}

export function tsStreams(ctx: ServerContext, health: () => SourceHealth, onStreaming: (res: http.ServerResponse) => void = () => {}): TsStreams {
  const live = new Set<http.ServerResponse>();

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, requested: StreamParams, address: string): void => {
    if (!(ctx.codecs ?? []).includes(Codec.H264)) {
      return sendText(res, 404, 'E_UNSUPPORTED: this server does not make H.264 (--codec jpeg, or no working encoder); use /stream.mjpg.');
    }
    let granted: Grant;
    try {
      granted = Viewer.preview(ctx, requested);
    } catch (e) {
      const err = toFramewireError(e);
      sendText(res, 503, `${err.code}: ${err.message}`, { 'Retry-After': '5' });
      return;
    }
    const h = health();
    if (h.problem !== null) return sendText(res, 503, h.problem, { 'Retry-After': '5' });
    if (req.method === 'HEAD') {
      res.writeHead(200, headers(granted));
      res.end();
      return;
    }
    const mux = new TsMuxer();
    let viewer: Viewer;
    try {
      viewer = Viewer.open(
        ctx,
        { address, protocol: 'mjpeg' },
        requested,
        {
          ready: () => !res.destroyed && !res.writableEnded,
          write: (f, done) => writeFrame(res.socket, mux.accessUnit(f.payload, f.captureUs, f.keyframe), done, res, () => headerSent(res)),
          begin: (g) => {
            res.useChunkedEncodingByDefault = false;
            res.writeHead(200, headers(g));
            res.flushHeaders();
            res.socket?.setNoDelay(true);
            live.add(res);
            onStreaming(res);
          },
          end: () => res.destroy(),
        },
        { codec: 'h264', bitrate: ctx.config.bitrate * 1000 },
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
