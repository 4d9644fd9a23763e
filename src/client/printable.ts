/**
 * Text a server controls (STATUS, REJECT, ERROR, GOODBYE, the source description) made safe to print. On a
 * terminal, ESC and the other control characters are commands: a server could retitle the window, clear the
 * screen or, through OSC 52, write the clipboard. Bidirectional overrides could make the text read other than
 * it is. Each such character becomes U+FFFD, so nothing is hidden and nothing is executed.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '\uFFFD');
}
