/**
 * Which codec the viewer page offers: H.264 only where WebCodecs can decode it (a `VideoDecoder` that
 * supports the stream's avc1 config, which browsers expose only in a secure context), JPEG otherwise, with
 * the reason shown in the overlay so a user knows why a server offering H.264 sends JPEG.
 */

/** The config probed before offering H.264: Constrained Baseline 3.0, the least any H.264 decoder takes. */
export const PROBE_CODEC = 'avc1.42E01E';

export interface CodecEnvironment {
  /** `?codec=` from the page URL: 'jpeg' forces JPEG, anything else (or none) lets the page choose. */
  forced: string | null;
  secureContext: boolean;
  hasVideoDecoder: boolean;
  /** VideoDecoder.isConfigSupported for PROBE_CODEC; null when it was not asked (no decoder). */
  configSupported: boolean | null;
}

export interface CodecChoice {
  h264: boolean;
  /** Why JPEG, or what H.264 will use; shown in the overlay. */
  reason: string;
}

export function chooseCodec(env: CodecEnvironment): CodecChoice {
  if (env.forced === 'jpeg') return { h264: false, reason: 'asked for by ?codec=jpeg' };
  // Checked first: browsers hide VideoDecoder outside a secure context, and this is the cause to name.
  if (!env.secureContext) return { h264: false, reason: 'H.264 needs a secure context (https, or http on localhost)' };
  if (!env.hasVideoDecoder) return { h264: false, reason: 'this browser has no WebCodecs VideoDecoder' };
  if (env.configSupported !== true) return { h264: false, reason: `this browser cannot decode H.264 (${PROBE_CODEC})` };
  return { h264: true, reason: 'H.264 decoded with WebCodecs' };
}

/** Probe this browser (async: isConfigSupported returns a promise). Never throws: a failed probe means JPEG. */
export async function probeCodec(search: string): Promise<CodecChoice> {
  const forced = new URLSearchParams(search).get('codec');
  const hasVideoDecoder = typeof VideoDecoder === 'function';
  let configSupported: boolean | null = null;
  if (forced !== 'jpeg' && isSecureContext && hasVideoDecoder) {
    try {
      configSupported = (await VideoDecoder.isConfigSupported({ codec: PROBE_CODEC })).supported === true;
    } catch {
      configSupported = false;
    }
  }
  return chooseCodec({ forced, secureContext: isSecureContext, hasVideoDecoder, configSupported });
}
