/**
 * The per-client frame write of the fan-out, without Node's stream machinery when nothing is queued.
 *
 * A frame goes to hundreds of sockets 30 times a second. Most of each write's cost is the kernel's (copy,
 * TCP, and on loopback the receiver's delivery too: docs/fanout-cpu.md), but `socket.write()` adds its own
 * user-space work per call (Writable state, a write request object, a completion callback scheduled for
 * later). When the socket has nothing buffered, the frame is handed to the kernel here with one write(2) on
 * the socket's descriptor (fs.writeSync: a non-blocking socket answers EAGAIN rather than block), and
 * whatever the kernel did not take is passed to `stream.write()`, which queues it behind, in order, as
 * before. Anything unusual — TLS, a socket still connecting or already closing, bytes already queued, a
 * platform without descriptors, any error — takes the ordinary path, where Node reports errors and closes as
 * it always does.
 */
import fs from 'node:fs';
import type { Socket } from 'node:net';

/** What a frame is finally written to: the socket itself, or an HTTP response on it. */
export interface FrameStream {
  write(chunk: Uint8Array, cb: (err?: Error | null) => void): boolean;
  readonly writableLength: number;
}

/** Off with FRAMEWIRE_DIRECT_WRITE=0 (to compare, or should a platform misbehave). */
const enabled = process.env.FRAMEWIRE_DIRECT_WRITE !== '0';

interface HandleWithFd {
  fd?: number;
}

/** Descriptors by socket: reading it from the handle is a native call, and it never changes while open. */
const fds = new WeakMap<Socket, number>();

function descriptor(socket: Socket): number {
  let fd = fds.get(socket);
  if (fd === undefined) {
    // The libuv handle's descriptor (Unix; -1 on Windows). Not a public property, hence the checks.
    const raw = (socket as unknown as { _handle?: HandleWithFd | null })._handle?.fd;
    fd = typeof raw === 'number' && raw >= 0 ? raw : -1;
    fds.set(socket, fd);
  }
  return fd;
}

/** Counts, for tests and the bench: frames written directly in full, in part, and through the stream. */
export const directWriteStats = { direct: 0, partial: 0, stream: 0 };

/**
 * Write `bytes` to `socket`, through `stream` (default: the socket) when the direct path does not apply;
 * `done` runs once the bytes are all handed to the OS — at once when write(2) took them all.
 * `clear()` is for HTTP responses: true once their header has gone to the socket, so body bytes written
 * straight to the socket cannot overtake it.
 */
export function writeFrame(socket: Socket | null | undefined, bytes: Uint8Array, done: () => void, stream: FrameStream | null = null, clear: () => boolean = () => true): void {
  const out: FrameStream = stream ?? (socket as FrameStream);
  if (!enabled || !socket || socket.destroyed || socket.connecting || !socket.writable || socket.writableLength !== 0 || out.writableLength !== 0 || 'encrypted' in socket || !clear()) {
    directWriteStats.stream++;
    out.write(bytes, () => done());
    return;
  }
  const fd = descriptor(socket);
  let n = 0;
  if (fd >= 0) {
    try {
      n = fs.writeSync(fd, bytes);
    } catch {
      // EAGAIN (send buffer full) wrote nothing: the stream queues it all. Any other error is left to the
      // stream, which meets it again on its own write and reports it as it always has.
      n = 0;
    }
  }
  if (n === bytes.length) {
    directWriteStats.direct++;
    done();
    return;
  }
  if (n > 0) directWriteStats.partial++;
  else directWriteStats.stream++;
  out.write(n > 0 ? bytes.subarray(n) : bytes, () => done());
}
