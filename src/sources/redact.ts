/**
 * Keeping a source URL's secrets away from viewers, logs and metrics. An upstream camera URL often carries
 * credentials (rtsp://user:password@cam/…) or a token in its query string (…/video.mjpg?token=…), and ffmpeg
 * repeats the URL in its error lines. Everything a source says passes through here before anyone sees it.
 */

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
/** Secrets shorter than this are not scrubbed from free text: "ab" would mangle every other word. */
const MIN_SECRET_LENGTH = 4;

/** Credentials and query string hidden: rtsp://user:pw@cam/s?token=x → rtsp://***@cam/s?*** */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '?***');
}

/** The parts of a URL that are secret (user, password, query values), as written and percent-decoded. */
export function urlSecrets(url: string): string[] {
  const out = new Set<string>();
  const add = (s: string): void => {
    for (const v of [s, safeDecode(s)]) if (v.length >= MIN_SECRET_LENGTH) out.add(v);
  };
  const auth = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url);
  if (auth) {
    const colon = auth[1]!.indexOf(':');
    if (colon < 0) add(auth[1]!);
    else {
      add(auth[1]!.slice(0, colon));
      add(auth[1]!.slice(colon + 1));
    }
  }
  const q = /\?([^#]*)/.exec(url);
  if (q) {
    for (const pair of q[1]!.split('&')) {
      const eq = pair.indexOf('=');
      add(eq < 0 ? pair : pair.slice(eq + 1));
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Every secret of every URL in a list of arguments (an `ffmpeg:` source's own arguments). */
export function argSecrets(args: readonly string[]): string[] {
  return [...new Set(args.flatMap((a) => [...a.matchAll(URL_IN_TEXT)].flatMap((m) => urlSecrets(m[0]))))];
}

/** Redact every URL in free text, then every known secret wherever it still appears. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_IN_TEXT, (m) => {
    // Trailing punctuation belongs to the sentence, not the URL ("…/cam.mjpg?x=1: Connection refused").
    const tail = /[.,;:)\]]+$/.exec(m)?.[0] ?? '';
    return redactUrl(m.slice(0, m.length - tail.length)) + tail;
  });
  for (const s of secrets) if (s.length >= MIN_SECRET_LENGTH) out = out.split(s).join('***');
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
