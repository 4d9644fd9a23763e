/**
 * Shell-style splitting of a user's ffmpeg argument string (for `--source ffmpeg:ARGS`):
 * whitespace separates words, single quotes are literal, double quotes allow \" and \\ escapes,
 * a backslash outside quotes escapes the next character. No globbing, no variables.
 */
import { FramewireError } from '../../errors.js';

export function splitArgs(input: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (input[i + 1] === '"' || input[i + 1] === '\\')) word += input[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < input.length) {
      word += input[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new FramewireError('E_BAD_PARAMS', `unterminated ${quote} quote in ffmpeg arguments: ${input}`);
  if (inWord) out.push(word);
  return out;
}
