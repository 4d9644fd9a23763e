/** Tokens: comparing one in constant time, generating one, and judging whether one is strong enough. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token check: compare fixed-length digests so neither content nor length leaks through timing. */
export function tokenMatches(expected: string | null, given: string): boolean {
  if (expected === null) return true;
  return timingSafeEqual(digest(expected), digest(given));
}

/** A fresh token: 144 random bits in 24 URL-safe characters (pasted into URLs as it is). */
export function generateToken(): string {
  return randomBytes(18).toString('base64url');
}

/** The shortest token accepted without --allow-weak-token, and how many different characters it needs. */
export const MIN_TOKEN_LENGTH = 16;
export const MIN_TOKEN_DISTINCT = 8;

/**
 * Why a token is too weak to stand up to guessing, or null when it is not. At the guessing rate the server
 * allows (docs/security.md), 16 characters drawn from 8 or more different ones is out of reach; a short
 * password or a PIN is not.
 */
export function weakTokenReason(token: string): string | null {
  const chars = [...token];
  if (chars.length < MIN_TOKEN_LENGTH) return `it has ${chars.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`;
  const distinct = new Set(chars).size;
  if (distinct < MIN_TOKEN_DISTINCT) return `it uses ${distinct} different characters; at least ${MIN_TOKEN_DISTINCT} are needed`;
  return null;
}
