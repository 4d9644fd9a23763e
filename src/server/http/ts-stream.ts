/**
 * Live H.264 in an MPEG transport stream over HTTP (/stream.ts): what ffplay, VLC, mpv and ffprobe open as a
 * plain URL. MPEG-TS rather than fragmented MP4: no init segment, a reader can start at any keyframe's PAT,
 * and a cut-off stream is readable up to its last whole packet. Each client is an H.264 Viewer (../viewer.ts)
 * with skip-to-keyframe, so its first bytes are a keyframe with SPS/PPS (or the GOP's catch-up run from one)
 * and a slow reader skips to the next keyframe instead of buffering without bound.
 */
import type http from 'node:http';
import { TsMuxer } from '../../codecs/mpegts.js';
import { Codec } from '../../protocol/constants.js';
import type { ServerContext } from '../context.js';
import { httpFrameStreams, type HttpFrameStreams } from './frame-stream.js';
import type { SourceHealth } from './source-health.js';

export type TsStreams = HttpFrameStreams;

export function tsStreams(ctx: ServerContext, health: () => SourceHealth, onStreaming?: (res: http.ServerResponse) => void): TsStreams {
  return httpFrameStreams(
    ctx,
    health,
    {
      contentType: 'video/mp2t',
      protocol: 'mpegts',
      coding: { codec: 'h264', bitrate: ctx.config.bitrate * 1000 },
      unavailable: () =>
        (ctx.codecs ?? []).includes(Codec.H264) ? null : 'E_UNSUPPORTED: this server does not make H.264 (--codec jpeg, or no working encoder); use /stream.mjpg.',
      // Each reader skips other frames, so each has its own muxer (continuity counters, tables before keyframes).
      framer: () => {
        const mux = new TsMuxer();
        return (f) => mux.accessUnit(f.payload, f.captureUs, f.keyframe);
      },
    },
    onStreaming,
  );
}
