#!/usr/bin/env node
// Builds the optional native JPEG encoder (native/ -> native/build/Release/framewire_jpeg.node) when
// libjpeg-turbo's TurboJPEG headers and library, Node's headers and a C toolchain are there.
// Otherwise prints ONE line saying why it was skipped and exits 0: sharp is the fallback encoder, so this
// script must never fail `npm install`. Whatever happens it exits 0 within about a minute.
//
// Usage: node scripts/build-native.mjs [--force]     (--force rebuilds even when the build is up to date)
// Env:   FRAMEWIRE_TURBOJPEG_PREFIX=/opt/libjpeg-turbo   look there first (PREFIX/include, PREFIX/lib*)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

const TIMEOUT_MS = 55_000;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const output = join(nativeDir, 'build', 'Release', 'framewire_jpeg.node');
const logFile = join(nativeDir, 'build', 'build-native.log');
const HINT = 'apt-get install libturbojpeg0-dev (Debian/Ubuntu) or brew install jpeg-turbo (macOS) to enable it';

function say(line) {
  console.log(`framewire: ${line}`);
}
function skip(reason) {
  say(`native JPEG encoder skipped: ${reason}; sharp will be used`);
  process.exit(0);
}

function runs(cmd, args = ['--version']) {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

function capture(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}

/** Directories named in pkg-config's output after `flag` (-I or -L). */
function pkgConfigDirs(option, flag) {
  const out = capture('pkg-config', [option, 'libturbojpeg']);
  if (out === null) return [];
  return out
    .split(/\s+/)
    .filter((t) => t.startsWith(flag))
    .map((t) => t.slice(2));
}

/** TurboJPEG's header and link-time library (the unversioned .so/.dylib/.a that -lturbojpeg needs). */
function findTurboJpeg() {
  const prefixes = [
    process.env.FRAMEWIRE_TURBOJPEG_PREFIX,
    '/usr',
    '/usr/local',
    '/opt/homebrew/opt/jpeg-turbo',
    '/usr/local/opt/jpeg-turbo',
    '/opt/libjpeg-turbo',
  ].filter(Boolean);
  const includeDirs = [...pkgConfigDirs('--cflags-only-I', '-I'), ...prefixes.map((p) => join(p, 'include'))];
  const libDirs = [...pkgConfigDirs('--libs-only-L', '-L')];
  for (const p of prefixes) {
    libDirs.push(join(p, 'lib'), join(p, 'lib64'));
    // Debian/Ubuntu multiarch: /usr/lib/x86_64-linux-gnu and friends.
    try {
      for (const d of readdirSync(join(p, 'lib'))) if (d.includes('-linux-')) libDirs.push(join(p, 'lib', d));
    } catch {
      // no such directory
    }
  }
  const includeDir = includeDirs.find((d) => existsSync(join(d, 'turbojpeg.h')));
  const libNames = ['libturbojpeg.so', 'libturbojpeg.dylib', 'libturbojpeg.a'];
  const libDir = libDirs.find((d) => libNames.some((n) => existsSync(join(d, n))));
  return { includeDir, libDir };
}

/** node-gyp's entry script: npm's own copy (npm sets npm_config_node_gyp during lifecycle scripts). */
function findNodeGyp() {
  const npmRoots = [];
  if (process.env.npm_execpath) npmRoots.push(resolve(dirname(process.env.npm_execpath), '..'));
  const binDir = dirname(process.execPath);
  npmRoots.push(join(binDir, '..', 'lib', 'node_modules', 'npm'), join(binDir, 'node_modules', 'npm'));
  const candidates = [
    process.env.npm_config_node_gyp,
    ...npmRoots.map((r) => join(r, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((c) => existsSync(c));
}

/**
 * Node's own headers, so node-gyp never has to download them: next to this node binary (Linux packages,
 * nodejs.org tarballs, Homebrew), or an earlier node-gyp download for this exact version.
 * Returns a --nodedir value, '' to let node-gyp use its cache, or null when there are none.
 */
function findNodeHeaders() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const besideNode = resolve(dirname(process.execPath), '..');
  if (existsSync(join(besideNode, 'include', 'node', 'node_api.h')) && existsSync(join(besideNode, 'include', 'node', 'common.gypi'))) {
    return besideNode;
  }
  const version = process.version.slice(1);
  const devdirs = [
    process.env.npm_config_devdir,
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'node-gyp'),
    join(homedir(), 'Library', 'Caches', 'node-gyp'),
  ].filter(Boolean);
  if (devdirs.some((d) => existsSync(join(d, version, 'include', 'node', 'node_api.h')))) return '';
  return null;
}

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  const inputs = [join(nativeDir, 'binding.gyp'), fileURLToPath(import.meta.url)];
  for (const f of readdirSync(join(nativeDir, 'src'))) inputs.push(join(nativeDir, 'src', f));
  return inputs.every((f) => statSync(f).mtimeMs < built);
}

/** Runs node-gyp in its own process group so a timeout can stop make and the compiler too. */
function runNodeGyp(args, deadline, log) {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: nativeDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => log.push(String(d)));
    child.stderr.on('data', (d) => log.push(String(d)));
    const timer = setTimeout(() => {
      log.push(`\n*** timed out after ${TIMEOUT_MS / 1000} s ***\n`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, Math.max(1, deadline - Date.now()));
    child.on('error', (e) => {
      clearTimeout(timer);
      log.push(String(e));
      done(false);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done(code === 0);
    });
  });
}

async function main() {
  const force = process.argv.includes('--force');
  if (process.platform === 'win32') skip('not built on Windows');
  if (!existsSync(join(nativeDir, 'binding.gyp'))) skip('native/binding.gyp is missing from this install');

  const { includeDir, libDir } = findTurboJpeg();
  if (!includeDir) skip(`turbojpeg.h not found (${HINT})`);
  if (!libDir) skip(`libturbojpeg (the -dev link library) not found (${HINT})`);

  if (!force && upToDate()) {
    say(`native JPEG encoder up to date (${output.slice(root.length + 1)})`);
    return;
  }

  const cc = process.env.CC || 'cc';
  if (!runs(cc)) skip(`no C compiler (${cc}) found`);
  if (!runs('make')) skip('make not found');
  const python = process.env.npm_config_python || process.env.PYTHON || 'python3';
  if (!runs(python)) skip(`${python} not found (node-gyp needs it)`);
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) skip("node-gyp not found (it comes with npm; run this through npm or beside npm's node)");
  const nodedir = findNodeHeaders();
  if (nodedir === null) skip(`Node's headers (include/node/node_api.h) not found next to ${process.execPath}`);

  // System directories need no -I/-L (and no rpath); others are passed to binding.gyp.
  const system = (d) => ['/usr/include', '/usr/lib'].includes(d) || /^\/usr\/lib\/[^/]*-linux-[^/]*$/.test(d);
  const gypVars = [];
  if (!system(includeDir)) gypVars.push(`-Dtj_include_dir=${includeDir}`);
  if (!system(libDir)) gypVars.push(`-Dtj_lib_dir=${libDir}`);
  const common = ['--release', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];

  const deadline = Date.now() + TIMEOUT_MS;
  const log = [];
  const ok =
    (await runNodeGyp([nodeGyp, 'clean', ...common], deadline, log)) &&
    (await runNodeGyp([nodeGyp, 'configure', ...common, '--', ...gypVars], deadline, log)) &&
    (await runNodeGyp([nodeGyp, 'build', ...common], deadline, log)) &&
    existsSync(output);
  try {
    mkdirSync(dirname(logFile), { recursive: true });
    writeFileSync(logFile, log.join(''));
  } catch {
    // the log is a convenience
  }
  const rel = (p) => p.slice(root.length + 1);
  if (!ok) skip(`the build failed (see ${rel(logFile)})`);
  // A library that links but will not load (e.g. a broken install) counts as a failure too.
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(output)})`], { encoding: 'utf8', timeout: 10_000 });
  if (check.status !== 0) skip(`the built addon does not load: ${(check.stderr.split('\n').find((l) => /Error/.test(l)) ?? 'unknown error').trim()}`);
  say(`native JPEG encoder built against libjpeg-turbo (${includeDir}/turbojpeg.h) -> ${rel(output)}`);
}

main().catch((e) => skip(`unexpected error: ${e instanceof Error ? e.message : String(e)}`));
