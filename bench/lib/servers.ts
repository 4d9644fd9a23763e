/**
 * The servers under test, each its own process so its CPU and RSS can be read from /proc:
 * framewire through its CLI, GStreamer (ffmpeg → gst-launch tcpserversink), the tutorial's Python server.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForLine, waitForPort } from './procs.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface RunningProc {
  /** The process whose CPU/RSS is measured. */
  pid: number;
  /** framewire/1 (or multipart for GStreamer, tutorial format for the tutorial) TCP port. */
  port: number;
  httpPort: number | null;
  command: string;
  stop(): Promise<void>;
}

export interface FramewireOptions {
  width: number;
  height: number;
  fps: number;
  quality: number;
  source?: string;
  http?: boolean;
  /** Extra `serve` flags, e.g. --no-passthrough. */
  serveArgs?: string[];
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

export async function startFramewire(o: FramewireOptions): Promise<RunningProc> {
  const port = await freePort();
  const httpPort = o.http ? await freePort() : 0;
  const args = [
    ...(o.nodeFlags ?? []),
    // The compiled server, as users run it (npm run bench builds first); tsx would add its own memory and CPU.
    'dist/cli/main.js',
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--http-port', String(httpPort),
    '--width', String(o.width),
    '--height', String(o.height),
    '--fps', String(o.fps),
    '--quality', String(o.quality),
    '--source', o.source ?? 'testpattern',
    '--max-clients', '2000',
    '--max-clients-per-address', '2000',
    '--quiet',
    ...(o.serveArgs ?? []),
  ];
  const c = spawnTracked(process.execPath, args, { cwd: ROOT });
  try {
    await waitForLine(c, /Press Ctrl-C/, 30_000, 'framewire server');
  } catch (e) {
    await stopProcess(c, 500, 'SIGKILL');
    throw e;
  }
  c.stdout?.resume();
  return { pid: c.pid!, port, httpPort: o.http ? httpPort : null, command: `node ${args.join(' ')}`, stop: () => stopProcess(c, 6000) };
}

/** ffmpeg -re (paced reader, not measured) | gst-launch-1.0 … multipartmux ! tcpserversink (measured). */
export async function startGstreamer(mjpegFile: string, fps: number): Promise<RunningProc> {
  const port = await freePort();
  // A raw .mjpeg has no rate of its own (the demuxer would assume 25): give it one; an .avi carries its rate.
  const rate = mjpegFile.endsWith('.mjpeg') ? ['-framerate', String(fps)] : [];
  const ffArgs = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', ...rate, '-i', mjpegFile, '-c:v', 'copy', '-f', 'mjpeg', '-'];
  const ff = spawnTracked('ffmpeg', ffArgs, { stdio: ['ignore', 'pipe', 'ignore'] });
  const gstArgs = ['-q', 'fdsrc', 'fd=0', '!', 'jpegparse', '!', 'multipartmux', 'boundary=frame', '!', 'tcpserversink', 'host=127.0.0.1', `port=${port}`, 'sync=false'];
  let gst: ChildProcess | null = null;
  try {
    gst = spawnTracked('gst-launch-1.0', gstArgs, { stdio: [ff.stdout!, 'ignore', 'pipe'] });
    await waitForPort(port, 15_000);
  } catch (e) {
    await stopProcess(gst, 500, 'SIGKILL');
    await stopProcess(ff, 500, 'SIGKILL');
    throw e;
  }
  const g = gst;
  return {
    pid: g.pid!,
    port,
    httpPort: null,
    command: `ffmpeg ${ffArgs.join(' ')} | gst-launch-1.0 ${gstArgs.join(' ')}`,
    stop: async () => {
      await stopProcess(ff, 2000, 'SIGTERM');
      await stopProcess(g, 3000, 'SIGINT');
    },
  };
}

export const TUTORIAL_HARNESS = path.join(ROOT, 'test', 'tutorial', 'run_tutorial.py');

export async function startTutorial(video: string, timeoutS: number): Promise<RunningProc> {
  const args = [TUTORIAL_HARNESS, 'server', '--host', '127.0.0.1', '--port', '0', '--video', video, '--timeout', String(Math.ceil(timeoutS))];
  const c = spawnTracked('/usr/bin/python3', args, { cwd: ROOT });
  let line: string;
  try {
    line = await waitForLine(c, /"event":\s*"listening"/, 20_000, 'tutorial server');
  } catch (e) {
    await stopProcess(c, 500, 'SIGKILL');
    throw e;
  }
  c.stdout?.resume();
  const port = Number((JSON.parse(line) as { port: number }).port);
  return { pid: c.pid!, port, httpPort: null, command: `/usr/bin/python3 ${args.join(' ')}`, stop: () => stopProcess(c, 2000, 'SIGTERM') };
}
