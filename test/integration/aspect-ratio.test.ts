/**
 * Size and aspect ratio (docs/protocol.md §4.1): one dimension given → the other follows the source's aspect
 * ratio; both given in another shape → the whole picture with black bars, never stretched; never larger than
 * the source by default. The same grant and the same picture on every transport.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import sharp from 'sharp';
import WebSocket from 'ws';
import { connect } from '../../src/client/client.js';
import { pictureSize } from '../../src/pipeline/profile.js';
import { grantSize, type GrantPolicy } from '../../src/server/grant.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { encodeSeedHello, SeedFrameDecoder } from '../../src/protocol/seed.js';
import type { Message } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { RunningServer } from '../../src/server/server.js';
import { take } from '../helpers/client.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';

const POLICY: GrantPolicy = { defaults: { width: 1280, height: 720, fps: 30, quality: 80 }, bounds: { maxWidth: 3840, maxHeight: 2160, maxFps: 120 } };
const HD = { width: 1280, height: 720 };

describe('grantSize', () => {
  const cases: [string, { width: number; height: number }, { width: number; height: number }, [number, number], Partial<GrantPolicy>?][] = [
    ['width alone follows the aspect ratio', { width: 640, height: 0 }, HD, [640, 360]],
    ['height alone follows the aspect ratio', { width: 0, height: 360 }, HD, [640, 360]],
    ['a derived dimension is rounded to even', { width: 100, height: 0 }, HD, [100, 56]],
    ['both given in another shape: that frame (the picture letterboxed)', { width: 480, height: 360 }, HD, [480, 360]],
    ['never larger than the source (width alone)', { width: 3840, height: 0 }, HD, [1280, 720]],
    ['never larger than the source (a frame, scaled down whole)', { width: 1920, height: 1440 }, HD, [1280, 960]],
    ['upscaling when allowed', { width: 3840, height: 0 }, HD, [3840, 2160], { allowUpscale: true }],
    ['0 x 0: the default size', { width: 0, height: 0 }, HD, [1280, 720]],
    ['0 x 0 from a smaller source of another shape: the source itself', { width: 0, height: 0 }, { width: 640, height: 480 }, [640, 480]],
    ['0 x 0 from a larger source: the default box, at the source shape', { width: 0, height: 0 }, { width: 1920, height: 1440 }, [960, 720]],
    ['portrait source, width alone', { width: 360, height: 0 }, { width: 720, height: 1280 }, [360, 640]],
    ['over the caps: the whole frame shrinks, keeping its shape', { width: 1280, height: 0 }, HD, [640, 360], { bounds: { maxWidth: 640, maxHeight: 480, maxFps: 120 } }],
    ['below the minimum: clamped', { width: 10, height: 0 }, HD, [16, 16]],
  ];
  for (const [name, req, source, want, extra] of cases) {
    test(name, () => {
      const g = grantSize(req, { ...POLICY, ...extra }, source);
      assert.deepEqual([g.width, g.height], want);
    });
  }
  test('pictureSize: the picture in a frame of another shape, and no sliver of a bar for a derived size', () => {
    assert.deepEqual(pictureSize({ width: 480, height: 360 }, HD), { width: 480, height: 270 });
    assert.deepEqual(pictureSize({ width: 100, height: 56 }, HD), { width: 100, height: 56 });
    assert.deepEqual(pictureSize({ width: 360, height: 360 }, HD), { width: 360, height: 203 });
  });
});

/** Mean luma of rows [y0, y1) of a JPEG. */
async function rowLuma(jpeg: Uint8Array, y0: number, y1: number): Promise<number> {
  const { data, info } = await sharp(Buffer.from(jpeg)).greyscale().raw().toBuffer({ resolveWithObject: true });
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < info.width; x++) sum += data[y * info.width + x]!;
  return sum / ((y1 - y0) * info.width);
}

async function jpegSize(jpeg: Uint8Array): Promise<[number, number]> {
  const m = await sharp(Buffer.from(jpeg)).metadata();
  return [m.width!, m.height!];
}

describe('every transport: the same size and the same picture', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ httpPort: 0, defaults: { width: 1280, height: 720, fps: 30, quality: 70 } }, { extras: [httpTransport()] });
    base = `http://127.0.0.1:${server.extras[0]!.port}`;
  });
  after(() => server.close());

  async function viaTcp(q: { width?: number; height?: number }): Promise<{ size: [number, number]; jpeg: Uint8Array }> {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, q);
    try {
      const [f] = await within(take(c, 1), 10_000, 'a frame over TCP');
      assert.deepEqual([f!.width, f!.height], [c.accepted.width, c.accepted.height]);
      return { size: [c.accepted.width, c.accepted.height], jpeg: f!.jpeg };
    } finally {
      await c.close();
    }
  }

  async function viaWebSocket(q: { width?: number; height?: number }): Promise<{ size: [number, number]; jpeg: Uint8Array }> {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
    const decoder = new MessageDecoder();
    try {
      return await within(
        new Promise((resolve, reject) => {
          let size: [number, number] = [0, 0];
          ws.on('message', (data: Buffer) => {
            for (const m of decoder.push(data).messages as Message[]) {
              if (m.type === 'accept') size = [m.width, m.height];
              if (m.type === 'frame') resolve({ size, jpeg: m.payload });
            }
          });
          ws.once('error', reject);
          ws.once('open', () => ws.send(encodeMessage({ type: 'hello', version: 1, width: q.width ?? 0, height: q.height ?? 0, fps: 0, quality: 0, token: '' })));
        }),
        10_000,
        'a frame over WebSocket',
      );
    } finally {
      ws.terminate();
    }
  }

  function viaMjpeg(query: string): Promise<{ size: [number, number]; jpeg: Uint8Array }> {
    return within(
      new Promise((resolve, reject) => {
        const req = http.get(`${base}/stream.mjpg?${query}`, (res) => {
          const size = (res.headers['x-framewire-size'] as string).split('x').map(Number) as [number, number];
          let buf = Buffer.alloc(0);
          res.on('data', (c: Buffer) => {
            buf = Buffer.concat([buf, c]);
            const m = /Content-Length: (\d+)\r\n/.exec(buf.toString('latin1'));
            const start = buf.indexOf('\r\n\r\n');
            if (m && start >= 0 && buf.length >= start + 4 + Number(m[1])) {
              resolve({ size, jpeg: buf.subarray(start + 4, start + 4 + Number(m[1])) });
              req.destroy();
            }
          });
        });
        req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
      }),
      10_000,
      'an MJPEG part',
    );
  }

  async function viaSnapshot(query: string): Promise<{ size: [number, number]; jpeg: Uint8Array }> {
    const r = await fetch(`${base}/snapshot.jpg?${query}`);
    assert.equal(r.status, 200);
    const jpeg = new Uint8Array(await r.arrayBuffer());
    return { size: await jpegSize(jpeg), jpeg };
  }

  async function viaTutorial(width: number, height: number): Promise<{ size: [number, number]; jpeg: Uint8Array }> {
    const s = await rawConnect(server.tcp.port);
    const decoder = new SeedFrameDecoder();
    try {
      return await within(
        new Promise((resolve) => {
          s.on('data', (c: Buffer) => {
            const [f] = decoder.push(c).frames;
            if (f) resolve({ size: [f.width, f.height], jpeg: f.payload });
          });
          s.write(encodeSeedHello({ fps: 30, width, height }));
        }),
        10_000,
        'a tutorial frame',
      );
    } finally {
      s.destroy();
    }
  }

  test('width=640 alone is 640x360 from a 1280x720 source on TCP, WebSocket, MJPEG and snapshot', { timeout: 60_000 }, async () => {
    const all = { tcp: await viaTcp({ width: 640 }), ws: await viaWebSocket({ width: 640 }), mjpeg: await viaMjpeg('width=640'), snapshot: await viaSnapshot('width=640') };
    for (const [name, r] of Object.entries(all)) {
      assert.deepEqual(r.size, [640, 360], `${name}: granted size`);
      assert.deepEqual(await jpegSize(r.jpeg), [640, 360], `${name}: the JPEG itself`);
    }
    assert.deepEqual((await viaSnapshot('height=360')).size, [640, 360], 'height alone too');
  });

  test('480x360 from a 16:9 source is letterboxed, not stretched, on every transport (the tutorial format too)', { timeout: 60_000 }, async () => {
    const all = {
      tcp: await viaTcp({ width: 480, height: 360 }),
      ws: await viaWebSocket({ width: 480, height: 360 }),
      mjpeg: await viaMjpeg('width=480&height=360'),
      snapshot: await viaSnapshot('width=480&height=360'),
      tutorial: await viaTutorial(480, 360),
    };
    for (const [name, r] of Object.entries(all)) {
      assert.deepEqual(r.size, [480, 360], `${name}: the frame asked for`);
      assert.deepEqual(await jpegSize(r.jpeg), [480, 360], `${name}: the JPEG itself`);
      // The 480x270 picture sits in the middle; 45 rows of black above and below.
      const top = await rowLuma(r.jpeg, 0, 40);
      const bottom = await rowLuma(r.jpeg, 320, 360);
      const middle = await rowLuma(r.jpeg, 60, 300);
      assert.ok(top < 8 && bottom < 8, `${name}: black bars (mean luma top ${top.toFixed(1)}, bottom ${bottom.toFixed(1)})`);
      assert.ok(middle > 40, `${name}: the picture between them (mean luma ${middle.toFixed(1)})`);
    }
  });

  test('a size larger than the source is not granted (no upscaling by default), the same on every transport', { timeout: 60_000 }, async () => {
    assert.deepEqual((await viaTcp({ width: 3840, height: 2160 })).size, [1280, 720]);
    assert.deepEqual((await viaWebSocket({ width: 3840 })).size, [1280, 720]);
    assert.deepEqual((await viaMjpeg('width=3840&height=2160')).size, [1280, 720]);
    assert.deepEqual((await viaSnapshot('width=1920')).size, [1280, 720]);
  });
});
