/**
 * The viewer's stream worker: the framewire/1 connection (src/web/viewer-connection.ts) and the decoders run
 * here, off the page's thread, so a page busy loading, laying out or stalled does not hold back the acks,
 * the catch-up burst of a join or the decoding. Decoded pictures go to the page through a newest-wins outbox
 * (src/web/picture-outbox.ts); what the page and the worker say is in src/web/worker-messages.ts.
 * Bundled by scripts/build-web.mjs into dist/web/stream-worker.js.
 */
import { StatsWindow } from '../client/stats.js';
import { nowUs } from '../clock.js';
import { Codec } from '../protocol/constants.js';
import { PROBE_CODEC, probeCodec } from './codec-choice.js';
import { traceWanted } from './decode-trace.js';
import { H264Decoder } from './h264-decoder.js';
import { JpegDecoder, type Picture } from './jpeg-decoder.js';
import { PictureOutbox } from './picture-outbox.js';
import { ViewerConnection } from './viewer-connection.js';
import type { FromWorker, ToWorker, WorkerCounts } from './worker-messages.js';

/** How often the counters go to the page when no picture carries them. */
const COUNTS_EVERY_MS = 250;

function post(m: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(m, { transfer });
}

async function begin(start: Extract<ToWorker, { type: 'start' }>): Promise<(m: ToWorker) => void> {
  const choice = await probeCodec(start.search);
  post({ type: 'codec', choice });
  const received = new StatsWindow();
  let receivedBytes = 0;
  const outbox = new PictureOutbox((p) => post({ type: 'picture', image: p.image, captureUs: p.captureUs, offsetUs: conn.offsetUs, counts: counts() }, [p.image]));
  const show = (p: Picture): void => outbox.offer(p);
  const jpeg = new JpegDecoder(show);
  const h264 = new H264Decoder(show, traceWanted(start.search) ? (d) => post({ type: 'trace', picture: { ...d, offsetUs: conn.offsetUs } }) : null);
  if (choice.h264) h264.prepare(PROBE_CODEC);
  let h264Granted = false;
  const counts = (): WorkerCounts => ({
    receivedBytes,
    kbps: received.summary().kbps,
    dropped: jpeg.dropped + h264.dropped + outbox.dropped,
    decodeErrors: jpeg.decodeErrors + h264.decodeErrors,
  });
  let answerToken: ((t: string | null) => void) | null = null;

  const conn = new ViewerConnection(
    start.wsUrl,
    start.token,
    start.params,
    {
      state: (state, detail) => post({ type: 'state', state, detail, atUs: nowUs() }),
      accept: (accept) => {
        jpeg.clear();
        outbox.clear();
        h264Granted = accept.codec === Codec.H264;
        // A JPEG conversation keeps no idle decoder set up (it may be a hardware decoder's slot).
        if (h264Granted) {
          h264.prepare(PROBE_CODEC);
          h264.clear();
        } else h264.close();
        post({ type: 'accept', accept, atUs: nowUs() });
      },
      frame: (f, receivedUs) => {
        received.record(f.payload.length, null);
        receivedBytes += f.payload.length;
        if (h264Granted) h264.offer(f, receivedUs);
        else jpeg.offer(f);
      },
      status: (text) => post({ type: 'status', text }),
      authRefused: (text) => {
        // One question at a time: an older one still open is answered "stop".
        answerToken?.(null);
        post({ type: 'auth', text });
        return new Promise((resolve) => (answerToken = resolve));
      },
    },
    choice.h264 ? [Codec.H264] : [],
  );
  // Only when they changed: a page whose thread is stalled does not pile up identical messages.
  let lastCounts = '';
  setInterval(() => {
    const c = counts();
    const key = `${c.receivedBytes} ${Math.round(c.kbps)} ${c.dropped} ${c.decodeErrors}`;
    if (key === lastCounts) return;
    lastCounts = key;
    post({ type: 'counts', counts: c });
  }, COUNTS_EVERY_MS);
  conn.start();

  return (m) => {
    switch (m.type) {
      case 'connect':
        conn.start();
        break;
      case 'stop':
        conn.stop(m.detail);
        break;
      case 'renegotiate':
        conn.renegotiate(m.params);
        break;
      case 'token': {
        const answer = answerToken;
        answerToken = null;
        answer?.(m.token);
        break;
      }
      case 'taken':
        outbox.taken();
        break;
      case 'start':
        break;
    }
  };
}

let handle: Promise<(m: ToWorker) => void> | null = null;
self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === 'start') {
    handle ??= begin(m).catch((e: unknown) => {
      post({ type: 'state', state: 'refused', detail: `the viewer's worker failed: ${e instanceof Error ? e.message : String(e)}`, atUs: nowUs() });
      return () => {};
    });
  }
  // Whatever the page says before the codec probe ends is carried out after it, in order.
  else if (handle) void handle.then((h) => h(m));
};
