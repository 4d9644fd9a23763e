/**
 * Cameras for `framewire devices [--json]`: listing (via ffmpeg / v4l2-ctl), a readable table,
 * and choosing the mode closest to a request. The parsing lives in src/sources/ffmpeg/.
 */
import type { DeviceInfo } from '../sources/ffmpeg/device-info.js';

export type { DeviceFormat, DeviceInfo, DeviceSize } from '../sources/ffmpeg/device-info.js';
export { listDevices, type ListDevicesOptions } from '../sources/ffmpeg/device-list.js';
export { chooseCameraMode, type CameraModeChoice, type CameraWant } from '../sources/ffmpeg/camera-mode.js';
export {
  parseAvfoundationDevices,
  parseAvfoundationModes,
  parseDshowDevices,
  parseDshowOptions,
  parseV4l2CtlFormats,
  parseV4l2FfmpegFormats,
} from '../sources/ffmpeg/device-parse.js';

function sizeCell(s: { width: number; height: number; fps: number[] }): string {
  return s.fps.length ? `${s.width}x${s.height} (${s.fps.join(', ')})` : `${s.width}x${s.height}`;
}

/** One row per device format: ID, NAME, FORMAT, SIZES (fps); MJPEG and H.264 rows are marked passthrough. */
export function formatDeviceTable(devices: DeviceInfo[]): string {
  if (devices.length === 0) return 'no cameras found (is one connected, and may this user open it?)';
  const rows: [string, string, string, string][] = [['ID', 'NAME', 'FORMAT', 'SIZES (fps)']];
  for (const d of devices) {
    if (d.formats.length === 0) rows.push([d.id, d.name, '?', 'formats not listed']);
    d.formats.forEach((f, i) => {
      const label = f.pixelFormat === 'mjpeg' ? 'mjpeg*' : f.pixelFormat === 'h264' ? 'h264+' : f.pixelFormat;
      rows.push([i === 0 ? d.id : '', i === 0 ? d.name : '', label, f.sizes.map(sizeCell).join(', ')]);
    });
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  const lines = rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2].padEnd(w2)}  ${r[3]}`.trimEnd());
  lines.push('', '* MJPEG: JPEGs are passed to clients untouched at that size.');
  if (devices.some((d) => d.formats.some((f) => f.pixelFormat === 'h264'))) {
    lines.push('+ H.264: forwarded untouched to H.264 viewers at that size; chosen over MJPEG with serve --codec h264.');
  }
  lines.push(`Use: framewire serve --source camera:${quoteId(devices[0]!.id)} --width W --height H --fps N`);
  return lines.join('\n');
}

function quoteId(id: string): string {
  return /^[\w/.:-]+$/.test(id) ? id : `"${id}"`;
}
