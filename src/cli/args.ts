/** Flag parsing helpers shared by the subcommands: parse once at the edge into typed values with clear errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FramewireError } from '../errors.js';

export type FlagTable = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with framewire's errors: an unknown flag, a missing value or a stray argument is one
 * E_BAD_PARAMS line naming the culprit and pointing to `framewire COMMAND --help`, never a TypeError with
 * a stack trace. Every table gets --help/-h.
 */
export function parseFlags<T extends FlagTable>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[]; help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
    });
    const v = values as Record<string, string | boolean | undefined>;
    return { values: v, positionals, help: v.help === true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    throw new FramewireError('E_BAD_PARAMS', `${flagProblem(e as Error, code)} (see framewire ${command} --help)`);
  }
}

/** parseArgs's messages run to several sentences; keep the part that names the flag. */
function flagProblem(e: Error, code: string): string {
  const first = e.message.split('. ')[0]!.replace(/\.$/, '');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /'([^']+)'/.exec(first);
    return `unknown option ${m ? m[1] : first}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const m = /'([^']+)'/.exec(first);
    return `unexpected argument ${m ? JSON.stringify(m[1]) : first}`;
  }
  return first;
}

export function intFlag(value: string | boolean | undefined, name: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < lo || n > hi) {
    throw new FramewireError('E_BAD_PARAMS', `--${name} must be a whole number from ${lo} to ${hi} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** A whole number, or undefined when the flag is absent; its range is checked where it is used (e.g. resolveServerConfig). */
export function wholeFlag(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isInteger(n)) {
    throw new FramewireError('E_BAD_PARAMS', `--${name} must be a whole number (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function numberFlag(value: string | boolean | undefined, name: string, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n < lo || n > hi) {
    throw new FramewireError('E_BAD_PARAMS', `--${name} must be a number from ${lo} to ${hi} (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
