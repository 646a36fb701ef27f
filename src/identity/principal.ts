/**
 * Terminology:
 * - principal: who is calling — a user through an access token (with a session),
 *              or a user's API key (with scopes). Always bound to one organization.
 * - scope:     a permission name ("agents:read") an API key is limited to; "*"
 *              means whatever its user may do.
 */
export interface Principal {
  kind: 'user' | 'api_key';
  userId: string;
  orgId: string;
  sessionId: string | null;
  apiKeyId: string | null;
  scopes: string[] | null;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}
