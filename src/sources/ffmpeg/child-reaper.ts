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

/**
 * SIGTERM, then SIGKILL after graceMs; resolves once the process has exited (`exited`), and forgets it.
 * ffmpeg finishes its output on SIGTERM, but a child stuck in a device or a full pipe may never exit without KILL.
 */
export async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    child.kill('SIGTERM');
    const grace = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(grace);
  }
  untrackChild(child);
}
