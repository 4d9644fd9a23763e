import type { FrameHub } from '../pipeline/frame-hub.js';
import type { Authenticator } from './authenticator.js';
import type { ClientRegistry } from './client-registry.js';
import type { ServerConfig } from './config.js';
import type { CodecId } from '../protocol/constants.js';

/** What every transport of one running server shares: built once by startServer() (server.ts). */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly hub: FrameHub;
  readonly registry: ClientRegistry;
  /** Every token check of every transport: comparison, guessing budgets, bounded log. */
  readonly auth: Authenticator;
  /** The codecs framewire/1 clients may be granted: JPEG always, H.264 when its encoder works (config.codec). */
  readonly codecs?: readonly CodecId[];
}
