/** Server-side recording (`serve --record DIR`): one more subscriber of the hub, at the default profile. */
import type { Logger } from '../log.js';
import type { FrameHub, Subscription } from '../pipeline/frame-hub.js';
import type { Profile } from '../pipeline/profile.js';
import { MjpegRecorder } from './mjpeg-recorder.js';

export interface ServerRecording {
  readonly recorder: MjpegRecorder;
  /** False once recording failed (or stopped): the hub no longer encodes for it. */
  readonly subscribed: boolean;
  stop(): Promise<void>;
}

export function recordHub(hub: FrameHub, profile: Profile, fps: number, dir: string, segmentSeconds: number, log: Logger): ServerRecording {
  let sub: Subscription | null = null;
  let failed = false;
  const recorder = new MjpegRecorder({
    path: dir,
    segmentSeconds,
    onError: (e) => {
      log.error(`${e.code}: ${e.message}; recording stopped, streaming to viewers goes on`);
      // Nobody else may want this profile: stop encoding it for a recorder that writes nothing.
      failed = true;
      sub?.cancel();
      sub = null;
    },
  });
  // The recorder can fail in its constructor (an unwritable directory): then never subscribe.
  if (!failed) {
    sub = hub.subscribe(profile, fps, {
      deliver: (f) => recorder.write(f.payload),
      sourceEvent: () => {},
    });
    log.info(`recording ${profile.width}x${profile.height}@${fps} to ${dir} in ${segmentSeconds} s segments`);
  }
  return {
    recorder,
    get subscribed() {
      return sub !== null;
    },
    stop: async () => {
      sub?.cancel();
      sub = null;
      await recorder.close();
    },
  };
}
