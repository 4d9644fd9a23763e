/**
 * The browser viewer: framewire/1 over WebSocket into a canvas, with an overlay of what the stream is
 * really doing (rate, capture-to-screen latency, bitrate, size, drops) and controls to change it. The
 * connection and the decoding run in a worker (src/web/stream-worker.ts); this page paints what it decodes.
 * Bundled by scripts/build-web.mjs; served by the HTTP transport at /.
 */
import { StatsWindow } from '../client/stats.js';
import type { AcceptMessage, StreamParams } from '../protocol/messages.js';
import { nowUs } from '../clock.js';
import { Codec } from '../protocol/constants.js';
import { DecodeTrace, traceWanted } from './decode-trace.js';
import { initialToken, rememberToken } from './token-store.js';
import type { ViewerState } from './viewer-connection.js';
import type { FromWorker, ToWorker, WorkerCounts } from './worker-messages.js';

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

function main(): void {
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

  const params = (): StreamParams => {
    const [w, h] = resolution.value.split('x').map(Number);
    return { width: w ?? 0, height: h ?? 0, fps: Number(fpsSel.value), quality: Number(qualitySel.value) };
  };

  // The connection and the decoders live in a worker, started first so that it dials while this page
  // is still setting itself up (src/web/stream-worker.ts).
  // A classic worker (its bundle has no imports): module workers are newer than the browsers this page serves.
  const worker = new Worker(new URL('stream-worker.js', location.href));
  const tell = (m: ToWorker): void => worker.postMessage(m);
  const wsUrl = new URL('ws', location.href);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.search = '';
  tell({ type: 'start', wsUrl: wsUrl.href, token: initialToken(), params: params(), search: location.search });

  // Frames and latency on paint (what the viewer sees); bytes and drops as the worker counts them.
  const shown = new StatsWindow(120);
  let state: ViewerState = 'connecting';
  let promptedForToken = false;
  let offsetUs: number | null = null;
  let counts: WorkerCounts = { receivedBytes: 0, kbps: 0, dropped: 0, decodeErrors: 0 };
  const stats: FramewireStats = {
    frames: 0,
    fps: 0,
    latencyP50: null,
    width: canvas.width,
    height: canvas.height,
    dropped: 0,
    state,
    codec: null,
    codecReason: '',
    decodeErrors: 0,
    firstPictureMs: null,
    receivedBytes: 0,
  };
  window.framewireStats = stats;
  const trace = traceWanted(location.search) ? new DecodeTrace() : null;
  if (trace) window.framewireTrace = trace;

  /** When the current conversation's ACCEPT came (the worker's clock), until its first picture is painted. */
  let acceptedAtUs: number | null = null;
  const refreshCounts = (): void => {
    stats.dropped = counts.dropped;
    stats.decodeErrors = counts.decodeErrors;
    stats.receivedBytes = counts.receivedBytes;
  };
  // The newest picture the worker handed over, painted at the next display refresh; the worker is told it was
  // taken once it is painted, so a hidden tab (no refreshes) takes nothing and paints nothing.
  let newest: { image: VideoFrame | ImageBitmap; captureUs: number } | null = null;
  const paint = (): void => {
    const n = newest;
    newest = null;
    if (!n) return;
    try {
      // Scaled: one of the previous size may still come right after a renegotiation.
      ctx2d.drawImage(n.image, 0, 0, canvas.width, canvas.height);
    } catch {
      return;
    } finally {
      n.image.close();
      tell({ type: 'taken' });
    }
    stats.frames++;
    const now = nowUs();
    shown.record(0, offsetUs === null ? null : (now + offsetUs - n.captureUs) / 1000);
    if (acceptedAtUs !== null) {
      stats.firstPictureMs = (now - acceptedAtUs) / 1000;
      acceptedAtUs = null;
      if (trace) trace.firstPaintUs = now;
    }
    refreshCounts();
  };

  const setState = (s: ViewerState, detail: string): void => {
    state = s;
    stats.state = s;
    stateEl.dataset['state'] = s;
    stateEl.textContent = s;
    const text = s === 'refused' || (s === 'reconnecting' && detail !== 'reconnecting…') ? detail : MESSAGES[s];
    message.hidden = text === null;
    message.textContent = text ?? '';
    connectBtn.textContent = s === 'disconnected' || s === 'unauthorized' || s === 'refused' ? 'Connect' : 'Disconnect';
  };

  const accepted = (a: AcceptMessage, atUs: number): void => {
    // The canvas takes the granted size (setting it clears the canvas, so only when it changes).
    if (canvas.width !== a.width || canvas.height !== a.height) {
      canvas.width = a.width;
      canvas.height = a.height;
    }
    const h264 = a.codec === Codec.H264;
    stats.codec = h264 ? 'h264' : 'jpeg';
    stats.firstPictureMs = null;
    acceptedAtUs = atUs;
    out.codec.textContent = h264 ? 'H.264' : 'JPEG';
    stats.width = a.width;
    stats.height = a.height;
    sourceEl.textContent = `${a.source} — ${a.width}×${a.height} @ ${a.fps} fps, ${h264 ? 'H.264' : `quality ${a.quality}`}`;
  };

  worker.onerror = (e: ErrorEvent) => setState('refused', `the viewer's worker failed: ${e.message || 'it did not load'}`);
  worker.onmessage = (ev: MessageEvent<FromWorker>) => {
    const m = ev.data;
    switch (m.type) {
      case 'codec':
        stats.codecReason = m.choice.reason;
        out.why.textContent = m.choice.h264 ? '' : m.choice.reason;
        out.why.hidden = m.choice.h264;
        break;
      case 'state':
        if (trace && (m.state === 'connecting' || m.state === 'reconnecting')) {
          trace.connectUs = m.atUs;
          trace.firstPaintUs = null;
        }
        setState(m.state, m.detail);
        break;
      case 'accept':
        if (trace) trace.acceptUs = m.atUs;
        accepted(m.accept, m.atUs);
        break;
      case 'status':
        sourceEl.textContent = m.text;
        break;
      case 'auth': {
        let token: string | null = null;
        // Asked once per page; not at all when the user has disconnected meanwhile.
        if (!promptedForToken && state !== 'disconnected') {
          promptedForToken = true;
          token = window.prompt('This framewire server needs a token:');
          if (token !== null) rememberToken(token);
        }
        tell({ type: 'token', token });
        break;
      }
      case 'picture':
        offsetUs = m.offsetUs;
        counts = m.counts;
        // The worker sends one picture at a time, so there is no older one here to replace.
        newest?.image.close();
        newest = { image: m.image, captureUs: m.captureUs };
        requestAnimationFrame(paint);
        break;
      case 'counts':
        counts = m.counts;
        refreshCounts();
        break;
      case 'trace':
        trace?.record(m.picture);
        break;
    }
  };

  const connect = (): void => tell({ type: 'connect' });
  const disconnect = (): void => tell({ type: 'stop', detail: 'disconnected' });
  const isDown = (): boolean => state === 'disconnected' || state === 'unauthorized' || state === 'refused';

  for (const sel of [resolution, fpsSel, qualitySel]) sel.addEventListener('change', () => tell({ type: 'renegotiate', params: params() }));
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
    stats.fps = state === 'streaming' ? s.fps : 0;
    stats.latencyP50 = s.latencyMs?.p50 ?? null;
    refreshCounts();
    out.fps.textContent = fmt(stats.fps, 1);
    out.latency.textContent = stats.latencyP50 === null ? '–' : fmt(stats.latencyP50);
    out.kbps.textContent = state === 'streaming' ? fmt(counts.kbps) : '–';
    out.size.textContent = `${canvas.width}×${canvas.height}`;
    out.dropped.textContent = String(stats.dropped);
  }, 250);

  setState('connecting', 'connecting…');
  stage.focus();
}

main();
