/**
 * The one clock of framewire's timestamps (docs/protocol.md §2.3): µs since the Unix epoch, read through
 * performance.now() so that it never steps back when the wall clock is adjusted. It runs unchanged in Node
 * and in the browser, which is why it lives apart from the capture layer.
 */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
