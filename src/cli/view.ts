/**
 * `framewire view URL`: watch a stream in the terminal (or just count it), record it, summarise it.
 * ESC or q quits, like the tutorial's ESC.
 */
import { connect, type FramewireClient } from '../client/client.js';
import { MjpegRecorder } from '../recording/mjpeg-recorder.js';
import { FramewireError } from '../errors.js';
import { LIMITS } from '../protocol/constants.js';
import { intFlag, numberFlag, parseFlags, stringFlag, type FlagTable } from './args.js';
import { renderJpeg } from './terminal-renderer.js';
import { readTokenFile } from './token-choice.js';
import { printable } from '../client/printable.js';

export const VIEW_USAGE = `framewire view URL [options]
  URL                 tcp://HOST:PORT (framewire/1), tls://HOST:PORT, seed://HOST:PORT (the tutorial's server)
  --width W --height H --fps F --quality Q   what to ask the server for (0 or absent: server default)
  --frames N          stop after N frames
  --duration S        stop after S seconds
  --codec C           jpeg (default) or h264: offer H.264 too (the server may still grant JPEG); H.264 is
                      not drawn in the terminal, only counted and recorded
  --record PATH       write the stream to a file ffplay/VLC/mpv play: MJPEG (.mjpeg), or MPEG-TS (.ts)
                      when H.264 is granted
  --segment-seconds N with --record: PATH is a directory of N-second segments (crash-safe)
  --json              print one JSON summary on exit
  --display MODE      terminal (default on a terminal) or none
  FRAMEWIRE_TOKEN=T   authentication token, from the environment
  --token-file FILE   the token from the first line of FILE
  --token T           the token on the command line (visible to every user in ps: prefer the two above)
  --tls-fingerprint F pin the server certificate's SHA-256 fingerprint (AA:BB:…)
  --reconnect         reconnect with backoff when the connection drops
  -h, --help          this text`;

/** Every flag of `view`; VIEW_USAGE documents each (a test holds the two together). */
export const VIEW_FLAGS = {
  width: { type: 'string' },
  height: { type: 'string' },
  fps: { type: 'string' },
  quality: { type: 'string' },
  frames: { type: 'string' },
  duration: { type: 'string' },
  record: { type: 'string' },
  codec: { type: 'string' },
  'segment-seconds': { type: 'string' },
  json: { type: 'boolean', default: false },
  display: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'tls-fingerprint': { type: 'string' },
  reconnect: { type: 'boolean', default: false },
} as const satisfies FlagTable;

export interface ViewSummary {
  frames: number;
  seconds: number;
  fps: number;
  bytes: number;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  dropped: number;
  decodeErrors: number;
  width: number;
  height: number;
}

export function summarise(client: FramewireClient, startedMs: number): ViewSummary {
  const s = client.stats;
  const seconds = (performance.now() - startedMs) / 1000;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    frames: s.frames,
    seconds: r(seconds),
    fps: r(seconds > 0 ? s.frames / seconds : 0),
    bytes: s.bytes,
    latencyMs: s.latencyMs ? { p50: r(s.latencyMs.p50), p95: r(s.latencyMs.p95), p99: r(s.latencyMs.p99) } : null,
    dropped: s.dropped,
    decodeErrors: s.decodeErrors,
    width: s.width,
    height: s.height,
  };
}

export async function runView(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags('view', argv, VIEW_FLAGS, true);
  if (help) {
    process.stdout.write(VIEW_USAGE + '\n');
    return 0;
  }
  const url = positionals[0];
  if (!url || positionals.length > 1) throw new FramewireError('E_BAD_PARAMS', `view takes one URL\n${VIEW_USAGE}`);
  const display = stringFlag(values.display) ?? (process.stdout.isTTY ? 'terminal' : 'none');
  if (display !== 'terminal' && display !== 'none') throw new FramewireError('E_BAD_PARAMS', '--display must be terminal or none');
  const maxFrames = intFlag(values.frames, 'frames', 1, Number.MAX_SAFE_INTEGER, Infinity);
  const duration = numberFlag(values.duration, 'duration', 0.001, 1e9);
  const tokenFlag = stringFlag(values.token);
  const tokenFile = stringFlag(values['token-file']);
  if (tokenFlag !== undefined && tokenFile !== undefined) throw new FramewireError('E_BAD_PARAMS', 'choose either --token or --token-file');
  const token = tokenFlag ?? (tokenFile !== undefined ? readTokenFile(tokenFile) : undefined) ?? process.env.FRAMEWIRE_TOKEN;
  const fingerprint = stringFlag(values['tls-fingerprint']);
  const recordPath = stringFlag(values.record);
  const codec = stringFlag(values.codec) ?? 'jpeg';
  if (codec !== 'jpeg' && codec !== 'h264') throw new FramewireError('E_BAD_PARAMS', '--codec must be jpeg or h264');

  let statusNote = '';
  const client = await connect(url, {
    width: intFlag(values.width, 'width', 0, LIMITS.maxWidth, url.startsWith('seed:') ? 640 : 0),
    height: intFlag(values.height, 'height', 0, LIMITS.maxHeight, url.startsWith('seed:') ? 480 : 0),
    fps: intFlag(values.fps, 'fps', 0, LIMITS.maxFps, url.startsWith('seed:') ? 15 : 0),
    quality: intFlag(values.quality, 'quality', 0, LIMITS.maxQuality, 0),
    ...(token ? { token } : {}),
    ...(fingerprint ? { tls: { fingerprint } } : {}),
    reconnect: values.reconnect === true,
    ...(codec === 'h264' ? { codecs: ['h264' as const] } : {}),
    onStatus: (raw) => {
      // The client library already made server text printable; this is the terminal's own last line of defence.
      const text = printable(raw);
      if (display === 'none' && !values.json) process.stderr.write(`${text}\n`);
      else statusNote = text;
    },
  });
  const started = performance.now();
  const segmentSeconds = numberFlag(values['segment-seconds'], 'segment-seconds', 1, 86_400) ?? 0;
  const recorder = recordPath
    ? new MjpegRecorder({ path: recordPath, segmentSeconds, format: client.accepted.codec === 'h264' ? 'h264-ts' : 'mjpeg', onError: (e) => process.stderr.write(`framewire: ${e.code}: ${e.message}; viewing goes on\n`) })
    : null;
  const screen = display === 'terminal' ? new TerminalScreen(client) : null;
  let stopTimer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    void client.close();
  };
  if (duration !== undefined) stopTimer = setTimeout(stop, duration * 1000);
  screen?.onQuit(stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    for await (const frame of client) {
      recorder?.write(frame.jpeg, frame);
      if (frame.codec === 'jpeg') screen?.show(frame.jpeg, frame.width, frame.height, statusNote);
      if (client.stats.frames >= maxFrames) break;
    }
  } finally {
    if (stopTimer) clearTimeout(stopTimer);
    screen?.restore();
    await recorder?.close();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  const summary = summarise(client, started);
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else if (display === 'none') process.stderr.write(`${summary.frames} frames in ${summary.seconds} s (${summary.fps} fps)\n`);
  if (recorder?.error) throw recorder.error;
  return 0;
}

/** The live picture plus a status line; draws only the newest frame and one at a time. */
class TerminalScreen {
  private busy = false;
  private quitHandlers: (() => void)[] = [];
  private readonly onKey = (data: Buffer): void => {
    // ESC alone (not an escape sequence), q, or Ctrl-C.
    if ((data.length === 1 && data[0] === 0x1b) || data[0] === 0x71 || data[0] === 0x03) for (const h of this.quitHandlers) h();
  };

  constructor(private readonly client: FramewireClient) {
    process.stdout.write('\x1b[?1049h\x1b[?25l\x1b[2J');
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on('data', this.onKey);
    }
  }

  onQuit(h: () => void): void {
    this.quitHandlers.push(h);
  }

  show(jpeg: Uint8Array, width: number, height: number, note: string): void {
    if (this.busy) return;
    this.busy = true;
    const cols = process.stdout.columns || 80;
    const rows = Math.max(2, (process.stdout.rows || 24) - 1);
    renderJpeg(jpeg, width, height, { cols, rows })
      .then((lines) => {
        const s = this.client.stats;
        const lat = s.latencyMs ? `${s.latencyMs.p50.toFixed(1)} ms` : 'n/a';
        const status = ` ${s.fps.toFixed(1)} fps | latency ${lat} | ${(s.kbps / 8).toFixed(0)} KB/s | ${width}x${height} | dropped ${s.dropped} | q/ESC quits ${note ? '| ' + note : ''}`;
        process.stdout.write('\x1b[H' + lines.join('\x1b[K\r\n') + '\x1b[J\r\n\x1b[7m' + status.slice(0, cols).padEnd(cols) + '\x1b[0m');
      })
      .catch(() => this.client.reportDecodeError())
      .finally(() => {
        this.busy = false;
      });
  }

  restore(): void {
    process.stdin.removeListener('data', this.onKey);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    process.stdout.write('\x1b[0m\x1b[?25h\x1b[?1049l');
  }
}
