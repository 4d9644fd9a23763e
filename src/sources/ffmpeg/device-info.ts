/** What a capture device offers, as listed by ffmpeg / v4l2-ctl. */
export interface DeviceSize {
  width: number;
  height: number;
  /** Frame rates offered at this size; empty when the listing does not say (ffmpeg's v4l2 list). */
  fps: number[];
}

export interface DeviceFormat {
  /** ffmpeg's name: 'mjpeg', 'yuyv422', 'nv12', 'h264', ... */
  pixelFormat: string;
  sizes: DeviceSize[];
}

export interface DeviceInfo {
  /** What to put after `camera:` ("/dev/video0", "0" on macOS, the device name on Windows). */
  id: string;
  name: string;
  formats: DeviceFormat[];
}
