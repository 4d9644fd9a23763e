/** Server-side recording (`serve --record DIR`): one more subscriber of the hub, at the default profile. */
import type { Logger } from '../log.js';
import type { FrameHub, Subscription } from '../pipeline/frame-hub.js';
import type { Profile } from '../pipeline/profile.js';
import { MjpegRecorder } from './mjpeg-recorder.js';

export interface ServerRecording {
  readonly recorder: MjpegRecorder;
  stop(): Promise<void>;
}

export function recordHub(hub: FrameHub, profile: Profile, fps: number, dir: string, segmentSeconds: number, log: Logger): ServerRecording {
  const recorder = new MjpegRecorder({
    path: dir,
    segmentSeconds,
    onError: (e) => log.error(`${e.code}: ${e.message}; streaming to viewers goes on`),
  });
  const sub: Subscription = hub.subscribe(profile, fps, {
    deliver: (f) => recorder.write(f.payload),
    sourceEvent: () => {},
  });
  log.info(`recording ${profile.width}x${profile.height}@${fps} to ${dir} in ${segmentSeconds} s segments`);
  return {
    recorder,
    stop: async () => {
      sub.cancel();
      await recorder.close();
    },
  };
}
