/**
 * MJPEG over HTTP (multipart/x-mixed-replace): the format every player and <img> understands.
 * One part per frame, built once per frame and shared by every MJPEG client; each client is a Viewer
 * (../viewer.ts) with at most one frame waiting, so a slow reader drops frames instead of delaying anyone or
 * buffering without bound. A multipart stream has no place for status text: while the source is lost,
 * players are shown the no-signal picture.
 */
import type http from 'node:http';
import type { EncodedFrame, WireFormat } from '../../pipeline/encoded-frame.js';
import type { ServerContext } from '../context.js';
import { httpFrameStreams, type HttpFrameStreams } from './frame-stream.js';
import type { SourceHealth } from './source-health.js';

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

export type MjpegStreams = HttpFrameStreams;

/** onStreaming: called once a request has become a stream (admitted as a client). */
export function mjpegStreams(ctx: ServerContext, health: () => SourceHealth, onStreaming?: (res: http.ServerResponse) => void): MjpegStreams {
  return httpFrameStreams(
    ctx,
    health,
    {
      contentType: `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      protocol: 'mjpeg',
      // The part is built once per frame and shared by every MJPEG client.
      framer: () => (f) => f.wire(MJPEG_PART),
    },
    onStreaming,
  );
}
