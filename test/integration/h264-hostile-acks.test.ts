/**
 * Peers that lie with their ACKs (docs/protocol.md §4.2) to a server streaming H.264, next to an honest
 * client: acks out of order, repeated, stale, of seqs never sent but older than the newest, of the seq half
 * the number circle away, and acks ahead of the newest frame sent. The server must not crash, must never put
 * a live FRAME to a peer past the window its own ACKs allow (only a catch-up burst may go past it, §4.2.1),
 * must close a peer that acks ahead with E_UNEXPECTED, and the honest client's stream must decode without an
 * error at close to the source's rate.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../src/client/client.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { FrameMessage } from '../../src/protocol/messages.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const W = 320;
const H = 180;
const WINDOW = 2;
const ATTACK_MS = 4000;
/** The honest client's rate while attacked: the source runs at 30 fps. */
const MIN_HONEST_FPS = 27;
const HELLO = encodeMessage({ type: 'hello', version: 1, token: '', width: W, height: H, fps: 0, quality: 0, codecs: 0x03 });

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

/** a before b in serial-number arithmetic (§4.2). */
const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;

interface PeerLog {
  frames: FrameMessage[];
  /** Live FRAMEs that arrived while the peer's own ACKs left `WINDOW` or more frames unacknowledged. */
  pastWindow: string[];
  error: string | null;
  closed: boolean;
}

/**
 * A raw framewire/1 peer offering H.264. Each FRAME is checked against the window (by this peer's own ACKs:
 * the server can only have seen fewer), then `onFrame` says which ACKs to send now and which later.
 */
function hostilePeer(port: number, until: number, onFrame: (f: FrameMessage, log: PeerLog) => { now: number[]; laterMs?: number; later?: number[] }): Promise<PeerLog> {
  const log: PeerLog = { frames: [], pastWindow: [], error: null, closed: false };
  return rawConnect(port).then(
    (s: net.Socket) =>
      new Promise<PeerLog>((resolve) => {
        const timers = new Set<NodeJS.Timeout>();
        const decoder = new MessageDecoder({ codecs: 0x03 });
        /** The newest seq this peer has acknowledged (cumulative): the server can have seen no more than that. */
        let acked: number | null = null;
        const ack = (seq: number): void => {
          if (s.destroyed) return;
          s.write(encodeMessage({ type: 'ack', seq: seq >>> 0 }));
          if (acked === null || before(acked, seq)) acked = seq >>> 0;
        };
        const finish = (): void => {
          for (const t of timers) clearTimeout(t);
          s.destroy();
          resolve(log);
        };
        const stop = setTimeout(finish, Math.max(0, until - Date.now()));
        s.on('data', (chunk: Buffer) => {
          const r = decoder.push(chunk);
          if (r.error) log.error = `undecodable: ${r.error.message}`;
          for (const m of r.messages) {
            if (m.type === 'error') log.error = m.code;
            if (m.type !== 'frame') continue;
            const prev = log.frames.at(-1);
            const inBurst = m.catchUp || prev?.catchUp === true;
            const unacked = log.frames.filter((f) => acked === null || before(acked, f.seq)).length;
            if (!inBurst && unacked >= WINDOW) log.pastWindow.push(`seq ${m.seq} with ${unacked} unacknowledged`);
            log.frames.push(m);
            const plan = onFrame(m, log);
            for (const seq of plan.now) ack(seq);
            if (plan.later) {
              const later = plan.later;
              const timer = setTimeout(() => {
                timers.delete(timer);
                for (const seq of later) ack(seq);
              }, plan.laterMs ?? 0);
              timers.add(timer);
            }
          }
        });
        s.on('close', () => {
          log.closed = true;
          clearTimeout(stop);
          finish();
        });
        s.on('error', () => {});
        s.write(HELLO);
      }),
  );
}

test('hostile ACKs on H.264: no crash, nothing past the window, ack-ahead closed with E_UNEXPECTED, the honest stream decodes at full rate', { timeout: 60_000 }, async (t) => {
  if (!needFfmpeg(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-acks-'));
  const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264', window: WINDOW });
  try {
    const honest = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
    assert.equal(honest.accepted.codec, 'h264');
    const until = Date.now() + ATTACK_MS;
    const got: { payload: Uint8Array; catchUp: boolean; at: number }[] = [];
    const honestDone = (async () => {
      for await (const f of honest) {
        got.push({ payload: f.payload, catchUp: f.catchUp, at: performance.now() });
        if (Date.now() >= until) break;
      }
    })();

    // Out of order, repeated, stale (up to a quarter of the seq circle back) and never-sent-but-older ACKs
    // around a late honest one. (Half the circle away is ahead of the newest frame as soon as one more is sent.)
    const scrambler = (f: FrameMessage, log: PeerLog): { now: number[]; laterMs: number; later: number[] } => {
      const seqs = log.frames.map((x) => x.seq);
      const first = seqs[0]!;
      const prev = seqs.at(-2) ?? first;
      return {
        now: [prev, first, prev, f.seq - 1, f.seq - 1_000_000, f.seq - 2 ** 30, prev],
        laterMs: (f.seq * 37) % 90,
        later: [f.seq, prev, f.seq, first],
      };
    };
    // Acks a frame the server has not sent yet: 1000 frames ahead (33 s), or a quarter of the circle. (A
    // few frames ahead may be a frame already sent and still in transit, which the server cannot tell apart.)
    const ahead = (by: number) => (f: FrameMessage): { now: number[] } => ({ now: [f.seq + by] });
    const aheadRuns: PeerLog[] = [];
    const aheadLoop = (async () => {
      // Reconnects after each close, in a bounded loop that ends with the attack.
      for (let i = 0; i < 50 && Date.now() < until - 300; i++) aheadRuns.push(await hostilePeer(server.tcp.port, until, ahead(i % 2 === 0 ? 1000 : 2 ** 30)));
    })();
    const scramblers = await Promise.all([hostilePeer(server.tcp.port, until, scrambler), hostilePeer(server.tcp.port, until, scrambler)]);
    await aheadLoop;
    await within(honestDone, 10_000, 'the honest client to finish');
    await honest.close();

    for (const [i, p] of scramblers.entries()) {
      assert.equal(p.error, null, `scrambler ${i} is not refused: its ACKs are all legal, only useless`);
      assert.ok(p.frames.length > 20, `scrambler ${i} streams on (${p.frames.length} frames)`);
      assert.deepEqual(p.pastWindow, [], `scrambler ${i}: no live FRAME past the window`);
    }
    for (const [i, p] of aheadRuns.entries()) {
      assert.equal(p.error, 'E_UNEXPECTED', `ack-ahead run ${i}: ERROR E_UNEXPECTED`);
      assert.ok(p.closed, `ack-ahead run ${i}: closed`);
      assert.deepEqual(p.pastWindow, [], `ack-ahead run ${i}: no live FRAME past the window`);
      // A catch-up burst on joining, then at most the window: its lie opened nothing.
      const burst = p.frames.findIndex((f) => !f.catchUp) + 1;
      assert.ok(p.frames.length <= burst + WINDOW, `ack-ahead run ${i}: ${p.frames.length} frames (burst ${burst})`);
    }
    assert.ok(aheadRuns.length >= 2, `the ack-ahead peer connected ${aheadRuns.length} times`);

    const shown = got.filter((f) => !f.catchUp);
    const spanS = (shown.at(-1)!.at - shown[0]!.at) / 1000;
    const fps = (shown.length - 1) / spanS;
    writeFileSync(join(dir, 'honest.h264'), Buffer.concat(got.map((f) => f.payload)));
    const r = spawnSync('ffprobe', ['-v', 'error', '-f', 'h264', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', join(dir, 'honest.h264')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'the honest stream decodes without an error');
    assert.equal(Number(r.stdout.trim()), got.length, 'every access unit decodes to a picture');
    assert.ok(fps >= MIN_HONEST_FPS, `honest client at ${fps.toFixed(1)} fps`);
    // The server is still there for a newcomer.
    const after = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
    await after.close();
    t.diagnostic(
      `honest: ${got.length} access units, ${fps.toFixed(1)} fps shown; scramblers: ${scramblers.map((p) => p.frames.length).join(', ')} frames; ` +
        `ack-ahead: ${aheadRuns.length} connections, each closed after ≤ ${Math.max(...aheadRuns.map((p) => p.frames.length))} frames`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
