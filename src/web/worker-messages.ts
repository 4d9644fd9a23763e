/**
 * What the viewer page and its stream worker (src/web/stream-worker.ts) say to each other. The worker owns
 * the connection and the decoders, so a page busy with itself (loading, layout, a stalled tab) neither
 * delays the framewire/1 conversation nor the decoding; the page paints and runs the controls.
 */
import type { AcceptMessage, StreamParams } from '../protocol/messages.js';
import type { CodecChoice } from './codec-choice.js';
import type { DecodedPicture } from './decode-trace.js';
import type { ViewerState } from './viewer-connection.js';

export type ToWorker =
  /** Once, first: where to connect and how; the worker probes the codec and dials at once. */
  | { type: 'start'; wsUrl: string; token: string; params: StreamParams; search: string }
  | { type: 'connect' }
  | { type: 'stop'; detail: string }
  | { type: 'renegotiate'; params: StreamParams }
  /** The answer to `auth`: a token to try, or null to stop. */
  | { type: 'token'; token: string | null }
  /** The page has taken the last picture sent: the next one may come. */
  | { type: 'taken' };

/** The worker's counters, sent with every picture and a few times a second. */
export interface WorkerCounts {
  receivedBytes: number;
  /** Received bitrate over the last seconds. */
  kbps: number;
  /** Pictures not shown because a newer one was ready (newest wins), and H.264 skips to the next keyframe (one per skip). */
  dropped: number;
  decodeErrors: number;
}

export type FromWorker =
  | { type: 'codec'; choice: CodecChoice }
  /** `atUs`: the worker's clock (src/clock.ts) when it happened. */
  | { type: 'state'; state: ViewerState; detail: string; atUs: number }
  | { type: 'accept'; accept: AcceptMessage; atUs: number }
  | { type: 'status'; text: string }
  /** The server refused the token: the page asks the user and answers with `token`. */
  | { type: 'auth'; text: string }
  /** A decoded picture to paint, transferred: the page closes it. At most one is on its way at a time. */
  | { type: 'picture'; image: VideoFrame | ImageBitmap; captureUs: number; offsetUs: number | null; counts: WorkerCounts }
  | { type: 'counts'; counts: WorkerCounts }
  /** Only with `?trace`: every picture out of the H.264 decoder, shown or not. */
  | { type: 'trace'; picture: DecodedPicture };
