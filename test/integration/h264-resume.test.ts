/**
 * A viewer that had to skip (H.264, docs/h264.md) and is ready again gets the frames it missed as a catch-up
 * run (docs/protocol.md §4.2.1) and so a current picture within a few frame intervals, not at the next
 * keyframe (a GOP of 4 s here makes the difference plain); what it received decodes without an error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { FrameMessage } from '../../src/protocol/messages.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const STALL_MS = 300;

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

test('a viewer whose ACKs stall briefly mid-GOP gets the frames it missed as a catch-up run and a current picture at once', { timeout: 60_000 }, async (t) => {
  if (!needFfmpeg(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-resume-'));
  const server = await startTestServer({ codec: 'h264', gop: 4, h264Encoder: 'libx264', window: 2 });
  let sock: net.Socket | null = null;
  let stallTimer: NodeJS.Timeout | null = null;
  try {
    sock = await rawConnect(server.tcp.port);
    const s = sock;
    const got: { m: FrameMessage; atMs: number }[] = [];
    let stalled = false;
    /** When the ACKs resumed (ms since the epoch), and how many frames had arrived by then. */
    let resumedAtMs = 0;
    let framesAtResume = 0;
    const decoder = new MessageDecoder({ codecs: 0x03 });
    // 45 frames (1.5 s) into the 4 s GOP the client stops acking for STALL_MS, then acks what it has.
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (chunk: Buffer) => {
        const r = decoder.push(chunk);
        if (r.error) return reject(r.error);
        for (const m of r.messages) {
          if (m.type === 'error') return reject(new Error(`${m.code}: ${m.text}`));
          if (m.type !== 'frame') continue;
          got.push({ m, atMs: Date.now() });
          if (got.length === 45 && resumedAtMs === 0) {
            stalled = true;
            stallTimer = setTimeout(() => {
              stalled = false;
              resumedAtMs = Date.now();
              framesAtResume = got.length;
              s.write(encodeMessage({ type: 'ack', seq: got.at(-1)!.m.seq }));
            }, STALL_MS);
          }
          if (!stalled) s.write(encodeMessage({ type: 'ack', seq: m.seq }));
          if (resumedAtMs > 0 && Date.now() - resumedAtMs > 1000) resolve();
        }
      });
      s.once('close', () => reject(new Error('closed')));
    });
    s.write(encodeMessage({ type: 'hello', version: 1, token: '', width: 320, height: 180, fps: 0, quality: 0, codecs: 0x03 }));
    await within(done, 30_000, 'a second of frames after the stall');

    assert.equal(got[0]!.m.keyframe, true, 'starts at a keyframe');
    assert.equal(got.filter((f) => f.m.keyframe).length, 1, 'all inside the first GOP: no keyframe came to end the skip');
    // Frames sent during the stall: at most the window, then one waiting; the rest were held back (skipped).
    const during = got.filter((f) => f.atMs > got[44]!.atMs && f.atMs < resumedAtMs).length;
    assert.ok(during <= 2, `${during} frames during the stall`);
    // The first picture captured after the ACKs resumed, shown (not catch-up), and how long it took to arrive.
    const after = got.slice(framesAtResume);
    const current = after.find((f) => !f.m.catchUp && f.m.captureUs / 1000 >= resumedAtMs - 40);
    assert.ok(current, 'a current picture after the stall');
    const waitedMs = current.atMs - resumedAtMs;
    assert.ok(waitedMs < 200, `a current picture ${waitedMs} ms after the ACKs resumed (the next keyframe was ~2 s away)`);
    const catchUp = after.filter((f) => f.m.catchUp).length;
    assert.ok(catchUp >= 3, `the frames missed came as a catch-up run (${catchUp})`);
    const seqs = got.map((f) => f.m.seq);
    assert.ok(seqs.every((q, i) => i === 0 || ((q - seqs[i - 1]!) | 0) > 0), 'seqs only increase (§4.2)');

    writeFileSync(join(dir, 'resumed.h264'), Buffer.concat(got.map((f) => f.m.payload)));
    const r = spawnSync('ffprobe', ['-v', 'error', '-f', 'h264', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', join(dir, 'resumed.h264')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no decode errors: every access unit has its references');
    assert.equal(Number(r.stdout.trim()), got.length, 'every access unit decodes to a picture');
    t.diagnostic(`${STALL_MS} ms ACK stall: ${catchUp} frames caught up, a current picture ${waitedMs} ms after the ACKs resumed; ${got.length} access units decoded`);
  } finally {
    if (stallTimer) clearTimeout(stallTimer);
    sock?.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
