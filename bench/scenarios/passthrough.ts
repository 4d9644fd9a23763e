/**
 * Passthrough vs re-encode: server CPU per delivered frame for a file source of JPEG frames, one client at
 * the source's size. Passthrough forwards the file's JPEG untouched; `--no-passthrough` makes the server
 * decode and re-encode every frame. Same file, same client, same run.
 */
import { errorText, type BenchContext, type Scenario, type Section } from '../lib/context.js';
import type { RunResult } from '../lib/load.js';
import { makeMjpeg } from '../lib/media.js';
import { framewireRun } from './common.js';

const SIZES = [
  [1280, 720],
  [1920, 1080],
] as const;

export const passthrough: Scenario = {
  name: 'passthrough',
  async run(ctx: BenchContext): Promise<Section> {
    const rows: string[][] = [];
    const notes: string[] = [];
    if (!ctx.tools.ffmpeg.ok) {
      return { title: '5b. Passthrough vs re-encode (file source)', tables: [], notes: ['ffmpeg missing: apt-get install ffmpeg'] };
    }
    for (const [width, height] of ctx.smoke ? SIZES.slice(0, 1) : SIZES) {
      const m = await makeMjpeg(ctx.tmp, width, height, 30, 80, ctx.smoke ? 60 : 150);
      if (!m.avi) {
        rows.push([`${width}×${height}`, 'could not make the .avi', '', '', '']);
        continue;
      }
      const server = { width, height, fps: 30, quality: 80, source: `file:${m.avi}` };
      const load = { mode: 'fw' as const, clients: 1 };
      let pass: RunResult | null = null;
      let enc: RunResult | null = null;
      try {
        pass = await framewireRun(ctx, `pass:${width}`, server, load);
        enc = await framewireRun(ctx, `reenc:${width}`, { ...server, serveArgs: ['--no-passthrough'] }, load);
      } catch (e) {
        rows.push([`${width}×${height}`, `failed: ${errorText(e)}`, '', '', '']);
        continue;
      }
      const ratio = pass.cpuPerClientFrameUs / enc.cpuPerClientFrameUs;
      rows.push([`${width}×${height}`, `${(m.meanBytes / 1024).toFixed(0)} KB`, pass.cpuPerClientFrameUs.toFixed(0), enc.cpuPerClientFrameUs.toFixed(0), `${ratio.toFixed(2)}×`]);
      ctx.targets.push({
        target: `passthrough costs a small fraction of a re-encode (${width}×${height})`,
        value: `${pass.cpuPerClientFrameUs.toFixed(0)} vs ${enc.cpuPerClientFrameUs.toFixed(0)} µs per frame = ${ratio.toFixed(2)}×`,
        met: ratio < 0.5,
      });
    }
    notes.push('Server CPU (main thread and thread pool) per delivered frame, from /proc over the measurement window; ffmpeg reads the file with -c:v copy in both runs and is a separate process, not counted.');
    return {
      title: '5b. Passthrough vs re-encode (file source, one client at the source size)',
      tables: [{ headers: ['size', 'mean JPEG', 'passthrough µs / frame', 're-encode µs / frame', 'passthrough / re-encode'], rows }],
      notes,
    };
  },
};
