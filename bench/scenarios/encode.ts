/** 1. encode: encodeForProfile (sequential, one at a time, as the hub does) vs tjbench on the same frame. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { encodeForProfile } from '../../src/pipeline/encoder.js';
import { errorText, f1, ratio, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import { testFrames, writePpm } from '../lib/media.js';

const SIZES: [number, number][] = [
  [640, 480],
  [1280, 720],
  [1920, 1080],
];
const QUALITY = 80;

async function framewireMs(frame: Parameters<typeof encodeForProfile>[0], seconds: number, maxIter: number): Promise<{ ms: number; n: number; bytes: number }> {
  const profile = { width: frame.width, height: frame.height, quality: QUALITY };
  let bytes = 0;
  for (let i = 0; i < 5; i++) bytes = (await encodeForProfile(frame, profile)).length;
  const t0 = performance.now();
  let n = 0;
  while (n < maxIter && (n < 10 || performance.now() - t0 < seconds * 1000)) {
    await encodeForProfile(frame, profile);
    n++;
  }
  return { ms: (performance.now() - t0) / n, n, bytes };
}

function tjbenchMs(ppm: string, benchS: number, warmS: number): number {
  const args = [ppm, String(QUALITY), '-subsamp', '420', '-rgb', '-componly', '-nowrite', '-benchtime', String(benchS), '-warmup', String(warmS)];
  const out = execFileSync('tjbench', args, { encoding: 'utf8', timeout: 120_000, cwd: path.dirname(ppm) });
  const m = /Compress\s+-->\s+Frame rate:\s+([\d.]+)\s+fps/.exec(out);
  if (!m) throw new Error(`cannot parse tjbench output: ${out.slice(0, 300)}`);
  return 1000 / Number(m[1]);
}

export const encode: Scenario = {
  name: 'encode',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    const notes: string[] = [];
    for (const [w, h] of SIZES) {
      const frame = testFrames(w, h, 1)[0]!;
      const fw = await framewireMs(frame, ctx.smoke ? 0.4 : 3, ctx.smoke ? 40 : 5000);
      ctx.encodeMs.set(`${w}x${h}`, fw.ms);
      let tj: number | null = null;
      let tjText = 'missing';
      if (ctx.tools.tjbench.ok) {
        try {
          const ppm = path.join(ctx.tmp, `frame-${w}x${h}.ppm`);
          writePpm(ppm, frame);
          tj = tjbenchMs(ppm, ctx.smoke ? 0.3 : 3, ctx.smoke ? 0.1 : 1);
          tjText = f1(tj, 3);
        } catch (e) {
          tjText = `failed: ${errorText(e)}`;
        }
      }
      ctx.log(`encode ${w}x${h}: framewire ${fw.ms.toFixed(3)} ms (${fw.n} frames), tjbench ${tjText} ms`);
      rows.push([`${w}×${h}`, f1(fw.ms, 3), tjText, ratio(fw.ms, tj), String(fw.n), `${(fw.bytes / 1024).toFixed(1)} KiB`]);
      ctx.targets.push({ target: `encode ${w}×${h} ≤ 1.5× tjbench`, value: tj ? `${fw.ms.toFixed(2)} ms vs ${tj.toFixed(2)} ms = ${(fw.ms / tj).toFixed(2)}×` : 'tjbench missing', met: tj ? fw.ms <= 1.5 * tj : null });
    }
    notes.push(
      'framewire: `encodeForProfile` from a raw RGB buffer (the native libjpeg-turbo encoder when it is built, as by default; sharp/libvips without it), quality 80, 4:2:0, Huffman optimisation off, awaited one at a time in this process, after 5 warm-up encodes.',
      'tjbench: `tjbench FRAME.ppm 80 -subsamp 420 -rgb -componly -nowrite -benchtime 3 -warmup 1` on the same test-pattern frame written as PPM; ms = 1000 / its "Compress → Frame rate".',
    );
    return {
      title: '1. Encode: ms per frame, framewire vs tjbench (libjpeg-turbo)',
      tables: [{ headers: ['size', 'framewire ms', 'tjbench ms', 'ratio fw/tj', 'frames timed', 'JPEG size'], rows }],
      notes,
    };
  },
};
