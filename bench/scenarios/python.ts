/**
 * 6b. The Python package against cv2.VideoCapture on /stream.mjpg, 1280×720@30, same server, same run:
 * a free-running loop (fps, frame age, latency, CPU per frame) and a loop that takes 100 ms per frame
 * (how old is the picture it works on, and does that grow?). bench/python/vision_loop.py does the measuring.
 */
import path from 'node:path';
import { errorText, f1, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { spawnTracked, stopProcess } from '../lib/procs.js';
import { ROOT, startFramewire } from '../lib/servers.js';
import { HD } from './common.js';

const SCRIPT = path.join(ROOT, 'bench', 'python', 'vision_loop.py');
const WORK_MS = 100;

interface LoopResult {
  client: string;
  frames: number;
  seconds: number;
  fps: number;
  latency_ms?: { p50: number; p99: number } | null;
  dropped?: number;
  received?: number;
  unreadable: number;
  age_p50_ms: number | null;
  age_p99_ms: number | null;
  age_max_ms: number | null;
  age_first_ms: number | null;
  age_last_ms: number | null;
  cpu_ms_per_frame: number | null;
  cpu_pct: number | null;
  error?: string;
}

/** One vision_loop.py run; the package is imported from python/ in this checkout. */
async function loop(args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Promise<LoopResult> {
  const c = spawnTracked('/usr/bin/python3', [SCRIPT, ...args], { cwd: ROOT, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python'), ...env } });
  let out = '';
  let err = '';
  c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const timer = setTimeout(() => void stopProcess(c, 1000, 'SIGKILL'), timeoutS * 1000);
  const code = await new Promise<number | null>((resolve) => c.once('exit', (x) => resolve(x)));
  clearTimeout(timer);
  const line = out.trim().split('\n').at(-1) ?? '';
  try {
    const r = JSON.parse(line) as LoopResult;
    if (r.error) throw new Error(r.error);
    return r;
  } catch (e) {
    throw new Error(`vision_loop.py ${args.join(' ')} (exit ${code}): ${e instanceof Error ? e.message : String(e)} ${err.trim()}`);
  }
}

export const python: Scenario = {
  name: 'python',
  async run(ctx: BenchContext): Promise<Section> {
    const free: string[][] = [];
    const slow: string[][] = [];
    const notes: string[] = [];
    const interval = 1000 / HD.fps;
    if (!ctx.tools.cv2.ok) {
      return { title: '6b. Python: framewire vs cv2.VideoCapture, 1280×720@30', tables: [], notes: ['not run: /usr/bin/python3 with cv2 is missing (apt-get install python3-opencv python3-numpy)'] };
    }
    const freeS = ctx.durationS;
    const slowS = Math.max(ctx.durationS, ctx.smoke ? 4 : 15);
    const srv = await startFramewire({ ...HD, http: true });
    try {
      const fwUrl = `tcp://127.0.0.1:${srv.port}`;
      const mjpegUrl = `http://127.0.0.1:${srv.httpPort}/stream.mjpg?width=${HD.width}&height=${HD.height}&fps=${HD.fps}`;
      const clients: { label: string; args: string[]; env: NodeJS.ProcessEnv }[] = [
        { label: 'framewire (Python package, TurboJPEG decode)', args: ['--client', 'framewire', '--url', fwUrl], env: {} },
        { label: 'framewire (Python package, OpenCV decode)', args: ['--client', 'framewire', '--url', fwUrl], env: { FRAMEWIRE_JPEG_DECODER: 'opencv' } },
        { label: 'cv2.VideoCapture on /stream.mjpg', args: ['--client', 'videocapture', '--url', mjpegUrl], env: {} },
      ];
      const slowBy = new Map<string, LoopResult>();
      for (const c of clients) {
        try {
          ctx.log(`python: ${c.label}, free-running loop, ${freeS} s`);
          const r = await loop([...c.args, '--seconds', String(freeS)], c.env, freeS + 60);
          free.push([c.label, f1(r.fps), f1(r.age_p50_ms), f1(r.age_p99_ms), f1(r.latency_ms?.p50, 2), f1(r.latency_ms?.p99, 2), f1(r.cpu_ms_per_frame, 2), f1(r.cpu_pct, 0)]);
        } catch (e) {
          free.push([c.label, `failed: ${errorText(e)}`, '', '', '', '', '', '']);
        }
        if (c.env.FRAMEWIRE_JPEG_DECODER) continue; // the decoder does not change what a slow loop sees
        try {
          ctx.log(`python: ${c.label}, ${WORK_MS} ms per frame, ${slowS} s`);
          const r = await loop([...c.args, '--seconds', String(slowS), '--work-ms', String(WORK_MS)], c.env, slowS + 60);
          slowBy.set(c.args[1]!, r);
          slow.push([c.label, f1(r.fps), f1(r.age_p50_ms), f1(r.age_p99_ms), f1(r.age_max_ms), f1(r.age_first_ms), f1(r.age_last_ms), r.dropped === undefined ? '–' : `${r.dropped} of ${r.received}`]);
        } catch (e) {
          slow.push([c.label, `failed: ${errorText(e)}`, '', '', '', '', '', '']);
        }
      }
      const fw = slowBy.get('framewire');
      const vc = slowBy.get('videocapture');
      ctx.targets.push({
        target: `Python client, a loop taking ${WORK_MS} ms per frame: frame age p99 under 2 frame intervals (${f1(2 * interval)} ms) while cv2.VideoCapture's grows`,
        value: `framewire p99 ${f1(fw?.age_p99_ms)} ms; VideoCapture ${f1(vc?.age_first_ms, 0)} ms (first 2 s) → ${f1(vc?.age_last_ms, 0)} ms (last 2 s)`,
        met:
          fw?.age_p99_ms == null || vc?.age_first_ms == null || vc.age_last_ms == null
            ? null
            : fw.age_p99_ms < 2 * interval && vc.age_last_ms > vc.age_first_ms + 2 * interval,
      });
    } finally {
      await srv.stop();
    }
    notes.push(
      'One framewire server (test pattern, 1280×720@30, q80) serves both: framewire/1 on its TCP port to `framewire.connect()`, MJPEG over HTTP (`/stream.mjpg`) to `cv2.VideoCapture` (FFmpeg backend). The clients run one after the other, each in its own /usr/bin/python3 process (Debian\'s OpenCV and numpy).',
      "Frame age is read off the picture for every client alike: the test pattern burns the UTC time it started drawing each frame into its corner; bench/python/vision_loop.py reads that clock back from the decoded pixels when the image is in the loop's hands and subtracts it from the machine's clock (server and client share it). It includes encode, transfer, any queueing and the decode. Latency is framewire's own capture-to-receive figure (`cam.stats`), which VideoCapture cannot give.",
      'CPU per frame is the client process\'s user + system time (every thread: reader, decoder) over the frames the loop took, including reading the burned-in clock (≈ 1 ms, the same for every row). framewire decodes with the system libjpeg-turbo through TurboJPEG when libturbojpeg0 is installed, else with OpenCV; Debian\'s `cv2.imdecode` spends most of its time in a per-pixel colour conversion.',
      `Slow loop: the loop sleeps ${WORK_MS} ms per frame (standing for a detector). framewire keeps acknowledging and replacing frames in its background reader, so the loop always gets the newest; VideoCapture has no flow control, so frames wait in socket buffers and FFmpeg's, and the delay grows until the buffers are full.`,
    );
    return {
      title: '6b. Python: framewire vs cv2.VideoCapture, 1280×720@30',
      tables: [
        { caption: 'free-running loop', headers: ['client', 'fps', 'age p50 ms', 'age p99 ms', 'latency p50 ms', 'latency p99 ms', 'CPU ms / frame', 'client CPU %'], rows: free },
        { caption: `a loop that takes ${WORK_MS} ms per frame`, headers: ['client', 'fps', 'age p50 ms', 'age p99 ms', 'age max ms', 'age, first 2 s', 'age, last 2 s', 'frames dropped'], rows: slow },
      ],
      notes,
    };
  },
};
