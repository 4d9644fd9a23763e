/**
 * Server-side recording (`serve --record DIR`): the server's own viewer (server/viewer.ts) at the default
 * profile, whose wire is a file. While the source is lost it records the no-signal picture once a second,
 * so a gap in the recording shows as one.
 */
import type { Logger } from '../log.js';
import type { FrameHub } from '../pipeline/frame-hub.js';
import type { Profile } from '../pipeline/profile.js';
import { Viewer, type ViewerCoding } from '../server/viewer.js';
import { MjpegRecorder } from './mjpeg-recorder.js';

export interface ServerRecording {
  readonly recorder: MjpegRecorder;
  /** False once recording failed (or stopped): the hub no longer encodes for it. */
  readonly subscribed: boolean;
  stop(): Promise<void>;
}

/** `coding` H.264: segmented MPEG-TS (.ts) of the H.264 profile at that bitrate; JPEG (default): .mjpeg. */
export function recordHub(hub: FrameHub, profile: Profile, fps: number, dir: string, segmentSeconds: number, log: Logger, coding: ViewerCoding = { codec: 'jpeg' }): ServerRecording {
  let viewer: Viewer | null = null;
  let failed = false;
  const recorder = new MjpegRecorder({
    path: dir,
    segmentSeconds,
    format: coding.codec === 'h264' ? 'h264-ts' : 'mjpeg',
    onError: (e) => {
      log.error(`${e.code}: ${e.message}; recording stopped, streaming to viewers goes on`);
      // Nobody else may want this profile: stop encoding it for a recorder that writes nothing.
      failed = true;
      viewer?.close();
    },
  });
  // The recorder can fail in its constructor (an unwritable directory): then never subscribe.
  if (!failed) {
    viewer = Viewer.own(hub, log, 'recording', { ...profile, fps }, {
      // The recorder skips frames itself (counted) while the disk is behind: it never holds a write.
      ready: () => true,
      write: (f, done) => {
        // The no-signal stand-in is a JPEG: it has no place in an H.264 recording, which shows the gap instead.
        if (coding.codec === f.codec) recorder.write(f.payload, f);
        done();
      },
      end: () => {},
    }, coding);
    log.info(`recording ${profile.width}x${profile.height}@${fps}${coding.codec === 'h264' ? ' H.264 (MPEG-TS)' : ''} to ${dir} in ${segmentSeconds} s segments`);
  }
  return {
    recorder,
    get subscribed() {
      return viewer !== null && !viewer.isClosed;
    },
    stop: async () => {
      viewer?.close();
      await recorder.close();
    },
  };
}
