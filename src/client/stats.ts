/** Rolling receive statistics: rate over a sliding window, latency percentiles over the last samples. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
}

export interface ClientStats {
  frames: number;
  bytes: number;
  seconds: number;
  /** Frames per second over the last two seconds. */
  fps: number;
  /** Kilobits per second over the last two seconds. */
  kbps: number;
  /** Capture-to-receive latency in ms, corrected by the clock offset; null when unknown (tutorial servers). */
  latencyMs: LatencySummary | null;
  rttMs: number | null;
  clockOffsetMs: number | null;
  /** Frames received but replaced before the consumer took them (newest-frame-wins). */
  dropped: number;
  /** Frames whose payload is not a complete JPEG, plus decode failures reported by the consumer. */
  decodeErrors: number;
  reconnects: number;
  width: number;
  height: number;
}

const WINDOW_MS = 2000;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export class StatsWindow {
  frames = 0;
  bytes = 0;
  private readonly startMs = performance.now();
  private readonly recent: { t: number; bytes: number }[] = [];
  private readonly latencies: number[] = [];
  private latencyIndex = 0;

  constructor(private readonly keepLatencies = 2000) {}

  record(bytes: number, latencyMs: number | null): void {
    const t = performance.now();
    this.frames++;
    this.bytes += bytes;
    this.recent.push({ t, bytes });
    while (this.recent.length > 0 && t - this.recent[0]!.t > WINDOW_MS) this.recent.shift();
    if (latencyMs !== null && Number.isFinite(latencyMs)) {
      // A ring of the most recent samples: bounded memory on a months-long run.
      if (this.latencies.length < this.keepLatencies) this.latencies.push(latencyMs);
      else this.latencies[this.latencyIndex++ % this.keepLatencies] = latencyMs;
    }
  }

  summary(): { seconds: number; fps: number; kbps: number; latencyMs: LatencySummary | null } {
    const now = performance.now();
    while (this.recent.length > 0 && now - this.recent[0]!.t > WINDOW_MS) this.recent.shift();
    const span = Math.min(WINDOW_MS, now - this.startMs) / 1000;
    const n = this.recent.length;
    const bytes = this.recent.reduce((a, r) => a + r.bytes, 0);
    let latencyMs: LatencySummary | null = null;
    if (this.latencies.length > 0) {
      const s = [...this.latencies].sort((a, b) => a - b);
      latencyMs = { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
    }
    return {
      seconds: (now - this.startMs) / 1000,
      fps: span > 0 ? n / span : 0,
      kbps: span > 0 ? (bytes * 8) / 1000 / span : 0,
      latencyMs,
    };
  }
}
