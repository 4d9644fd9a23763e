import assert from 'node:assert/strict';
import { FramewireError } from '../../src/errors.js';

/** The FramewireError code fn throws, or 'no error'; anything else thrown fails the test. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FramewireError, `threw ${String(e)}`);
    return e.code;
  }
  return 'no error';
}
