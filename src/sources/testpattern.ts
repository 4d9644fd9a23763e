/**
 * The built-in test pattern: needs nothing installed, so it is the default source.
 *
 * What it draws, and why:
 *  - static colour bars along the top (white, yellow, cyan, green, magenta, red, blue, black) — known colours
 *    a test can look for after a JPEG round trip;
 *  - a smooth, textured background that scrolls one step per frame — realistic JPEG compressibility
 *    (gradients plus edges, neither a flat colour nor noise) and motion a viewer can see;
 *  - a bouncing ball;
 *  - the frame counter and the capture clock (UTC, ms) burned in, so latency and drops are visible by eye.
 *
 * Rendering is cheap by construction: the background is precomputed twice as wide and each frame copies a
 * scrolled window row by row (memcpy); only the ball and text are drawn per frame.
 */
import { FramewireError } from '../errors.js';
import { drawText, fillRect, textWidth } from './font5x7.js';
import { nowUs } from '../clock.js';
import type { RawFrame, Source, SourceInfo, SourceRequest, SourceSink } from './source.js';

export const BAR_COLOURS: readonly (readonly [number, number, number])[] = [
  [235, 235, 235],
  [235, 235, 16],
  [16, 235, 235],
  [16, 235, 16],
  [235, 16, 235],
  [235, 16, 16],
  [16, 16, 235],
  [16, 16, 16],
];

/** Fraction of the height taken by the colour bars. */
export const BAR_HEIGHT_FRACTION = 1 / 6;

function renderBackground(width: number, height: number): Buffer {
  const w2 = width * 2;
  const bg = Buffer.alloc(w2 * height * 3);
  // Whole cells across the width, so the grid wraps without a seam when the background scrolls.
  const cols = Math.max(2, Math.round(width / Math.max(8, height / 12)));
  const cell = width / cols;
  for (let y = 0; y < height; y++) {
    const fy = y / height;
    for (let x = 0; x < w2; x++) {
      // Period of `width` horizontally, so scrolling by `width` wraps seamlessly.
      const fx = (x % width) / width;
      const a = 2 * Math.PI * fx;
      let r = 128 + 100 * Math.sin(a + fy * 3);
      let g = 128 + 100 * Math.sin(a * 2 + 2.1 - fy * 2);
      let b = 128 + 100 * Math.sin(a + 4.2 + fy * 5);
      // A grid of thin lines and a checker tint: edges for the DCT to work on.
      const xx = x % width;
      const cx = Math.floor(xx / cell);
      const cy = Math.floor(y / cell);
      if (cx !== Math.floor((xx - 1) / cell) || cy !== Math.floor((y - 1) / cell)) {
        r = g = b = 30;
      } else if ((cx + cy) % 2 === 0) {
        r *= 0.8;
        g *= 0.8;
        b *= 0.8;
      }
      const p = (y * w2 + x) * 3;
      bg[p] = r;
      bg[p + 1] = g;
      bg[p + 2] = b;
    }
  }
  return bg;
}

function clockText(us: number): string {
  const d = new Date(us / 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

/** Pure renderer: frame n of a width×height pattern, stamped with the given time. Exposed for tests. */
export class TestPatternRenderer {
  private readonly bg: Buffer;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 7680 || height > 4320) {
      throw new FramewireError('E_BAD_PARAMS', `test pattern size ${width}x${height} outside 16x16..7680x4320`);
    }
    this.bg = renderBackground(width, height);
  }

  render(n: number, captureUs: number, out: Buffer = Buffer.allocUnsafe(this.width * this.height * 3)): Buffer {
    const { width: w, height: h, bg } = this;
    const row = w * 3;
    const shift = ((n * Math.max(1, Math.round(w / 320))) % w) * 3;
    const barH = Math.round(h * BAR_HEIGHT_FRACTION);
    for (let y = barH; y < h; y++) bg.copy(out, y * row, y * row * 2 + shift, y * row * 2 + shift + row);
    const barW = w / BAR_COLOURS.length;
    BAR_COLOURS.forEach((c, i) => fillRect(out, w, h, Math.round(i * barW), 0, Math.round((i + 1) * barW) - Math.round(i * barW), barH, c));

    // Bouncing ball.
    const rad = Math.max(4, Math.round(h / 10));
    const spanX = w - 2 * rad;
    const spanY = h - barH - 2 * rad;
    const tx = (n * 7) % (2 * spanX);
    const ty = (n * 5) % (2 * Math.max(1, spanY));
    const cx = rad + (tx < spanX ? tx : 2 * spanX - tx);
    const cy = barH + rad + (ty < spanY ? ty : 2 * spanY - ty);
    for (let dy = -rad; dy <= rad; dy++) {
      const half = Math.floor(Math.sqrt(rad * rad - dy * dy));
      fillRect(out, w, h, cx - half, cy + dy, 2 * half + 1, 1, [250, 160, 20]);
    }

    // Counter and clock on a dark plate.
    const scale = Math.max(1, Math.floor(h / 120));
    const line1 = `#${String(n).padStart(6, '0')}`;
    const line2 = clockText(captureUs);
    const plateW = textWidth(line2, scale) + 4 * scale;
    const lineH = 9 * scale;
    const px = 2 * scale;
    const py = h - 2 * lineH - 3 * scale;
    fillRect(out, w, h, px, py, plateW, 2 * lineH + scale, [0, 0, 0]);
    drawText(out, w, h, px + 2 * scale, py + scale, line1, scale, [255, 255, 255]);
    drawText(out, w, h, px + 2 * scale, py + scale + lineH, line2, scale, [255, 255, 255]);
    return out;
  }
}

/**
 * Reuses frame buffers once nobody holds them: 30 fresh 2.7 MB buffers a second (720p) would otherwise churn
 * the allocator and hold several frames' worth of memory between garbage collections.
 */
export class FramePool {
  private readonly free: Buffer[] = [];
  constructor(
    readonly bytes: number,
    private readonly keep = 4,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bytes);
  }

  /** A frame record whose buffer returns to the pool when its last reference is released. */
  frame(base: Omit<RawFrame, 'data' | 'retain'>, data: Buffer): { frame: RawFrame; release: () => void } {
    let refs = 1;
    const release = (): void => {
      if (--refs === 0 && this.free.length < this.keep) this.free.push(data);
    };
    const frame: RawFrame = {
      ...base,
      data,
      retain: () => {
        refs++;
        let done = false;
        return () => {
          if (!done) {
            done = true;
            release();
          }
        };
      },
    };
    return { frame, release };
  }
}

export class TestPatternSource implements Source {
  readonly info: SourceInfo;
  private renderer: TestPatternRenderer | null = null;
  private pool: FramePool | null = null;
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  private startMs = 0;

  constructor(request: SourceRequest) {
    const fps = request.fps;
    if (!(fps >= 1 && fps <= 240)) throw new FramewireError('E_BAD_PARAMS', `test pattern fps ${fps} outside 1..240`);
    this.info = {
      description: `testpattern ${request.width}x${request.height}@${fps}`,
      width: request.width,
      height: request.height,
      fps,
    };
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.timer) return;
    this.renderer = new TestPatternRenderer(this.info.width, this.info.height);
    this.pool = new FramePool(this.info.width * this.info.height * 3);
    this.startMs = performance.now();
    this.n = 0;
    const interval = 1000 / this.info.fps;
    const tick = (): void => {
      // The burned-in clock shows when drawing started; captureUs is when the frame exists, as a camera's
      // timestamp is when the driver hands the frame over, so latency figures start where framewire's work does.
      const data = this.renderer!.render(this.n, nowUs(), this.pool!.take());
      const captureUs = nowUs();
      const { frame, release } = this.pool!.frame(
        { seq: this.n >>> 0, captureUs, width: this.info.width, height: this.info.height, format: 'rgb24' },
        data,
      );
      this.n++;
      sink.frame(frame);
      release(); // our own reference; encoders still working on it hold theirs
      // Schedule against the start time, not the last tick, so timer jitter does not accumulate.
      const due = this.startMs + this.n * interval;
      const late = performance.now() - due;
      if (late > interval * 5) {
        // We fell far behind (machine overloaded): skip ahead instead of bursting.
        this.n += Math.floor(late / interval);
      }
      this.timer = setTimeout(tick, Math.max(0, this.startMs + this.n * interval - performance.now()));
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.renderer = null;
  }
}
