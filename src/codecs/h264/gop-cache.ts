/**
 * The access units since the last keyframe, so a viewer joining mid-GOP can decode up to the newest picture
 * at once (a catch-up burst) instead of waiting up to a GOP for the next keyframe.
 *
 * A run is only useful whole: every picture after the keyframe refers back to the ones before it. So when
 * the next access unit would take the run past maxBytes or maxFrames, the whole run is dropped and nothing
 * is cached until the next keyframe; meanwhile catchUp() is empty and a joiner waits for that keyframe, as
 * it would with no cache. A keyframe larger than maxBytes alone is not cached either. Memory held is at
 * most maxBytes of access units (references to them: the cache copies nothing).
 */
import { FramewireError } from '../../errors.js';

export interface GopEntry {
  readonly keyframe: boolean;
  readonly data: Uint8Array;
}

export interface GopCacheOptions {
  /** Bytes of access units held at most; default 8 MiB (4 s at 16 Mbit/s). */
  maxBytes?: number;
  /** Access units held at most; default 300 (a 2 s GOP at up to 150 fps, 10 s at 30 fps). */
  maxFrames?: number;
}

export const DEFAULT_GOP_CACHE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_GOP_CACHE_FRAMES = 300;

/** 'empty': no keyframe yet (or cleared); 'caching': a run is held; 'overflow': past a bound, waiting for a keyframe. */
export type GopCacheState = 'empty' | 'caching' | 'overflow';

export interface GopCacheStats {
  /** Runs dropped for going past a bound. */
  overflows: number;
}

export class GopCache<T extends GopEntry> {
  readonly maxBytes: number;
  readonly maxFrames: number;
  readonly stats: GopCacheStats = { overflows: 0 };
  private run: T[] = [];
  private runBytes = 0;
  private _state: GopCacheState = 'empty';

  constructor(options: GopCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_GOP_CACHE_BYTES;
    const maxFrames = options.maxFrames ?? DEFAULT_GOP_CACHE_FRAMES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new FramewireError('E_BAD_PARAMS', `GOP cache maxBytes must be a positive integer, got ${maxBytes}`);
    if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new FramewireError('E_BAD_PARAMS', `GOP cache maxFrames must be a positive integer, got ${maxFrames}`);
    this.maxBytes = maxBytes;
    this.maxFrames = maxFrames;
  }

  get state(): GopCacheState {
    return this._state;
  }

  get bytes(): number {
    return this.runBytes;
  }

  get frames(): number {
    return this.run.length;
  }

  /** The next access unit of the stream, in decoding order. */
  push(au: T): void {
    if (au.keyframe) {
      this.run = [];
      this.runBytes = 0;
      this._state = 'caching';
    } else if (this._state !== 'caching') {
      return;
    }
    if (this.run.length + 1 > this.maxFrames || this.runBytes + au.data.length > this.maxBytes) {
      this.run = [];
      this.runBytes = 0;
      this._state = 'overflow';
      this.stats.overflows++;
      return;
    }
    this.run.push(au);
    this.runBytes += au.data.length;
  }

  /** The run a joiner decodes before live pictures: the last keyframe and everything after it, or [] (wait for a keyframe). */
  catchUp(): T[] {
    return this.run.slice();
  }

  /** Forget the run (the stream restarted, or its size changed): joiners wait for the next keyframe. */
  clear(): void {
    this.run = [];
    this.runBytes = 0;
    this._state = 'empty';
  }
}
