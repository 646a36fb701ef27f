/**
 * Error messages and stacks go to error_logs, which platform administrators
 * read: whatever credential a message happens to carry (a bearer token in a
 * logged header, an API key, a password in a connection URL, a webhook secret)
 * is replaced before it is buffered, and the text is bounded.
 */
const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host: keep the user, drop the password
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+):[^\s@/]+@/gi, '$1:[redacted]@'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]'],
  // JSON Web Tokens (access tokens), API keys (ab_…), webhook signing secrets (whsec_…)
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\bab_[A-Za-z0-9_-]{8,}/g, 'ab_[redacted]'],
  [/\bwhsec_[A-Za-z0-9+/=]{8,}/g, 'whsec_[redacted]'],
  // password=…, "token": "…", api_key: …
  [/\b(password|passwd|secret|token|api[_-]?key|authorization)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1$2[redacted]'],
];

export function scrubSecrets(text: string, maxLength: number): string {
  let out = text.length > maxLength * 2 ? text.slice(0, maxLength * 2) : text;
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out.length > maxLength ? `${out.slice(0, maxLength - 1)}…` : out;
}
