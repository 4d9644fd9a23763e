/** A sink for tests that records what a producer hands it and lets a test wait for a condition on it. */
import type { SourceEvent } from '../../src/sources/source.js';

export interface Recorded<T> {
  readonly items: T[];
  readonly events: SourceEvent[];
  add(item: T): void;
  event(e: SourceEvent): void;
  /** Resolves when `pred` holds (checked after every item and event); rejects after ms, listing the events. */
  until(pred: () => boolean, ms: number, what: string): Promise<void>;
}

/** `noun` names the items in a timeout's message ("frames", "access units"). */
export function recorded<T>(noun: string): Recorded<T> {
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  const r: Recorded<T> = {
    items: [],
    events: [],
    add(item) {
      r.items.push(item);
      poke();
    },
    event(e) {
      r.events.push(e);
      poke();
    },
    until(pred, ms, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pred()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const log = r.events.map((e) => JSON.stringify(e)).join('\n');
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${r.items.length} ${noun}; events:\n${log}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
  return r;
}
