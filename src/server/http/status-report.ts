/** The /api/status document: what a dashboard or a curious operator needs, in one GET. */
import type { ChainStats } from '../../codecs/h264/passthrough-chain.js';
import type { ProfileStats } from '../../pipeline/frame-hub.js';
import type { ClientInfo } from '../client-registry.js';
import type { ServerContext } from '../context.js';
import type { SourceHealth } from './source-health.js';

export interface StatusReport {
  source: {
    description: string;
    width: number;
    height: number;
    fps: number;
    state: SourceHealth['state'];
    /** What is wrong when not running (redacted: no URL credentials). */
    problem: string | null;
    lastFrameAgeMs: number;
    /** Its own H.264's access units so far when passed through (docs/h264.md, Passthrough); null otherwise. */
    passthrough: Readonly<ChainStats> | null;
  };
  uptimeSeconds: number;
  /** The server process's memory, MB: resident, V8 heap used and total, and memory outside the heap (buffers). */
  memoryMb: { rss: number; heapUsed: number; heapTotal: number; external: number };
  framesCaptured: number;
  profiles: ProfileStats[];
  clients: ClientInfo[];
}

export function statusReport(ctx: ServerContext, startedAtMs: number, health: SourceHealth): StatusReport {
  const { hub, registry } = ctx;
  const info = hub.source.info;
  return {
    source: {
      description: info.description,
      width: info.width,
      height: info.height,
      fps: info.fps,
      state: health.state,
      problem: health.problem,
      lastFrameAgeMs: health.frameAgeMs,
      passthrough: hub.source.passthroughStats ? { ...hub.source.passthroughStats } : null,
    },
    uptimeSeconds: Math.round((Date.now() - startedAtMs) / 100) / 10,
    memoryMb: memoryMb(),
    framesCaptured: hub.captured,
    profiles: hub.profileStats(),
    clients: registry.list(),
  };
}

function memoryMb(): StatusReport['memoryMb'] {
  const m = process.memoryUsage();
  const mb = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external) };
}
