/**
 * Errors are values with a stable code. The same code travels on the wire
 * (as its numeric id), appears in logs and is the CLI's exit message.
 */
export const ERROR_CODES = {
  E_BAD_MAGIC: 1,
  E_VERSION: 2,
  E_MALFORMED: 3,
  E_TOO_LARGE: 4,
  E_UNEXPECTED: 5,
  E_AUTH: 6,
  E_TOO_MANY_CLIENTS: 7,
  E_TIMEOUT: 8,
  E_BAD_PARAMS: 9,
  E_SOURCE: 10,
  E_UNSUPPORTED: 11,
  E_SHUTDOWN: 12,
  E_CONNECT: 13,
  E_CLOSED: 14,
  E_TLS: 15,
  E_RATE_LIMITED: 16,
  E_IO: 17,
  E_INTERNAL: 99,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const BY_NUMBER = new Map<number, ErrorCode>(
  (Object.entries(ERROR_CODES) as [ErrorCode, number][]).map(([k, v]) => [v, k]),
);

export function errorCodeFromNumber(n: number): ErrorCode {
  return BY_NUMBER.get(n) ?? 'E_INTERNAL';
}

export class FramewireError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FramewireError';
    this.code = code;
  }
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function isFramewireError(e: unknown): e is FramewireError {
  return e instanceof FramewireError;
}

/** Wrap anything thrown into a FramewireError without losing the original. */
export function toFramewireError(e: unknown, code: ErrorCode = 'E_INTERNAL'): FramewireError {
  if (e instanceof FramewireError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new FramewireError(code, msg, { cause: e });
}
