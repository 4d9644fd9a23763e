/**
 * Whether the source is delivering, for /healthz (a status code a monitor reads), /snapshot.jpg (no stale
 * picture served as current), /stream.mjpg (a refusal instead of a response that never starts) and
 * /api/status. Down means: the source said it was lost, or no frame arrived for `staleAfterMs`.
 */
import type { FrameHub } from '../../pipeline/frame-hub.js';

export interface SourceHealth {
  state: 'running' | 'lost' | 'stale';
  /** What is wrong, for people: "E_SOURCE: source lost 12.3 s ago: ffmpeg exited with code 1: …"; null when running. */
  problem: string | null;
  /** Age of the newest captured frame. */
  frameAgeMs: number;
  /** A frame captured this long ago is stale. */
  staleAfterMs: number;
}

/** Two seconds, or three frame intervals for sources slower than 1.5 fps. */
export function staleAfterMs(fps: number): number {
  return Math.max(2000, Math.ceil((3 * 1000) / Math.max(fps, 0.001)));
}

export function watchSource(hub: FrameHub): () => SourceHealth {
  let lastFrameMs = Date.now();
  let lostAtMs = 0;
  hub.observe({
    captured: () => {
      lastFrameMs = Date.now();
    },
    sourceEvent: (e) => {
      if (e.kind === 'lost') lostAtMs = Date.now();
    },
  });
  return () => {
    const now = Date.now();
    const frameAgeMs = now - lastFrameMs;
    const stale = staleAfterMs(hub.source.info.fps);
    const last = hub.lastSourceEvent;
    const secs = (ms: number): string => (ms / 1000).toFixed(1);
    if (last?.kind === 'lost') {
      return { state: 'lost', problem: `E_SOURCE: source lost ${secs(now - lostAtMs)} s ago: ${last.reason}`, frameAgeMs, staleAfterMs: stale };
    }
    if (frameAgeMs > stale) {
      return { state: 'stale', problem: `E_SOURCE: no frame from the source for ${secs(frameAgeMs)} s`, frameAgeMs, staleAfterMs: stale };
    }
    return { state: 'running', problem: null, frameAgeMs, staleAfterMs: stale };
  };
}
