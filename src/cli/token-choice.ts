/**
 * Which token `serve` requires, and where `view` finds one. A token on the command line is visible to every
 * user of the machine (ps, /proc), so the environment (FRAMEWIRE_TOKEN) and --token-file are the ways the
 * docs show.
 */
import { readFileSync } from 'node:fs';
import { FramewireError } from '../errors.js';
import { isLoopback } from '../server/address-key.js';
import { generateToken, weakTokenReason } from '../server/token.js';

/** The first line of a file, without surrounding white space (so `echo T > file` works). */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FramewireError('E_BAD_PARAMS', `--token-file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const token = (text.split(/\r?\n/)[0] ?? '').trim();
  if (token === '') throw new FramewireError('E_BAD_PARAMS', `--token-file ${path}: the file's first line is empty`);
  return token;
}

export interface ServeToken {
  token: string | null;
  /** given: --token, --token-file or FRAMEWIRE_TOKEN; generated: none given, listening beyond loopback;
   * local: none given, loopback only; disabled: --no-token. */
  kind: 'given' | 'generated' | 'local' | 'disabled';
  /** Came from --token (visible in ps). */
  onCommandLine: boolean;
  /** Why the token is weak (refused by resolveServerConfig unless --allow-weak-token), or null. */
  weak: string | null;
}

export interface TokenFlags {
  token?: string | undefined;
  tokenFile?: string | undefined;
  noToken: boolean;
}

export function chooseServeToken(flags: TokenFlags, env: NodeJS.ProcessEnv, host: string): ServeToken {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new FramewireError('E_BAD_PARAMS', 'choose either --token or --token-file');
  if (flags.noToken) {
    if (flags.token !== undefined || flags.tokenFile !== undefined) throw new FramewireError('E_BAD_PARAMS', '--no-token contradicts --token/--token-file');
    return { token: null, kind: 'disabled', onCommandLine: false, weak: null };
  }
  const given = flags.token ?? (flags.tokenFile !== undefined ? readTokenFile(flags.tokenFile) : undefined) ?? env.FRAMEWIRE_TOKEN;
  if (given === undefined || given === '') {
    if (flags.token === '') throw new FramewireError('E_BAD_PARAMS', '--token must not be empty');
    if (isLoopback(host) || host === 'localhost') return { token: null, kind: 'local', onCommandLine: false, weak: null };
    return { token: generateToken(), kind: 'generated', onCommandLine: false, weak: null };
  }
  // Its length and strength are the configuration's to judge (resolveServerConfig), as for any server.
  return { token: given, kind: 'given', onCommandLine: flags.token !== undefined, weak: weakTokenReason(given) };
}
