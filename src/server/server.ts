/**
 * A running framewire server: one Source, one FrameHub, and the transports that fan its frames out.
 * Transports are composed here and nowhere else; adding one is adding a folder under server/.
 */
import { FramewireError } from '../errors.js';
import { FrameHub } from '../pipeline/frame-hub.js';
import { grantParams } from '../pipeline/profile.js';
import type { Source } from '../sources/source.js';
import { AuthGuard } from './auth-guard.js';
import { ClientRegistry } from './client-registry.js';
import type { ServerConfig } from './config.js';
import type { ServerContext } from './framewire-session.js';
import { startTcpTransport, type RunningTransport, type TcpTransportOptions } from './tcp/tcp-transport.js';

export interface ExtraTransport {
  start(ctx: ServerContext): Promise<RunningTransport>;
}

export interface RunningServer {
  readonly config: ServerConfig;
  readonly hub: FrameHub;
  readonly registry: ClientRegistry;
  readonly tcp: RunningTransport;
  readonly extras: readonly RunningTransport[];
  readonly startedAt: number;
  /** Goodbye to every client, stop listening, release the source. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(
  config: ServerConfig,
  source: Source,
  options: { tcp?: TcpTransportOptions; extras?: ExtraTransport[]; context?: Partial<Pick<ServerContext, 'authFailed' | 'isBlocked'>> } = {},
): Promise<RunningServer> {
  const hub = new FrameHub(source, { passthrough: config.passthrough, maxProfiles: config.maxProfiles, encodeBudget: config.encodeBudget });
  const registry = new ClientRegistry(config.maxClients, config.maxClientsPerAddress);
  const guard = new AuthGuard();
  const ctx: ServerContext = {
    config,
    hub,
    registry,
    authFailed: (a) => guard.failed(a),
    isBlocked: (a) => guard.isBlocked(a),
    ...options.context,
  };
  try {
    await hub.start();
  } catch (e) {
    await hub.stop().catch(() => {});
    throw e instanceof FramewireError ? e : new FramewireError('E_SOURCE', `source failed to start: ${String(e)}`, { cause: e });
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
      tcp,
      extras,
      startedAt: Date.now(),
      close: () =>
        (closing ??= (async () => {
          await Promise.all(started.map((t) => t.close()));
          await hub.stop();
        })()),
    };
  } catch (e) {
    await Promise.all(started.map((t) => t.close()));
    await hub.stop();
    throw e;
  }
}
