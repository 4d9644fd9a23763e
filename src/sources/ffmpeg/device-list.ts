/** Listing the capture devices of this machine by running ffmpeg (and v4l2-ctl on Linux). */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type { DeviceInfo } from './device-info.js';
import {
  parseAvfoundationDevices,
  parseAvfoundationModes,
  parseDshowDevices,
  parseDshowOptions,
  parseV4l2CtlFormats,
  parseV4l2FfmpegFormats,
} from './device-parse.js';
import { asPlatform, type Platform } from './input-args.js';
import { findFfmpeg } from './locate.js';

/** Run a command and return its stdout and stderr whatever the exit code (listing commands "fail"). */
function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; stderr: string; ok: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const spawnFailed = err !== null && typeof (err as NodeJS.ErrnoException).code === 'string';
      resolve({ stdout: String(stdout), stderr: String(stderr), ok: !spawnFailed });
    });
  });
}

export interface ListDevicesOptions {
  ffmpegPath?: string;
  platform?: Platform;
}

export async function listDevices(options: ListDevicesOptions = {}): Promise<DeviceInfo[]> {
  const ffmpeg = options.ffmpegPath ?? (await findFfmpeg()).path;
  const platform = options.platform ?? asPlatform(process.platform);
  switch (platform) {
    case 'linux':
      return listLinux(ffmpeg);
    case 'darwin':
      return listMac(ffmpeg);
    case 'win32':
      return listWindows(ffmpeg);
  }
}

/** /dev/video* sorted by number. */
async function videoNodes(): Promise<string[]> {
  const names = await readdir('/dev').catch(() => [] as string[]);
  return names
    .filter((n) => /^video\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((n) => `/dev/${n}`);
}

async function listLinux(ffmpeg: string): Promise<DeviceInfo[]> {
  const out: DeviceInfo[] = [];
  for (const dev of await videoNodes()) {
    const node = dev.slice(5);
    const name = (await readFile(`/sys/class/video4linux/${node}/name`, 'utf8').catch(() => dev)).trim();
    // v4l2-ctl also lists frame rates; ffmpeg's list has sizes only.
    const ctl = await run('v4l2-ctl', ['-d', dev, '--list-formats-ext']);
    let formats = ctl.ok ? parseV4l2CtlFormats(ctl.stdout) : [];
    if (formats.length === 0) {
      const ff = await run(ffmpeg, ['-hide_banner', '-f', 'v4l2', '-list_formats', 'all', '-i', dev]);
      formats = parseV4l2FfmpegFormats(ff.stderr);
    }
    // Nodes without capture formats are metadata nodes of the same camera.
    if (formats.length > 0) out.push({ id: dev, name, formats });
  }
  return out;
}

async function listMac(ffmpeg: string): Promise<DeviceInfo[]> {
  const list = await run(ffmpeg, ['-hide_banner', '-f', 'avfoundation', '-list_devices', 'true', '-i', '']);
  const out: DeviceInfo[] = [];
  for (const d of parseAvfoundationDevices(list.stderr)) {
    // Asking for an impossible mode makes avfoundation print the supported ones.
    const modes = await run(ffmpeg, ['-hide_banner', '-f', 'avfoundation', '-video_size', '1x1', '-framerate', '1', '-i', String(d.index)]);
    out.push({ id: String(d.index), name: d.name, formats: parseAvfoundationModes(modes.stderr) });
  }
  return out;
}

async function listWindows(ffmpeg: string): Promise<DeviceInfo[]> {
  const list = await run(ffmpeg, ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy']);
  const out: DeviceInfo[] = [];
  for (const d of parseDshowDevices(list.stderr)) {
    const opts = await run(ffmpeg, ['-hide_banner', '-list_options', 'true', '-f', 'dshow', '-i', `video=${d.name}`]);
    out.push({ id: d.name, name: d.name, formats: parseDshowOptions(opts.stderr) });
  }
  return out;
}
