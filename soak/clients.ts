/**
 * Soak load: `steady` library clients that read everything, plus `churn` slots that connect, read, stall
 * (stop reading without closing) and leave at random, forever until the deadline. Prints one JSON line of
 * totals every `report` seconds.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { connect, type FramewireClient } from '../src/client/client.js';
import { encodeMessage } from '../src/protocol/encode.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, steady: { type: 'string', default: '90' }, churn: { type: 'string', default: '10' }, seconds: { type: 'string', default: '600' }, report: { type: 'string', default: '10' } } });
const port = Number(values.port);
const deadline = Date.now() + Number(values.seconds) * 1000;
const totals = { frames: 0, bytes: 0, dropped: 0, connects: 0, stalls: 0, errors: 0 };
const steady: FramewireClient[] = [];

async function drain(c: FramewireClient): Promise<void> {
  try {
    for await (const f of c) {
      totals.frames++;
      totals.bytes += f.jpeg.length;
    }
  } catch {
    totals.errors++;
  }
}

const rand = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function churnSlot(): Promise<void> {
  while (Date.now() < deadline) {
    totals.connects++;
    if (Math.random() < 0.5) {
      // A well-behaved client that leaves after a while.
      try {
        const c = await connect(`tcp://127.0.0.1:${port}`, { width: 1280, height: 720, fps: 30 });
        const reading = drain(c);
        await wait(rand(1000, 8000));
        await c.close();
        await reading;
      } catch {
        totals.errors++;
      }
    } else {
      // A client that stalls: hello, then stops reading and acking, then vanishes without a goodbye.
      totals.stalls++;
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.write(encodeMessage({ type: 'hello', version: 1, width: 1280, height: 720, fps: 30, quality: 0, token: '' }));
      s.pause();
      await wait(rand(1000, 6000));
      s.destroy();
    }
    await wait(rand(100, 1000));
  }
}

for (let i = 0; i < Number(values.steady); i++) {
  const c = await connect(`tcp://127.0.0.1:${port}`, { width: 1280, height: 720, fps: 30, reconnect: true });
  steady.push(c);
  void drain(c);
}
const slots = Array.from({ length: Number(values.churn) }, () => churnSlot());
const timer = setInterval(() => {
  const fps = steady.map((c) => c.stats.fps).sort((a, b) => a - b);
  totals.dropped = steady.reduce((a, c) => a + c.stats.dropped, 0);
  process.stdout.write(JSON.stringify({ t: Date.now(), ...totals, steadyFpsMin: fps[0], steadyFpsMedian: fps[Math.floor(fps.length / 2)] }) + '\n');
}, Number(values.report) * 1000);
await Promise.all(slots);
clearInterval(timer);
await Promise.all(steady.map((c) => c.close()));
process.exit(0);
