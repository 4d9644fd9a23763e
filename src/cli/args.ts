/** Flag parsing helpers shared by the subcommands: parse once at the edge into typed values with clear errors. */
import { FramewireError } from '../errors.js';

export function intFlag(value: string | undefined, name: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new FramewireError('E_BAD_PARAMS', `--${name} must be a whole number from ${lo} to ${hi} (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function numberFlag(value: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < lo || n > hi) {
    throw new FramewireError('E_BAD_PARAMS', `--${name} must be a number from ${lo} to ${hi} (got ${JSON.stringify(value)})`);
  }
  return n;
}
