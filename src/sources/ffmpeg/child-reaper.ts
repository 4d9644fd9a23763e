/** Kills still-running ffmpeg children when the Node process exits, so none is orphaned. */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function trackChild(child: ChildProcess): void {
  if (!installed) {
    process.on('exit', killAll);
    installed = true;
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function untrackChild(child: ChildProcess): void {
  live.delete(child);
}
