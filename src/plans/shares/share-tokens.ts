import { createHash, randomBytes } from 'node:crypto';

/**
 * Share tokens: `abs_` and 32 random bytes in base64url, shown once when the
 * share is made. Only the SHA-256 (hex) is stored, with the first characters
 * to tell shares apart in lists. A public share also answers to its slug,
 * which can never look like a token (a slug has no underscore).
 */
export const SHARE_TOKEN_PREFIX = 'abs_';
const TOKEN_LENGTH = SHARE_TOKEN_PREFIX.length + 43;
const TOKEN_RE = /^abs_[A-Za-z0-9_-]{43}$/;
/** the stored prefix: `abs_` and 8 characters of the token */
const SHOWN = SHARE_TOKEN_PREFIX.length + 8;
export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{1,98}[a-z0-9])$/;

export const hashShareToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function newShareToken(): { token: string; hash: string; prefix: string } {
  const token = SHARE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashShareToken(token), prefix: token.slice(0, SHOWN) };
}

/** What a `/v1/shared/{tokenOrSlug}` names: a token (by its hash), a slug, or nothing a share could have. */
export function classifyShareRef(ref: string): { hash: string; slug: null } | { hash: null; slug: string } | null {
  if (ref.length === TOKEN_LENGTH && TOKEN_RE.test(ref)) return { hash: hashShareToken(ref), slug: null };
  if (SLUG_RE.test(ref)) return { hash: null, slug: ref };
  return null;
}

export const shareUrl = (ref: string): string => `/v1/shared/${ref}`;
