import { timingSafeEqual, createHash } from 'node:crypto';

/** Compares secrets in constant time (hashing first so lengths do not leak). */
export function secretsEqual(given: string | undefined | null, expected: string | undefined | null): boolean {
  if (!given || !expected) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1].trim() : null;
}

/** True when the header carries one of the accepted tokens. */
export function bearerMatches(header: string | undefined, ...accepted: (string | null)[]): boolean {
  const token = bearerToken(header);
  return accepted.some((expected) => secretsEqual(token, expected));
}
