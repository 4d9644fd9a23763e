"""Rolling receive statistics: rate over a sliding window, latency percentiles over the last samples.

The same definitions as the Node client's (src/client/stats.ts), so the two report comparable figures.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Deque, List, Optional, Sequence, Tuple

#: fps and kbps are measured over this trailing window.
RATE_WINDOW_S = 2.0
#: Latency percentiles come from a ring of this many recent samples: bounded memory on a months-long run.
LATENCY_SAMPLES = 2000


@dataclass(frozen=True)
class LatencySummary:
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class Stats:
    frames: int
    """Frames received (including those replaced before your loop took them)."""
    bytes: int
    seconds: float
    fps: float
    """Frames per second received over the last two seconds."""
    kbps: float
    latency_ms: Optional[LatencySummary]
    """Capture-to-receive latency, corrected by the clock offset; None before the first clock sample."""
    rtt_ms: Optional[float]
    clock_offset_ms: Optional[float]
    """Server clock minus local clock."""
    dropped: int
    """Frames received but replaced by a newer one before your loop took them (newest frame wins)."""
    decode_errors: int
    """Frames whose payload is not a complete JPEG or failed to decode."""
    reconnects: int
    width: int
    height: int


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (NaN when empty)."""
    if not sorted_values:
        return math.nan
    i = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


class StatsWindow:
    """Not thread-safe: the client guards it with its own lock."""

    def __init__(self, keep_latencies: int = LATENCY_SAMPLES) -> None:
        self.frames = 0
        self.bytes = 0
        self._start = time.monotonic()
        self._recent: Deque[Tuple[float, int]] = deque()
        self._latencies: Deque[float] = deque(maxlen=keep_latencies)

    def record(self, nbytes: int, latency_ms: Optional[float]) -> None:
        t = time.monotonic()
        self.frames += 1
        self.bytes += nbytes
        self._recent.append((t, nbytes))
        self._trim(t)
        if latency_ms is not None and math.isfinite(latency_ms):
            self._latencies.append(latency_ms)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > RATE_WINDOW_S:
            self._recent.popleft()

    def summary(self) -> Tuple[float, float, float, Optional[LatencySummary]]:
        """(seconds since start, fps, kbps, latency percentiles)."""
        now = time.monotonic()
        self._trim(now)
        span = min(RATE_WINDOW_S, now - self._start)
        n = len(self._recent)
        nbytes = sum(b for _, b in self._recent)
        latency: Optional[LatencySummary] = None
        if self._latencies:
            s: List[float] = sorted(self._latencies)
            latency = LatencySummary(percentile(s, 50), percentile(s, 95), percentile(s, 99))
        fps = n / span if span > 0 else 0.0
        kbps = nbytes * 8 / 1000 / span if span > 0 else 0.0
        return now - self._start, fps, kbps, latency
