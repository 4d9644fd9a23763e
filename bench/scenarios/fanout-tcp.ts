/** 3. fan-out over TCP (framewire/1 and the tutorial's format) vs GStreamer tcpserversink serving the same JPEGs. */
import type { BenchContext, Scenario, Section } from '../lib/context.js';
import { cpuTarget, FANOUT_HEADERS, fanoutRow, framewireRun, gstPair, HD, media720, pair, type Pair } from './common.js';

export function tcpCounts(ctx: BenchContext): number[] {
  return ctx.smoke ? [20] : [100, 300, 400, 800];
}

const missing = (why: string): Pair => ({ native: why, node: why });

export const fanoutTcp: Scenario = {
  name: 'fanout-tcp',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    const m = ctx.tools.ffmpeg.ok ? await media720(ctx) : null;
    for (const n of tcpCounts(ctx)) {
      const ref = await gstPair(ctx, n);
      const fw = await pair((reader) => framewireRun(ctx, `fw-tcp:${n}`, { ...HD }, { mode: 'fw', clients: n, reader }));
      rows.push(fanoutRow(n, 'framewire/1, test pattern (captures + encodes)', fw, ref));
      const file = m?.avi ? { ...HD, source: `file:${m.avi}` } : null;
      const pt = file ? await pair((reader) => framewireRun(ctx, `fw-tcp-file:${n}`, file, { mode: 'fw', clients: n, reader })) : missing('not available (ffmpeg missing)');
      rows.push(fanoutRow(n, 'framewire/1, file source (JPEG passthrough)', pt, ref));
      const seed = file
        ? await pair((reader) => framewireRun(ctx, `seed-tcp-file:${n}`, file, { mode: 'seed', clients: n, reader, request: { width: HD.width, height: HD.height, fps: HD.fps } }))
        : missing('not available (ffmpeg missing)');
      rows.push(fanoutRow(n, "tutorial format, file source (JPEG passthrough)", seed, ref));
      rows.push(fanoutRow(n, 'GStreamer tcpserversink (reference)', ref, ref));
      if (n === 300 || n === 400) {
        cpuTarget(ctx, 'framewire/1', n, pt, ref, 1.0);
        cpuTarget(ctx, 'tutorial format', n, seed, ref, 1.0);
      }
      const f = fw.native;
      if (typeof f !== 'string') {
        if (n >= 300) {
          ctx.targets.push({ target: `≥ 300 TCP clients at ≥ 29.5 fps (run with ${n}, native reader)`, value: `${f.atLeast} of ${n} clients ≥ 29.5 fps (median ${f.fpsMedian.toFixed(1)}, p5 ${f.fpsP5.toFixed(1)})`, met: f.atLeast >= 300 });
        }
        if (n === 300) ctx.targets.push({ target: `server RSS ≤ 120 MB at 300 clients (TCP, ${n})`, value: `${f.serverRssMb.toFixed(0)} MB`, met: f.serverRssMb <= 120 });
      }
    }
    return {
      title: '3. Fan-out over TCP (framewire/1 and the tutorial format), 1280×720@30 q80',
      tables: [{ headers: FANOUT_HEADERS, rows }],
      notes: [
        'Columns up to "ratio vs GStreamer (server + clients)" are measured with the native reader (bench/native-reader/reader.c, one epoll process reading every socket as soon as it has data); the "Node load" columns repeat the run with the Node load generator (bench/loadgen.ts), whose own reading speed shapes what the server does.',
        'All clients ask for 1280×720@30 (framewire/1: the default profile q80; tutorial format: its hello asks for that size), so there is one encode (or passthrough) per frame; framewire/1 clients acknowledge every frame and the server keeps at most 2 unacknowledged frames per client; tutorial-format clients send nothing after their hello.',
        '"test pattern" renders and encodes every frame (its CPU includes capture and JPEG encode); "file source" reads the same JPEGs the GStreamer reference serves (an ffmpeg child with -c:v copy, JPEGs passed through without re-encode). ffmpeg\'s CPU is not counted on either side: only the serving process (node, gst-launch-1.0).',
        'GStreamer: `ffmpeg -re -stream_loop -1 -i frames.avi -c:v copy -f mjpeg - | gst-launch-1.0 fdsrc fd=0 ! jpegparse ! multipartmux boundary=frame ! tcpserversink host=127.0.0.1 port=P sync=false`; clients read the raw multipart stream (no acks, no flow control). tcpserversink listens with a backlog of 5, so its clients connect 4 at a time and count as streaming from their first whole part.',
        'µs CPU / client-frame = server CPU time in the window ÷ frames delivered to all clients in the window (frames counted by parsing each format). "server + clients" adds the client processes\' CPU: on loopback the kernel runs part of the receiver\'s work in the sender\'s write() (softirq delivery, wake-up) and sends data that Nagle held back from the receiver\'s ACK, in the receiver\'s context, so only the sum cannot move between the two.',
      ],
    };
  },
};
