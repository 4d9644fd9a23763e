/** Probing an input with `ffmpeg [input args]` (no output): which codec, size and rate it has. */
import { execFile } from 'node:child_process';

export interface ProbeResult {
  codec: string;
  width?: number;
  height?: number;
  fps?: number;
}

/** Parse the first video stream from ffmpeg's "Input #0" dump; null when there is none. */
export function parseProbeOutput(stderr: string): ProbeResult | null {
  for (const line of stderr.split(/\r?\n/)) {
    const m = /Stream #\d+:\d+.*?: Video: ([A-Za-z0-9_]+)(.*)$/.exec(line);
    if (!m) continue;
    const result: ProbeResult = { codec: m[1]! };
    const rest = m[2]!;
    const size = /[ ,](\d{1,5})x(\d{1,5})(?:[ ,\[]|$)/.exec(rest);
    if (size) {
      result.width = Number(size[1]);
      result.height = Number(size[2]);
    }
    const fps = /([\d.]+)(k?) fps/.exec(rest) ?? /([\d.]+)(k?) tbr/.exec(rest);
    if (fps) {
      const v = Number(fps[1]) * (fps[2] ? 1000 : 1);
      if (v > 0 && v <= 1000) result.fps = v;
    }
    return result;
  }
  return null;
}

/** Run the probe; resolves null when ffmpeg could not open the input or timed out. */
export function probeInput(ffmpegPath: string, inputArgs: string[], timeoutMs = 10_000): Promise<ProbeResult | null> {
  // -re / -stream_loop only matter when reading; drop them so the probe returns immediately.
  const args: string[] = [];
  for (let i = 0; i < inputArgs.length; i++) {
    const a = inputArgs[i]!;
    if (a === '-re') continue;
    if (a === '-stream_loop') {
      i++;
      continue;
    }
    args.push(a);
  }
  return new Promise((resolve) => {
    execFile(
      ffmpegPath,
      ['-hide_banner', '-nostdin', ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 1 << 20 },
      (_err, _stdout, stderr) => resolve(parseProbeOutput(String(stderr))),
    );
  });
}
