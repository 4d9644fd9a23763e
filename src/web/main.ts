/**
 * The browser viewer: framewire/1 over WebSocket into a canvas, with an overlay of what the stream is
 * really doing (rate, capture-to-screen latency, bitrate, size, drops) and controls to change it.
 * Bundled by scripts/build-web.mjs; served by the HTTP transport at /.
 */
import { StatsWindow } from '../client/stats.js';
import type { StreamParams } from '../protocol/messages.js';
import { nowUs } from '../clock.js';
import { Codec } from '../protocol/constants.js';
import { probeCodec } from './codec-choice.js';
import { DecodeTrace, traceWanted } from './decode-trace.js';
import { FramePainter } from './frame-painter.js';
import { H264Painter } from './h264-painter.js';
import { initialToken, rememberToken } from './token-store.js';
import { ViewerConnection, type ViewerState } from './viewer-connection.js';

export interface FramewireStats {
  /** Frames painted since the page loaded. */
  frames: number;
  fps: number;
  /** Capture-to-screen latency, median of recent frames, corrected by the clock offset; null before it is known. */
  latencyP50: number | null;
  width: number;
  height: number;
  /** Frames skipped because a newer one arrived while decoding. */
  dropped: number;
  state: ViewerState;
  /** The codec the server granted, null before ACCEPT. */
  codec: 'jpeg' | 'h264' | null;
  /** Why this codec (the fallback's reason), as the overlay shows it. */
  codecReason: string;
  /** Payloads the decoder refused (each H.264 one resets the decoder until the next keyframe). */
  decodeErrors: number;
  /** ms from an ACCEPT to the first picture painted after it; null until then. */
  firstPictureMs: number | null;
  /** FRAME payload bytes received since the page loaded. */
  receivedBytes: number;
}

declare global {
  interface Window {
    framewireStats: FramewireStats;
    /** Only with `?trace` in the URL (src/web/decode-trace.ts). */
    framewireTrace?: DecodeTrace;
  }
}

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`viewer page is missing #${id}`);
  return el;
}

const MESSAGES: Record<ViewerState, string | null> = {
  connecting: 'connecting…',
  streaming: null,
  reconnecting: 'reconnecting…',
  disconnected: 'disconnected — press Enter/click to reconnect',
  unauthorized: 'this server needs a token — reload the page to enter it again',
  refused: null,
};

async function main(): Promise<void> {
  const canvas = byId('video', HTMLCanvasElement);
  const stage = byId('stage', HTMLDivElement);
  const message = byId('message', HTMLDivElement);
  const stateEl = byId('state', HTMLSpanElement);
  const sourceEl = byId('source', HTMLSpanElement);
  const resolution = byId('resolution', HTMLSelectElement);
  const fpsSel = byId('fps', HTMLSelectElement);
  const qualitySel = byId('quality', HTMLSelectElement);
  const connectBtn = byId('connect', HTMLButtonElement);
  const out = {
    fps: byId('o-fps', HTMLElement),
    latency: byId('o-latency', HTMLElement),
    kbps: byId('o-kbps', HTMLElement),
    size: byId('o-size', HTMLElement),
    dropped: byId('o-dropped', HTMLElement),
    codec: byId('o-codec', HTMLElement),
    why: byId('o-why', HTMLElement),
  };
  const ctx2d = canvas.getContext('2d', { alpha: false });
  if (!ctx2d) throw new Error('this browser has no 2D canvas');

  // Bytes on arrival (what the network carries); frames and latency on paint (what the viewer sees).
  const received = new StatsWindow();
  const shown = new StatsWindow(120);
  let state: ViewerState = 'connecting';
  let promptedForToken = false;

  const choice = await probeCodec(location.search);
  const stats: FramewireStats = {
    frames: 0,
    fps: 0,
    latencyP50: null,
    width: canvas.width,
    height: canvas.height,
    dropped: 0,
    state,
    codec: null,
    codecReason: choice.reason,
    decodeErrors: 0,
    firstPictureMs: null,
    receivedBytes: 0,
  };
  window.framewireStats = stats;
  const trace = traceWanted(location.search) ? new DecodeTrace() : null;
  if (trace) window.framewireTrace = trace;
  out.why.textContent = choice.h264 ? '' : choice.reason;
  out.why.hidden = choice.h264;

  let acceptedAtMs: number | null = null;
  const onPainted = ({ frame }: { frame: { captureUs: number } }): void => {
    const offset = conn.offsetUs;
    const latencyMs = offset === null ? null : (nowUs() + offset - frame.captureUs) / 1000;
    shown.record(0, latencyMs);
    if (acceptedAtMs !== null) {
      stats.firstPictureMs = performance.now() - acceptedAtMs;
      acceptedAtMs = null;
    }
    refreshCounts();
  };
  const jpeg = new FramePainter(canvas, ctx2d, onPainted);
  const h264 = new H264Painter(canvas, ctx2d, onPainted, trace ? (d) => trace.record({ ...d, offsetUs: conn.offsetUs }) : null);
  let painter: FramePainter | H264Painter = jpeg;
  const refreshCounts = (): void => {
    stats.frames = jpeg.painted + h264.painted;
    stats.dropped = jpeg.dropped + h264.dropped;
    stats.decodeErrors = jpeg.decodeErrors + h264.decodeErrors;
  };

  const params = (): StreamParams => {
    const [w, h] = resolution.value.split('x').map(Number);
    return { width: w ?? 0, height: h ?? 0, fps: Number(fpsSel.value), quality: Number(qualitySel.value) };
  };

  const setState = (s: ViewerState, detail: string): void => {
    if (trace && (s === 'connecting' || s === 'reconnecting')) trace.connectUs = nowUs();
    state = s;
    stats.state = s;
    stateEl.dataset['state'] = s;
    stateEl.textContent = s;
    const text = s === 'refused' || (s === 'reconnecting' && detail !== 'reconnecting…') ? detail : MESSAGES[s];
    message.hidden = text === null;
    message.textContent = text ?? '';
    connectBtn.textContent = s === 'disconnected' || s === 'unauthorized' || s === 'refused' ? 'Connect' : 'Disconnect';
  };

  const wsUrl = new URL('ws', location.href);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.search = '';
  const conn = new ViewerConnection(wsUrl.href, initialToken(), params(), {
    state: setState,
    accept: (a) => {
      // The canvas takes the granted size (setting it clears the canvas, so only when it changes).
      if (canvas.width !== a.width || canvas.height !== a.height) {
        canvas.width = a.width;
        canvas.height = a.height;
      }
      jpeg.clear();
      h264.clear();
      painter = a.codec === Codec.H264 ? h264 : jpeg;
      stats.codec = a.codec === Codec.H264 ? 'h264' : 'jpeg';
      stats.firstPictureMs = null;
      acceptedAtMs = performance.now();
      if (trace) trace.acceptUs = nowUs();
      out.codec.textContent = a.codec === Codec.H264 ? 'H.264' : 'JPEG';
      stats.width = a.width;
      stats.height = a.height;
      sourceEl.textContent = `${a.source} — ${a.width}×${a.height} @ ${a.fps} fps, ${a.codec === Codec.H264 ? 'H.264' : `quality ${a.quality}`}`;
    },
    frame: (f, receivedUs) => {
      received.record(f.payload.length, null);
      stats.receivedBytes += f.payload.length;
      painter.offer(f, receivedUs);
    },
    status: (text) => {
      sourceEl.textContent = text;
    },
    authRefused: () => {
      if (promptedForToken) return null;
      promptedForToken = true;
      const t = window.prompt('This framewire server needs a token:');
      if (t === null) return null;
      rememberToken(t);
      return t;
    },
  }, choice.h264 ? [Codec.H264] : []);

  const connect = (): void => conn.start();
  const disconnect = (): void => conn.stop('disconnected');
  const isDown = (): boolean => state === 'disconnected' || state === 'unauthorized' || state === 'refused';

  for (const sel of [resolution, fpsSel, qualitySel]) sel.addEventListener('change', () => conn.renegotiate(params()));
  connectBtn.addEventListener('click', () => (isDown() ? connect() : disconnect()));
  message.addEventListener('click', () => {
    if (isDown()) connect();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !isDown()) disconnect();
    else if (e.key === 'Enter' && isDown() && !(e.target instanceof HTMLButtonElement)) connect();
  });
  byId('fullscreen', HTMLButtonElement).addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void stage.requestFullscreen().catch(() => {});
  });
  byId('snapshot', HTMLButtonElement).addEventListener('click', () => {
    canvas.toBlob(
      (blob) => {
        if (!blob) return;
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `framewire-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      },
      'image/jpeg',
      0.92,
    );
  });

  const fmt = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');
  setInterval(() => {
    const s = shown.summary();
    const r = received.summary();
    stats.fps = state === 'streaming' ? s.fps : 0;
    stats.latencyP50 = s.latencyMs?.p50 ?? null;
    refreshCounts();
    out.fps.textContent = fmt(stats.fps, 1);
    out.latency.textContent = stats.latencyP50 === null ? '–' : fmt(stats.latencyP50);
    out.kbps.textContent = state === 'streaming' ? fmt(r.kbps) : '–';
    out.size.textContent = `${canvas.width}×${canvas.height}`;
    out.dropped.textContent = String(stats.dropped);
  }, 250);

  setState('connecting', 'connecting…');
  connect();
  stage.focus();
}

void main();
