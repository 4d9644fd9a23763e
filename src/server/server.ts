/**
 * A running framewire server: one Source, one FrameHub, and the transports that fan its frames out.
 * Transports are composed here and nowhere else; adding one is adding a folder under server/.
 */
import { FramewireError, toFramewireError } from '../errors.js';
import { FrameHub, type H264HubOptions } from '../pipeline/frame-hub.js';
import { selectH264Encoder } from '../pipeline/h264-encoder-probe.js';
import { Codec, type CodecId } from '../protocol/constants.js';
import type { Source } from '../sources/source.js';
import { LogThrottle } from '../log-throttle.js';
import { isLoopback } from './address-key.js';
import type { AuthLimits } from './auth-limiter.js';
import { Authenticator } from './authenticator.js';
import { ClientRegistry } from './client-registry.js';
import { resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
import type { ServerContext } from './context.js';
import { grantParams } from './grant.js';
import { startTcpTransport, type TcpTransportOptions } from './tcp/tcp-transport.js';
import type { ExtraTransport, RunningTransport } from './transport.js';

export type { ExtraTransport, RunningTransport } from './transport.js';

export interface RunningServer {
  readonly config: ServerConfig;
  readonly hub: FrameHub;
  readonly registry: ClientRegistry;
  /** Token checks and guessing budgets, shared by every transport. */
  readonly auth: Authenticator;
  readonly tcp: RunningTransport;
  readonly extras: readonly RunningTransport[];
  readonly startedAt: number;
  /** Goodbye to every client, stop listening, release the source. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start serving `source`. The configuration is validated as the CLI's is (resolveServerConfig): a bad one
 * is refused with E_BAD_PARAMS before anything starts.
 */
export async function startServer(
  serverOptions: ServerOptions,
  source: Source,
  options: {
    tcp?: TcpTransportOptions;
    extras?: ExtraTransport[];
    /** Guessing budgets (docs/security.md has the defaults). */
    authLimits?: Partial<AuthLimits>;
  } = {},
): Promise<RunningServer> {
  const config = resolveServerConfig(serverOptions);
  const { log } = config;
  const codecs: CodecId[] = [Codec.JPEG];
  const hub = new FrameHub(source, { passthrough: config.passthrough, maxProfiles: config.maxProfiles, encodeBudget: config.encodeBudget });
  const registry = new ClientRegistry(config.maxClients, config.maxClientsPerAddress);
  const auth = new Authenticator(config.token, log, options.authLimits);
  const ctx: ServerContext = { config, hub, registry, auth, codecs };
  if (config.token === null && !isLoopback(config.host) && config.host !== 'localhost') {
    log.warn(`no token: anyone who can reach ${config.host} can watch (docs/security.md)`);
  }
  if (config.trustProxy && !isLoopback(config.host) && config.host !== 'localhost') {
    log.warn(`--trust-proxy on ${config.host}: a client that reaches this port directly can claim any address in X-Forwarded-For; listen on loopback behind the proxy`);
  }
  logSourceEvents(hub, log);
  try {
    await hub.start();
  } catch (e) {
    await hub.stop().catch(() => {});
    auth.dispose();
    throw e instanceof FramewireError ? e : new FramewireError('E_SOURCE', `source failed to start: ${String(e)}`, { cause: e });
  }
  // After the source: a source that cannot start stays one line, and H.264 is probed only for a running server.
  try {
    const h264 = await h264Encoding(config);
    if (h264) {
      hub.enableH264(h264);
      codecs.push(Codec.H264);
    }
  } catch (e) {
    await hub.stop().catch(() => {});
    auth.dispose();
    throw e;
  }
  // Known once the source runs (its real size): what a client asking for the defaults gets.
  const d = grantParams({ width: 0, height: 0, fps: 0, quality: 0 }, config, source.info);
  hub.defaultProfile = { width: d.width, height: d.height, quality: d.quality };
  const started: RunningTransport[] = [];
  try {
    const tcp = await startTcpTransport(ctx, options.tcp);
    started.push(tcp);
    const extras: RunningTransport[] = [];
    for (const x of options.extras ?? []) {
      const t = await x.start(ctx);
      started.push(t);
      extras.push(t);
    }
    let closing: Promise<void> | null = null;
    return {
      config,
      hub,
      registry,
      auth,
      tcp,
      extras,
      startedAt: Date.now(),
      close: () =>
        (closing ??= (async () => {
          await Promise.all(started.map((t) => t.close()));
          await hub.stop();
          auth.dispose();
        })()),
    };
  } catch (e) {
    await Promise.all(started.map((t) => t.close()));
    await hub.stop();
    auth.dispose();
    throw e;
  }
}

/**
 * Whether H.264 can be served (config.codec), decided once at start-up by probing the encoder: with 'both'
 * a failed probe means JPEG only and one log line saying what to install; with 'h264' it fails the start.
 */
async function h264Encoding(config: ServerConfig): Promise<H264HubOptions | null> {
  if (config.codec === 'jpeg') return null;
  try {
    const sel = await selectH264Encoder(config.h264Encoder);
    config.log.info(sel.summary);
    return { gopSeconds: config.gop, encoder: sel.encoder };
  } catch (e) {
    const err = toFramewireError(e, 'E_UNSUPPORTED');
    if (config.codec === 'h264') throw err;
    config.log.warn(`${err.code}: serving JPEG only: ${err.message}`);
    return null;
  }
}

/**
 * Every source event reaches the operator's log: loss (with ffmpeg's reason), each failed restart, recovery,
 * and the source's own lines (ffmpeg's stderr arrives already rate-limited by the source). Encode failures
 * can repeat every frame, so they are rate-limited here.
 */
function logSourceEvents(hub: FrameHub, log: ServerConfig['log']): void {
  const encodeLog = new LogThrottle(log, { perWindow: 3, prefix: 'E_SOURCE:' });
  hub.observe({
    sourceEvent: (e) => {
      if (e.kind === 'lost') log.error(`E_SOURCE: source lost: ${e.reason}`);
      else if (e.kind === 'resumed') log.info(`source resumed: ${e.text}`);
      else log[e.level](`source: ${e.text}`);
    },
    encodeFailed: (err) => encodeLog.line('warn', `${err.code}: encode failed: ${err.message}`, 'more encode failures'),
  });
}
