import type { CodecId } from './constants.js';
import type { ErrorCode } from '../errors.js';

/** Requested stream parameters; 0 means "server default" on the wire. */
export interface StreamParams {
  width: number;
  height: number;
  fps: number;
  quality: number;
}

export interface HelloMessage extends StreamParams {
  type: 'hello';
  version: number;
  token: string;
  /**
   * Codecs the client can take, a bitmask: bit 0 JPEG, bit 1 H.264 (§4.1.1). Absent or 0: JPEG only.
   * Decoded only when non-zero, so a HELLO without it decodes as before.
   */
  codecs?: number;
}

export interface AcceptMessage extends StreamParams {
  type: 'accept';
  version: number;
  codec: CodecId;
  /** Frames the server sends ahead of the client's acks. */
  window: number;
  serverTimeUs: number;
  source: string;
}

export interface RejectMessage {
  type: 'reject';
  code: ErrorCode;
  text: string;
}

export interface FrameMessage {
  type: 'frame';
  seq: number;
  captureUs: number;
  width: number;
  height: number;
  codec: CodecId;
  /** The payload decodes on its own (§3.4). Present (true) only when the flag is set; every JPEG payload is one anyway. */
  keyframe?: boolean;
  /** Part of a catch-up burst: decode it, do not show it (§4.2.1). Present (true) only when the flag is set. */
  catchUp?: boolean;
  payload: Uint8Array;
}

export interface AckMessage {
  type: 'ack';
  seq: number;
}

export interface PingMessage {
  type: 'ping';
  id: number;
  /** Sender's clock when sent, µs since the Unix epoch. */
  t1: number;
}

export interface PongMessage {
  type: 'pong';
  id: number;
  /** Echo of the ping's t1. */
  t1: number;
  /** Responder's clock when the ping arrived. */
  t2: number;
  /** Responder's clock when the pong left. */
  t3: number;
}

export interface RenegotiateMessage extends StreamParams {
  type: 'renegotiate';
}

export const StatusCode = { SOURCE_LOST: 1, SOURCE_RESUMED: 2, INFO: 3 } as const;
export type StatusCodeId = (typeof StatusCode)[keyof typeof StatusCode];

export interface StatusMessage {
  type: 'status';
  status: StatusCodeId;
  text: string;
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  text: string;
}

export interface GoodbyeMessage {
  type: 'goodbye';
  code: ErrorCode | 'OK';
  text: string;
}

export type Message =
  | HelloMessage
  | AcceptMessage
  | RejectMessage
  | FrameMessage
  | AckMessage
  | PingMessage
  | PongMessage
  | RenegotiateMessage
  | StatusMessage
  | ErrorMessage
  | GoodbyeMessage;
