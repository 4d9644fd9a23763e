"""Clock offset between this machine and the server, NTP-style (docs/protocol.md §4.4).

    offset = ((t2 − t1) + (t3 − t4)) / 2      server clock − local clock
    rtt    = (t4 − t1) − (t3 − t2)

The sample with the smallest RTT among the recent ones is the least disturbed by queueing, so it wins
(the same rule as the Node client, src/client/clock-offset.ts).
"""
from __future__ import annotations

from collections import deque
from typing import Deque, NamedTuple, Optional


class OffsetSample(NamedTuple):
    offset_us: float
    rtt_us: float


def offset_sample(t1: int, t2: int, t3: int, t4: int) -> OffsetSample:
    return OffsetSample((t2 - t1 + (t3 - t4)) / 2, max(0, t4 - t1 - (t3 - t2)))


class ClockOffset:
    def __init__(self, keep: int = 16) -> None:
        self._samples: Deque[OffsetSample] = deque(maxlen=keep)

    def add(self, s: OffsetSample) -> None:
        self._samples.append(s)

    @property
    def best(self) -> Optional[OffsetSample]:
        """Best estimate (server clock − local clock), or None before the first PONG."""
        best: Optional[OffsetSample] = None
        for s in self._samples:
            if best is None or s.rtt_us < best.rtt_us:
                best = s
        return best
