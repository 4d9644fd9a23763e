/**
 * The stream query of the HTTP routes (/stream.mjpg, /snapshot.jpg): ?width=&height=&fps=&quality=.
 * Pure and total: any input gives either the parameters or an E_BAD_PARAMS error naming the culprit,
 * so a typo in a URL is a 400 the user can read rather than a silently different stream.
 */
import { FramewireError } from '../../errors.js';
import { LIMITS } from '../../protocol/constants.js';
import type { StreamParams } from '../../protocol/messages.js';

export type StreamQueryResult = { ok: true; params: StreamParams } | { ok: false; error: FramewireError };

/** Bounds per parameter; absent means 0, which grantParams turns into the server default. */
export const QUERY_BOUNDS: Readonly<Record<keyof StreamParams, readonly [number, number]>> = {
  width: [LIMITS.minWidth, LIMITS.maxWidth],
  height: [LIMITS.minHeight, LIMITS.maxHeight],
  fps: [LIMITS.minFps, LIMITS.maxFps],
  quality: [LIMITS.minQuality, LIMITS.maxQuality],
};

const NAMES = ['width', 'height', 'fps', 'quality'] as const;
/** Plain decimal digits only: no sign, exponent, hex or spaces; 5 digits cover every bound with room to spare. */
const INTEGER = /^[0-9]{1,5}$/;

function bad(text: string): StreamQueryResult {
  return { ok: false, error: new FramewireError('E_BAD_PARAMS', text) };
}

/** Parse and validate; other parameters (token, cache-busters) are ignored. */
export function parseStreamQuery(query: string | URLSearchParams): StreamQueryResult {
  const q = typeof query === 'string' ? new URLSearchParams(query) : query;
  const params: StreamParams = { width: 0, height: 0, fps: 0, quality: 0 };
  for (const name of NAMES) {
    const all = q.getAll(name);
    if (all.length === 0) continue;
    const [lo, hi] = QUERY_BOUNDS[name];
    if (all.length > 1) return bad(`${name} is given ${all.length} times; give it once`);
    const raw = all[0]!;
    if (!INTEGER.test(raw)) return bad(`${name} must be a whole number from ${lo} to ${hi}, got ${JSON.stringify(raw.slice(0, 40))}`);
    const v = Number(raw);
    if (v < lo || v > hi) return bad(`${name} must be from ${lo} to ${hi}, got ${v}`);
    params[name] = v;
  }
  return { ok: true, params };
}
