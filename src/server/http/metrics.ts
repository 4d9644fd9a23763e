/**
 * Prometheus metrics for /metrics, in a Registry of our own (not prom-client's global one) so that two
 * servers in one process — as in tests — never share or clash over metrics.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientProtocol, ClientTotals } from '../client-registry.js';
import type { ChainStats } from '../../codecs/h264/passthrough-chain.js';
import type { H264Counters } from '../../pipeline/frame-hub.js';
import type { H264EncoderStats } from '../../pipeline/h264-encoder.js';
import { codecOf, profileKey } from '../../pipeline/profile.js';
import type { ServerContext } from '../context.js';

const PROTOCOLS: readonly ClientProtocol[] = ['framewire', 'tutorial', 'websocket', 'mjpeg', 'mpegts'];
/**
 * Profiles are chosen by clients, so their label values are too: past this many distinct ones, the rest
 * are counted under "other" to keep the series count bounded on a long run.
 */
const MAX_PROFILE_LABELS = 64;

export interface ServerMetrics {
  readonly registry: Registry;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
}

export function createServerMetrics(ctx: ServerContext): ServerMetrics {
  const { hub, registry: clients } = ctx;
  const registry = new Registry();
  const registers = [registry];
  let snapshot: ClientTotals = { sent: 0, dropped: 0, bytes: 0, skipped: 0 };
  let sourceUp = 1;
  const profileLabels = new Set<string>();

  new Gauge({
    name: 'framewire_clients',
    help: 'Clients currently streaming, by protocol.',
    labelNames: ['protocol'],
    registers,
    collect() {
      const list = clients.list();
      for (const p of PROTOCOLS) this.set({ protocol: p }, list.filter((c) => c.protocol === p).length);
      // One reading per scrape, shared by the three totals below. The registry folds a leaving client's
      // counters into its totals, so frames sent to clients gone between two scrapes are counted too.
      snapshot = clients.totals();
    },
  });
  new Counter({
    name: 'framewire_frames_captured_total',
    help: 'Frames captured from the source.',
    registers,
    collect() {
      this.reset();
      this.inc(hub.captured);
    },
  });
  const encoded = new Counter({
    name: 'framewire_frames_encoded_total',
    help: 'Frames encoded (or passed through), by output profile.',
    labelNames: ['profile'],
    registers,
  });
  for (const [name, help, key] of [
    ['framewire_frames_sent_total', 'Frames handed to clients since start, every client (including those that have left).', 'sent'],
    ['framewire_frames_dropped_total', 'Frames dropped for slow clients (newest frame wins) since start, every client.', 'dropped'],
    ['framewire_frames_skipped_total', 'Of the frames dropped: H.264 frames skipped to the next keyframe so a slow client never gets a broken reference chain.', 'skipped'],
    ['framewire_bytes_sent_total', 'Frame payload bytes (JPEG or H.264) handed to clients since start, every client.', 'bytes'],
  ] as const) {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(snapshot[key]);
      },
    });
  }
  const encodeSeconds = new Histogram({
    name: 'framewire_encode_seconds',
    help: 'Time to encode one frame for one profile, by codec (H.264: from capture to its access unit out of the encoder).',
    labelNames: ['codec'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32],
    registers,
  });
  // The H.264 encoders' own counters, read from the hub at each scrape (one reading shared by the series below).
  let h264: H264Counters[] = [];
  new Gauge({
    name: 'framewire_h264_encoder_info',
    help: 'One series per H.264 profile being encoded now, labelled with the encoder in use; value 1.',
    labelNames: ['profile', 'encoder'],
    registers,
    collect() {
      h264 = hub.h264Counters();
      this.reset();
      for (const c of h264) if (c.encoder !== null) this.set({ profile: c.key, encoder: c.encoder }, 1);
    },
  });
  new Gauge({
    name: 'framewire_h264_frames_in_flight',
    help: 'Frames given to an H.264 encoder whose access unit has not come out yet, by profile.',
    labelNames: ['profile'],
    registers,
    collect() {
      this.reset();
      for (const c of h264) if (c.encoder !== null) this.set({ profile: c.key }, c.inFlight);
    },
  });
  const h264Counter = (name: string, help: string, key: keyof H264EncoderStats): void => {
    new Counter({
      name,
      help,
      labelNames: ['profile'],
      registers,
      collect() {
        this.reset();
        for (const c of h264) this.inc({ profile: c.key }, c.stats[key]);
      },
    });
  };
  h264Counter('framewire_h264_frames_in_total', 'Frames offered to an H.264 encoder, by profile (every captured frame while it has viewers).', 'framesIn');
  h264Counter('framewire_h264_frames_written_total', 'Frames written to an H.264 encoder, by profile.', 'framesWritten');
  h264Counter('framewire_h264_access_units_total', 'Access units (pictures) out of an H.264 encoder, by profile.', 'accessUnits');
  h264Counter('framewire_h264_keyframes_total', 'Of the access units: keyframes, by profile.', 'keyframes');
  h264Counter('framewire_h264_encoder_restarts_total', 'Times an H.264 encoder failed and was restarted, by profile.', 'restarts');
  const dropReasons: readonly (readonly [string, keyof H264EncoderStats])[] = [
    ['busy', 'droppedBusy'],
    ['down', 'droppedDown'],
    ['in_encoder', 'droppedInEncoder'],
    ['at_restart', 'droppedAtRestart'],
    ['before_keyframe', 'droppedBeforeKeyframe'],
    ['bad', 'badFrames'],
  ];
  new Counter({
    name: 'framewire_h264_frames_dropped_total',
    help: 'Frames an H.264 encoder did not turn into an access unit, by profile and reason (busy: the encoder was behind; down: it was restarting; in_encoder: it passed over them; at_restart: in flight when it failed; before_keyframe: after a restart, before its first keyframe; bad: unusable input or output).',
    labelNames: ['profile', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const c of h264) for (const [reason, key] of dropReasons) this.inc({ profile: c.key, reason }, c.stats[key]);
    },
  });
  // A passed-through source's own H.264 (docs/h264.md, Passthrough): no series when there is none.
  const passthroughCounter = (name: string, help: string, label: string, series: readonly (readonly [string, keyof ChainStats])[]): void => {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        const s = hub.source.passthroughStats;
        if (s) for (const [value, key] of series) this.inc({ [label]: value }, s[key]);
      },
    });
  };
  passthroughCounter(
    'framewire_h264_passthrough_units_total',
    "Access units of the source's own H.264, by outcome (passed: to H.264 viewers; dropped: damaged, incomplete or over a bound; skipped: waiting for a keyframe after a drop, a gap or a restart).",
    'outcome',
    [['passed', 'units'], ['dropped', 'dropped'], ['skipped', 'skipped']],
  );
  passthroughCounter(
    'framewire_h264_passthrough_events_total',
    "Events in the source's own H.264, by kind (gap: a reference picture lost before it reached framewire; parameter_sets_added: keyframes sent on with SPS/PPS the source left out).",
    'kind',
    [['gap', 'gaps'], ['parameter_sets_added', 'completed']],
  );
  const restarts = new Counter({ name: 'framewire_source_restarts_total', help: 'Times the source came back after being lost.', registers });
  const lost = new Counter({ name: 'framewire_source_lost_total', help: 'Times the source was lost.', registers });
  new Gauge({
    name: 'framewire_source_up',
    help: '1 while the source delivers frames, 0 while it is lost.',
    registers,
    collect() {
      this.set(sourceUp);
    },
  });
  const started = Date.now();
  new Gauge({
    name: 'framewire_uptime_seconds',
    help: 'Seconds since the HTTP transport started.',
    registers,
    collect() {
      this.set((Date.now() - started) / 1000);
    },
  });
  // Series exist from the start (at 0), so rate() and alerts work before the first event.
  restarts.inc(0);
  lost.inc(0);

  hub.observe({
    encoded: (profile, ms, _bytes, passthrough) => {
      let key = profileKey(profile);
      if (!profileLabels.has(key)) {
        if (profileLabels.size >= MAX_PROFILE_LABELS) key = 'other';
        else profileLabels.add(key);
      }
      encoded.inc({ profile: key });
      if (!passthrough) encodeSeconds.observe({ codec: codecOf(profile) }, ms / 1000);
    },
    sourceEvent: (e) => {
      if (e.kind === 'lost') {
        lost.inc();
        sourceUp = 0;
      } else if (e.kind === 'resumed') {
        restarts.inc();
        sourceUp = 1;
      }
    },
  });

  return { registry, render: () => registry.metrics() };
}
