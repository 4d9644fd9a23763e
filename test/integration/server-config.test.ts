/**
 * One configuration path: `serve`'s flags and startServer()'s options go through the same validation
 * (resolveServerConfig), so a configuration the CLI refuses is refused by startServer() too, with the same
 * code and the same words, before anything starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../src/cli/serve.js';
import { FramewireError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { resolveServerConfig, type ServerOptions } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import type { Source } from '../../src/sources/source.js';
import { TestPatternSource } from '../../src/sources/testpattern.js';

const LOCAL = ['--host', '127.0.0.1', '--port', '0', '--http-port', '0'];

/** A bad setting as `serve` flags and as the options a program would give startServer(). */
const CASES: [string, string[], ServerOptions][] = [
  ['a port past 65535', ['--port', '70000'], { port: 70000 }],
  ['a window of 0', ['--window', '0'], { window: 0 }],
  ['an idle timeout under a second', ['--idle-timeout', '10'], { idleTimeoutMs: 10 }],
  ['no clients at all', ['--max-clients', '0'], { maxClients: 0 }],
  ['a width under the protocol minimum', ['--width', '8'], { defaults: { width: 8 } }],
  ['a max fps past the protocol maximum', ['--max-fps', '500'], { bounds: { maxFps: 500 } }],
  ['an encode budget of nothing', ['--encode-budget', '0'], { encodeBudget: 0 }],
  ['a weak token', ['--token', 's3cret'], { token: 's3cret' }],
  ['a malformed host name', ['--hostname', 'not a host'], { hostnames: ['not a host'] }],
  ['an origin that is no origin', ['--allow-origin', 'ftp://x'], { allowOrigins: ['ftp://x'] }],
  ['a listen address that is neither', ['--host', 'bad host!'], { host: 'bad host!' }],
  ['an unknown source', ['--source', 'webcam'], { source: 'webcam' }],
];

function refusal(f: () => unknown): FramewireError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FramewireError, `a FramewireError, not ${String(e)}`);
    return e;
  }
  assert.fail('accepted');
}

for (const [what, flags, options] of CASES) {
  test(`${what}: refused by startServer() with the CLI's code and words`, async () => {
    const cli = refusal(() => parseServeArgs([...LOCAL, ...flags], {}));
    assert.equal(cli.code, 'E_BAD_PARAMS');
    const pattern = new TestPatternSource({ width: 160, height: 90, fps: 5 });
    let sourceStarted = false;
    const source: Source = {
      get info() {
        return pattern.info;
      },
      start: (sink) => {
        sourceStarted = true;
        return pattern.start(sink);
      },
      stop: () => pattern.stop(),
    };
    const started = startServer({ host: '127.0.0.1', port: 0, httpPort: null, log: silentLogger, ...options }, source);
    await assert.rejects(started, (e: unknown) => {
      assert.ok(e instanceof FramewireError);
      assert.equal(e.code, 'E_BAD_PARAMS');
      assert.equal(e.message, cli.message);
      return true;
    });
    assert.equal(sourceStarted, false, 'refused before the source was started');
    await pattern.stop();
  });
}

test('what the CLI builds is a configuration startServer() takes as it is; resolving it again changes nothing', async () => {
  const { config } = parseServeArgs([...LOCAL, '--token', 'correct horse battery staple', '--window', '4', '--hostname', 'Camera.Example.org.', '--encode-budget', '50'], {})!;
  assert.equal(config.window, 4);
  assert.equal(config.encodeBudget, 50e6);
  assert.ok(config.hostnames.includes('camera.example.org'));
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.defaults));
  assert.deepEqual(resolveServerConfig(config), config);
  const server = await startServer({ ...config, log: silentLogger }, new TestPatternSource({ width: 160, height: 90, fps: 5 }));
  try {
    assert.deepEqual({ ...server.config, log: null }, { ...config, log: null });
  } finally {
    await server.close();
  }
});

test('a weak token is accepted where it is asked for, by the CLI and by startServer() alike', async () => {
  assert.equal(parseServeArgs([...LOCAL, '--token', 's3cret', '--allow-weak-token'], {})!.config.token, 's3cret');
  const server = await startServer({ host: '127.0.0.1', port: 0, httpPort: null, log: silentLogger, token: 's3cret', allowWeakToken: true }, new TestPatternSource({ width: 160, height: 90, fps: 5 }));
  await server.close();
  assert.equal(server.config.token, 's3cret');
});
