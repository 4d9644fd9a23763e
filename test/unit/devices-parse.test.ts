import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  chooseCameraMode,
  formatDeviceTable,
  parseAvfoundationDevices,
  parseAvfoundationModes,
  parseDshowDevices,
  parseDshowOptions,
  parseV4l2CtlFormats,
  parseV4l2FfmpegFormats,
  type DeviceInfo,
} from '../../src/cli/devices.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/devices/${name}`, import.meta.url), 'utf8');
const sizes = (f: { sizes: { width: number; height: number }[] } | undefined): string[] => (f?.sizes ?? []).map((s) => `${s.width}x${s.height}`);

test('linux: ffmpeg -list_formats all (discrete sizes)', () => {
  const formats = parseV4l2FfmpegFormats(fixture('linux-ffmpeg-5.1-v4l2-list-formats.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['mjpeg', 'yuyv422']);
  assert.equal(formats[0]!.sizes.length, 11);
  assert.deepEqual(sizes(formats[0]).slice(0, 3), ['1920x1080', '1280x720', '1024x576']);
  assert.deepEqual(sizes(formats[1]).at(0), '640x480');
  assert.ok(formats.every((f) => f.sizes.every((s) => s.fps.length === 0)), 'ffmpeg lists no rates');
});

test('linux: ffmpeg -list_formats all (stepwise sizes, unsupported formats skipped)', () => {
  const formats = parseV4l2FfmpegFormats(fixture('linux-ffmpeg-5.1-v4l2-list-formats-stepwise.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['yuv420p', 'yuyv422', 'rgb24', 'mjpeg']);
  const mj = sizes(formats[3]);
  assert.ok(mj.includes('1280x720') && mj.includes('640x480') && mj.includes('1920x1080'), mj.join(' '));
  assert.ok(!mj.includes('2560x1440'));
});

test('linux: ffmpeg -list_formats all, a camera with H.264 beside MJPEG and YUYV', () => {
  const formats = parseV4l2FfmpegFormats(fixture('linux-ffmpeg-5.1-v4l2-list-formats-h264.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['yuyv422', 'h264', 'mjpeg']);
  assert.deepEqual(sizes(formats[1]), ['640x480', '800x448', '1280x720', '1600x896', '1920x1080']);
  assert.deepEqual(sizes(formats[2]), ['640x480', '1280x720', '1920x1080']);
});

test('linux: v4l2-ctl --list-formats-ext, H264 fourcc is h264 with its rates', () => {
  const formats = parseV4l2CtlFormats(fixture('linux-v4l2-ctl-1.22-list-formats-ext-h264.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['yuyv422', 'h264', 'mjpeg']);
  assert.deepEqual(formats[1]!.sizes.find((s) => s.width === 1600), { width: 1600, height: 896, fps: [30] });
  assert.deepEqual(formats[0]!.sizes.find((s) => s.width === 1280), { width: 1280, height: 720, fps: [10] });
});

test('linux: v4l2-ctl --list-formats-ext, current and old layouts', () => {
  const cur = parseV4l2CtlFormats(fixture('linux-v4l2-ctl-1.22-list-formats-ext.txt'));
  assert.deepEqual(cur.map((f) => f.pixelFormat), ['mjpeg', 'yuyv422']);
  assert.deepEqual(cur[0]!.sizes.find((s) => s.width === 640), { width: 640, height: 480, fps: [15, 30] });
  assert.deepEqual(cur[1]!.sizes.find((s) => s.width === 1920), { width: 1920, height: 1080, fps: [5] });
  const old = parseV4l2CtlFormats(fixture('linux-v4l2-ctl-1.12-list-formats-ext.txt'));
  assert.deepEqual(old.map((f) => f.pixelFormat), ['yuyv422', 'mjpeg']);
  assert.deepEqual(old[1]!.sizes, [
    { width: 1280, height: 720, fps: [30] },
    { width: 640, height: 480, fps: [30] },
  ]);
});

test('macOS: avfoundation devices (screens left out) and modes', () => {
  const devices = parseAvfoundationDevices(fixture('macos-ffmpeg-6.1-avfoundation-list-devices.txt'));
  assert.deepEqual(devices, [
    { index: 0, name: 'FaceTime HD Camera' },
    { index: 1, name: 'OBS Virtual Camera' },
  ]);
  const modes = parseAvfoundationModes(fixture('macos-ffmpeg-6.1-avfoundation-modes.txt'));
  assert.equal(modes.length, 1);
  assert.deepEqual(sizes(modes[0]), ['1920x1080', '1280x720', '1080x1920', '760x1280', '640x480']);
  assert.deepEqual(modes[0]!.sizes[1]!.fps, [1, 30]);
});

test('Windows: dshow devices in the >= 4.4 and the older layout', () => {
  const modern = parseDshowDevices(fixture('windows-ffmpeg-6.1-dshow-list-devices.txt'));
  assert.deepEqual(modern.map((d) => d.name), ['Integrated Camera', 'OBS Virtual Camera']);
  assert.match(modern[0]!.alternativeName ?? '', /^@device_pnp_/);
  const legacy = parseDshowDevices(fixture('windows-ffmpeg-4.3-dshow-list-devices.txt'));
  assert.deepEqual(legacy.map((d) => d.name), ['USB2.0 HD UVC WebCam']);
});

test('Windows: dshow options, duplicates merged, fps ranges kept', () => {
  const formats = parseDshowOptions(fixture('windows-ffmpeg-6.1-dshow-list-options.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['mjpeg', 'yuyv422']);
  assert.deepEqual(sizes(formats[0]), ['1280x720', '640x480', '1920x1080']);
  assert.deepEqual(formats[0]!.sizes[0]!.fps, [30]);
  assert.deepEqual(formats[1]!.sizes.find((s) => s.width === 320)!.fps, [15, 30]);
});

test('Windows: dshow options, vcodec=h264 is h264', () => {
  const formats = parseDshowOptions(fixture('windows-ffmpeg-6.1-dshow-list-options-h264.txt'));
  assert.deepEqual(formats.map((f) => f.pixelFormat), ['yuyv422', 'h264', 'mjpeg']);
  assert.deepEqual(formats[1]!.sizes, [
    { width: 1280, height: 720, fps: [30] },
    { width: 1920, height: 1080, fps: [30] },
  ]);
});

test('parsers ignore unrelated output', () => {
  const noise = 'ffmpeg version 5.1\n[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video9: No such file or directory\n';
  assert.deepEqual(parseV4l2FfmpegFormats(noise), []);
  assert.deepEqual(parseV4l2CtlFormats(noise), []);
  assert.deepEqual(parseAvfoundationDevices(noise), []);
  assert.deepEqual(parseAvfoundationModes(noise), []);
  assert.deepEqual(parseDshowDevices(noise), []);
  assert.deepEqual(parseDshowOptions(noise), []);
});

const webcam: DeviceInfo = {
  id: '/dev/video0',
  name: 'Integrated Camera',
  formats: parseV4l2CtlFormats(fixture('linux-v4l2-ctl-1.22-list-formats-ext.txt')),
};

test('chooseCameraMode: mjpeg at the exact size wins', () => {
  const m = chooseCameraMode(webcam, { width: 1280, height: 720, fps: 30 });
  assert.deepEqual({ ...m, reason: undefined }, { pixelFormat: 'mjpeg', width: 1280, height: 720, fps: 30, reason: undefined });
  assert.match(m.reason, /passed through/);
});

test('chooseCameraMode: raw at the exact size when mjpeg lacks it; closest covering size otherwise', () => {
  const raw = chooseCameraMode({ ...webcam, formats: webcam.formats.filter((f) => f.pixelFormat !== 'mjpeg') }, { width: 640, height: 480, fps: 30 });
  assert.equal(raw.pixelFormat, 'yuyv422');
  assert.equal(raw.width, 640);
  const cover = chooseCameraMode(webcam, { width: 800, height: 600, fps: 30 });
  assert.deepEqual([cover.pixelFormat, cover.width, cover.height], ['mjpeg', 1280, 720]); // 960x540 is too short
  assert.match(cover.reason, /not offered/);
  const huge = chooseCameraMode(webcam, { width: 4000, height: 3000, fps: 30 });
  assert.deepEqual([huge.width, huge.height, huge.pixelFormat], [1920, 1080, 'mjpeg']);
  const rate = chooseCameraMode(webcam, { width: 640, height: 480, fps: 20 });
  assert.equal(rate.fps, 30);
  const none = chooseCameraMode({ id: 'x', name: 'x', formats: [] }, { width: 320, height: 240, fps: 10 });
  assert.deepEqual([none.width, none.height, none.fps], [320, 240, 10]);
});

test('formatDeviceTable lists every format with sizes and rates', () => {
  const table = formatDeviceTable([webcam]);
  assert.match(table, /^ID\s+NAME\s+FORMAT\s+SIZES/);
  assert.match(table, /\/dev\/video0\s+Integrated Camera\s+mjpeg\*\s+1920x1080 \(30\)/);
  assert.match(table, /yuyv422\s+640x480 \(15, 30\)/);
  assert.match(formatDeviceTable([]), /no cameras found/);
});
