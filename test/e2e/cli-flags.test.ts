/** The CLI's flags: every subcommand documents all of them under --help, and a bad flag is one E_BAD_PARAMS line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVE_FLAGS, parseServeArgs } from '../../src/cli/serve.js';
import { VIEW_FLAGS } from '../../src/cli/view.js';
import { DEVICES_FLAGS } from '../../src/cli/devices-command.js';
import { runCli, waitForOutput } from '../helpers/cli.js';
import { within } from '../helpers/server.js';

const COMMANDS = [
  ['serve', SERVE_FLAGS],
  ['view', VIEW_FLAGS],
  ['devices', DEVICES_FLAGS],
] as const;

for (const [command, flags] of COMMANDS) {
  for (const help of ['--help', '-h']) {
    test(`${command} ${help} prints every flag of ${command} and exits 0`, { timeout: 60_000 }, async () => {
      const p = runCli([command, help]);
      assert.equal(await within(p.exited, 30_000, `${command} ${help}`), 0, p.stderr());
      assert.equal(p.stderr(), '');
      const out = p.stdout();
      assert.match(out, new RegExp(`^framewire ${command} `));
      for (const name of Object.keys(flags)) assert.ok(out.includes(`--${name}`), `${command} --help mentions --${name}`);
      assert.match(out, /-h, --help/);
    });
  }

  test(`${command} with an unknown flag: one E_BAD_PARAMS line naming it, no stack trace, exit 1`, { timeout: 60_000 }, async () => {
    const p = runCli([command, '--no-such-flag']);
    assert.equal(await within(p.exited, 30_000, `${command} --no-such-flag`), 1);
    assert.equal(p.stderr(), `framewire: E_BAD_PARAMS: unknown option --no-such-flag (see framewire ${command} --help)\n`);
    assert.equal(p.stdout(), '');
  });
}

test('a flag missing its value and a stray argument are one E_BAD_PARAMS line each', { timeout: 60_000 }, async () => {
  const missing = runCli(['serve', '--port']);
  const stray = runCli(['serve', 'extra']);
  assert.equal(await within(missing.exited, 30_000, 'serve --port'), 1);
  assert.equal(await within(stray.exited, 30_000, 'serve extra'), 1);
  assert.match(missing.stderr(), /^framewire: E_BAD_PARAMS: Option '--port <value>' argument missing \(see framewire serve --help\)\n$/);
  assert.equal(stray.stderr(), 'framewire: E_BAD_PARAMS: unexpected argument "extra" (see framewire serve --help)\n');
});

test('--loop is on by default and --no-loop turns it off', () => {
  assert.equal(parseServeArgs([])!.config.loop, true);
  assert.equal(parseServeArgs(['--loop'])!.config.loop, true);
  assert.equal(parseServeArgs(['--no-loop'])!.config.loop, false);
  assert.throws(() => parseServeArgs(['--loop', '--no-loop']), /E_BAD_PARAMS|choose either/);
  assert.equal(parseServeArgs(['--help']), null);
});

test('--codec, --bitrate, --gop and --h264-encoder reach the configuration; out of range is E_BAD_PARAMS naming the flag', () => {
  const d = parseServeArgs([])!.config;
  assert.deepEqual([d.codec, d.bitrate, d.gop, d.h264Encoder], ['both', 2000, 2, 'auto']);
  const c = parseServeArgs(['--codec', 'h264', '--bitrate', '800', '--gop', '4', '--h264-encoder', 'libx264'])!.config;
  assert.deepEqual([c.codec, c.bitrate, c.gop, c.h264Encoder], ['h264', 800, 4, 'libx264']);
  assert.throws(() => parseServeArgs(['--codec', 'vp9']), /E_BAD_PARAMS|--codec/);
  assert.throws(() => parseServeArgs(['--bitrate', '49']), /--bitrate\) must be a whole number from 50 to 100000/);
  assert.throws(() => parseServeArgs(['--gop', '0']), /--gop\) must be a whole number from 1 to 60/);
  assert.throws(() => parseServeArgs(['--gop', '61']), /--gop\) must be a whole number from 1 to 60/);
  assert.throws(() => parseServeArgs(['--h264-encoder', 'x265']), /--h264-encoder/);
});

test('serve --gop 0: one E_BAD_PARAMS line, exit 1', { timeout: 60_000 }, async () => {
  const p = runCli(['serve', '--gop', '0']);
  assert.equal(await within(p.exited, 30_000, 'serve --gop 0'), 1);
  assert.equal(p.stderr(), 'framewire: E_BAD_PARAMS: gop (--gop) must be a whole number from 1 to 60 (got 0)\n');
});

test('serve --no-loop starts', { timeout: 60_000 }, async () => {
  const p = runCli(['serve', '--no-loop', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '160', '--height', '90']);
  try {
    await waitForOutput(p, /view tcp:\/\/127\.0\.0\.1:\d+/);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('with --tls-self-signed the banner says tutorial clients cannot connect (the port speaks TLS only)', { timeout: 60_000 }, async () => {
  const p = runCli(['serve', '--tls-self-signed', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '160', '--height', '90']);
  try {
    await waitForOutput(p, /Press Ctrl-C/, 40_000);
    const out = p.stdout();
    assert.match(out, /view tls:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /tutorial clients: cannot connect: port \d+ speaks TLS only/);
    assert.doesNotMatch(out, /as they are/);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('without TLS or token the banner says tutorial clients connect as they are; with a token, that they are refused', { timeout: 60_000 }, async () => {
  const base = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--width', '160', '--height', '90'];
  const plain = runCli(base);
  const token = runCli([...base, '--token', 'open-sesame-open-sesame']);
  try {
    await Promise.all([waitForOutput(plain, /Press Ctrl-C/), waitForOutput(token, /Press Ctrl-C/)]);
    assert.match(plain.stdout(), /tutorial clients: connect to port \d+ as they are/);
    assert.match(token.stdout(), /tutorial clients: refused on port \d+: a token is set/);
  } finally {
    plain.child.kill('SIGKILL');
    token.child.kill('SIGKILL');
  }
});
