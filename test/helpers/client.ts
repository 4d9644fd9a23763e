import type { FramewireClient, Frame } from '../../src/client/client.js';

/** The next n frames, leaving the client open (a `break` out of for-await would close it). */
export async function take(client: FramewireClient, n: number): Promise<Frame[]> {
  const it = client[Symbol.asyncIterator]();
  const out: Frame[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) throw new Error(`stream ended after ${out.length} frames`);
    out.push(r.value);
  }
  return out;
}
