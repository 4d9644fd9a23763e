/** The /api/status document: what a dashboard or a curious operator needs, in one GET. */
import type { ProfileStats } from '../../pipeline/frame-hub.js';
import type { ClientInfo } from '../client-registry.js';
import type { ServerContext } from '../framewire-session.js';

export interface StatusReport {
  source: { description: string; width: number; height: number; fps: number; state: 'running' | 'lost' };
  uptimeSeconds: number;
  framesCaptured: number;
  profiles: ProfileStats[];
  clients: ClientInfo[];
}

export function statusReport(ctx: ServerContext, startedAtMs: number): StatusReport {
  const { hub, registry } = ctx;
  const info = hub.source.info;
  return {
    source: {
      description: info.description,
      width: info.width,
      height: info.height,
      fps: info.fps,
      state: hub.lastSourceEvent?.kind === 'lost' ? 'lost' : 'running',
    },
    uptimeSeconds: Math.round((Date.now() - startedAtMs) / 100) / 10,
    framesCaptured: hub.captured,
    profiles: hub.profileStats(),
    clients: registry.list(),
  };
}
