import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is
 * `whsec_` + base64 of random bytes; the key is those bytes. A signature is
 * `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)); several are
 * sent space-separated (during a rotation's overlap, one per live secret), and
 * a receiver accepts the message if any one verifies.
 */

export const SECRET_PREFIX = 'whsec_';
/** 32 random bytes: inside the spec's 24..64, and a sealed secret fits the column */
const SECRET_BYTES = 32;

export const newSecret = (): string => `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The three headers of one attempt; a fresh timestamp each attempt (receivers refuse stale ones). */
export function signedHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => sign(s, id, timestamp, body)).join(' '),
  };
}
