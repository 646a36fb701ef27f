import type { ClientAuth } from './integrations-repo.js';

/**
 * Endpoints of well-known providers, filled in at creation for the OAuth
 * settings a request leaves out (anything sent wins). `custom` and any other
 * provider name get none: their settings are the caller's to give.
 */
export interface ProviderPreset {
  authorizeUrl: string;
  tokenUrl: string;
  revocationUrl: string | null;
  clientAuth: ClientAuth;
  authorizeParams: Record<string, string>;
  /** the provider's API hosts, where tools may send its tokens unless the integration lists others */
  allowedHosts: string[];
}

export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = {
  github: {
    authorizeUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    // GitHub revokes through its REST API (DELETE /applications/{client_id}/grant), not RFC 7009.
    revocationUrl: null,
    clientAuth: 'post',
    authorizeParams: {},
    allowedHosts: ['api.github.com'],
  },
  google: {
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    revocationUrl: 'https://oauth2.googleapis.com/revoke',
    clientAuth: 'post',
    // Without these Google issues no refresh token (or only on the first consent).
    authorizeParams: { access_type: 'offline', prompt: 'consent' },
    allowedHosts: ['www.googleapis.com', '*.googleapis.com'],
  },
  slack: {
    authorizeUrl: 'https://slack.com/oauth/v2/authorize',
    tokenUrl: 'https://slack.com/api/oauth.v2.access',
    revocationUrl: null,
    clientAuth: 'basic',
    authorizeParams: {},
    allowedHosts: ['slack.com'],
  },
};
