/** What scenarios share: options, tools, cached media and results, and what they hand to the report. */
import type { Tool, ToolName } from './tools.js';
import type { RunResult } from './load.js';

export interface Table {
  caption?: string;
  headers: string[];
  rows: string[][];
}

export interface Section {
  title: string;
  intro?: string;
  tables: Table[];
  notes: string[];
}

export interface Target {
  target: string;
  value: string;
  /** null: could not be measured in this run. */
  met: boolean | null;
}

export interface BenchContext {
  smoke: boolean;
  warmupS: number;
  durationS: number;
  tmp: string;
  outFile: string;
  tools: Record<ToolName, Tool>;
  /** ms/frame of encodeForProfile by "WxH" (scenario 1). */
  encodeMs: Map<string, number>;
  /** Runs by key ("fw-tcp:100@native", "gst:100@node", …), reused across scenarios. */
  runs: Map<string, RunResult>;
  /** Memoised media by key. */
  memo: Map<string, Promise<unknown>>;
  targets: Target[];
  extraFiles: string[];
  log(msg: string): void;
}

export interface Scenario {
  name: string;
  /** Only when named with --only (or --profile for the profile scenario). */
  optIn?: boolean;
  run(ctx: BenchContext): Promise<Section>;
}

export function memo<T>(ctx: BenchContext, key: string, make: () => Promise<T>): Promise<T> {
  let p = ctx.memo.get(key) as Promise<T> | undefined;
  if (!p) {
    p = make();
    ctx.memo.set(key, p);
  }
  return p;
}

export const f1 = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
export const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;

export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
}
