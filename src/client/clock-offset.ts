/**
 * Clock offset between this machine and the server, NTP-style (docs/protocol.md §4.4):
 *   offset = ((t2 − t1) + (t3 − t4)) / 2,   rtt = (t4 − t1) − (t3 − t2)
 * The sample with the smallest RTT among the recent ones is the least disturbed by queueing, so it wins.
 */
export interface OffsetSample {
  offsetUs: number;
  rttUs: number;
}

export function offsetSample(t1: number, t2: number, t3: number, t4: number): OffsetSample {
  return { offsetUs: (t2 - t1 + (t3 - t4)) / 2, rttUs: Math.max(0, t4 - t1 - (t3 - t2)) };
}

export class ClockOffset {
  private readonly samples: OffsetSample[] = [];
  constructor(private readonly keep = 16) {}

  add(s: OffsetSample): void {
    this.samples.push(s);
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** Best estimate (server clock − local clock, µs), or null before the first pong. */
  get best(): OffsetSample | null {
    let b: OffsetSample | null = null;
    for (const s of this.samples) if (!b || s.rttUs < b.rttUs) b = s;
    return b;
  }
}
