/** Reference tools: checked at start, never installed; a missing one turns its rows into "missing". */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { CHROMIUM } from '../../test/helpers/browser.js';
import { nativeReaderStatus } from './native-reader.js';
import { TUTORIAL_HARNESS } from './servers.js';

export interface Tool {
  name: string;
  ok: boolean;
  detail: string;
  install: string;
}

function runs(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 }).trim();
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    const out = `${x.stdout ?? ''}${x.stderr ?? ''}`;
    return out.length > 0 ? out.trim() : null;
  }
}

export type ToolName = 'reader' | 'tjbench' | 'ffmpeg' | 'gstreamer' | 'cv2' | 'tutorial' | 'chromium';

export function checkTools(): Record<ToolName, Tool> {
  const tj = runs('tjbench', []);
  const ff = runs('ffmpeg', ['-hide_banner', '-version']);
  const gst = runs('gst-inspect-1.0', ['--version']);
  const gstPlugins = gst !== null && ['jpegparse', 'multipartmux', 'tcpserversink', 'fdsrc'].every((p) => runs('gst-inspect-1.0', ['--exists', p]) !== null);
  const cv2 = runs('/usr/bin/python3', ['-c', 'import cv2; print(cv2.__version__)']);
  const harness = fs.existsSync(TUTORIAL_HARNESS);
  const reader = nativeReaderStatus();
  const chromium = runs(CHROMIUM, ['--version']);
  return {
    reader: { name: 'native reader (bench/native-reader/reader.c, the default client load)', ok: reader.ok, detail: reader.detail, install: 'apt-get install gcc (or set CC)' },
    tjbench: { name: 'tjbench', ok: tj !== null && /USAGE/i.test(tj), detail: '/usr/bin/tjbench', install: 'apt-get install libjpeg-turbo-progs' },
    ffmpeg: { name: 'ffmpeg', ok: ff !== null, detail: ff?.split('\n')[0] ?? '', install: 'apt-get install ffmpeg' },
    gstreamer: {
      name: 'gst-launch-1.0 (jpegparse, multipartmux, tcpserversink)',
      ok: gstPlugins,
      detail: gst?.split('\n')[1] ?? gst?.split('\n')[0] ?? '',
      install: 'apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad',
    },
    cv2: { name: '/usr/bin/python3 with cv2', ok: cv2 !== null && /^\d/.test(cv2), detail: cv2 ? `OpenCV ${cv2}` : '', install: 'apt-get install python3-opencv' },
    chromium: { name: `${CHROMIUM} (the H.264 viewer page, through playwright-core)`, ok: chromium !== null && /Chromium/i.test(chromium), detail: chromium ?? '', install: 'apt-get install chromium' },
    tutorial: { name: 'test/tutorial/run_tutorial.py', ok: harness, detail: harness ? 'present' : 'not written yet', install: '(written by another engineer)' },
  };
}
