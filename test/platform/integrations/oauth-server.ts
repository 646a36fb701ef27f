/**
 * A small OAuth 2.0 provider on 127.0.0.1 for the integration tests:
 * /authorize answers a redirect with a code (recording the PKCE challenge),
 * /token serves the authorization_code and refresh_token grants (checking
 * client authentication, the redirect URI and the PKCE verifier; refresh
 * tokens rotate and a spent one is refused), /revoke is RFC 7009, and /api/me
 * is a protected API that wants a live access token (and echoes the
 * Authorization header back, to prove the caller scrubs it). Every call is counted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CLIENT_ID = 'agentbase-test-client';
export const CLIENT_SECRET = 'cs_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

export interface OAuthServer {
  base: string;
  /** what the next token answers say */
  opts: { expiresIn: number; rotate: boolean; failRefresh: boolean; refreshDelayMs: number; clientAuth: 'basic' | 'post' };
  counts: { authorize: number; code: number; refresh: number; revoke: number; api: number; refreshReused: number; badClient: number; badPkce: number };
  /** every token and code ever issued, and the client secret: none may appear in an answer of agentbase */
  issued: string[];
  revoked: string[];
  /** a token pair the server accepts, as if obtained elsewhere */
  mint(): { accessToken: string; refreshToken: string };
  apiSeen: string[];
  close(): Promise<void>;
}

const b64url = (b: Buffer) => b.toString('base64url');

export async function startOAuthServer(): Promise<OAuthServer> {
  const codes = new Map<string, { redirectUri: string; challenge: string; scope: string; used: boolean }>();
  const access = new Set<string>();
  const refresh = new Set<string>();
  const spent = new Set<string>();
  const s: Omit<OAuthServer, 'base' | 'close'> = {
    opts: { expiresIn: 3600, rotate: true, failRefresh: false, refreshDelayMs: 0, clientAuth: 'basic' },
    counts: { authorize: 0, code: 0, refresh: 0, revoke: 0, api: 0, refreshReused: 0, badClient: 0, badPkce: 0 },
    issued: [CLIENT_SECRET],
    revoked: [],
    apiSeen: [],
    mint() {
      const pair = { accessToken: `at_${b64url(randomBytes(18))}`, refreshToken: `rt_${b64url(randomBytes(18))}` };
      access.add(pair.accessToken);
      refresh.add(pair.refreshToken);
      s.issued.push(pair.accessToken, pair.refreshToken);
      return pair;
    },
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  function clientOk(req: IncomingMessage, form: URLSearchParams): boolean {
    const h = req.headers.authorization;
    if (s.opts.clientAuth === 'basic') {
      if (!h?.startsWith('Basic ')) return false;
      const [id, secret] = Buffer.from(h.slice(6), 'base64').toString().split(':').map((x) => decodeURIComponent(x.replace(/\+/g, ' ')));
      return id === CLIENT_ID && secret === CLIENT_SECRET;
    }
    return form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET;
  }

  async function handle(req: IncomingMessage, body: string, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/authorize') {
      s.counts.authorize++;
      const q = url.searchParams;
      if (q.get('response_type') !== 'code' || q.get('client_id') !== CLIENT_ID || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
        return json(res, 400, { error: 'invalid_request' });
      }
      const code = `code_${b64url(randomBytes(12))}`;
      s.issued.push(code);
      codes.set(code, { redirectUri: q.get('redirect_uri')!, challenge: q.get('code_challenge')!, scope: q.get('scope') ?? '', used: false });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const form = new URLSearchParams(body);
      if (!clientOk(req, form)) {
        s.counts.badClient++;
        return json(res, 401, { error: 'invalid_client' });
      }
      if (form.get('grant_type') === 'authorization_code') {
        s.counts.code++;
        const c = codes.get(form.get('code') ?? '');
        if (!c || c.used || c.redirectUri !== form.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant', error_description: 'bad code' });
        const verifier = form.get('code_verifier') ?? '';
        if (b64url(createHash('sha256').update(verifier).digest()) !== c.challenge) {
          s.counts.badPkce++;
          return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
        }
        c.used = true;
        const pair = s.mint();
        return json(res, 200, { access_token: pair.accessToken, token_type: 'bearer', expires_in: s.opts.expiresIn, refresh_token: pair.refreshToken, scope: c.scope });
      }
      if (form.get('grant_type') === 'refresh_token') {
        s.counts.refresh++;
        if (s.opts.refreshDelayMs) await new Promise((r) => setTimeout(r, s.opts.refreshDelayMs));
        const rt = form.get('refresh_token') ?? '';
        if (spent.has(rt)) s.counts.refreshReused++;
        if (s.opts.failRefresh || !refresh.has(rt)) return json(res, 400, { error: 'invalid_grant', error_description: 'the refresh token is not valid' });
        const pair = s.mint();
        const answer: Record<string, unknown> = { access_token: pair.accessToken, token_type: 'Bearer', expires_in: s.opts.expiresIn };
        if (s.opts.rotate) {
          refresh.delete(rt);
          spent.add(rt);
          answer.refresh_token = pair.refreshToken;
        } else {
          refresh.delete(pair.refreshToken);
        }
        return json(res, 200, answer);
      }
      return json(res, 400, { error: 'unsupported_grant_type' });
    }
    if (req.method === 'POST' && url.pathname === '/revoke') {
      const form = new URLSearchParams(body);
      if (!clientOk(req, form)) {
        s.counts.badClient++;
        return json(res, 401, { error: 'invalid_client' });
      }
      s.counts.revoke++;
      const token = form.get('token') ?? '';
      s.revoked.push(token);
      access.delete(token);
      refresh.delete(token);
      res.writeHead(200);
      return res.end();
    }
    if (url.pathname === '/api/me') {
      s.counts.api++;
      const h = req.headers.authorization ?? '';
      s.apiSeen.push(h);
      const token = h.startsWith('Bearer ') ? h.slice(7) : '';
      if (!access.has(token)) return json(res, 401, { error: 'invalid_token' });
      return json(res, 200, { login: 'octocat', youSent: h });
    }
    json(res, 404, { error: 'not_found' });
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(parts).toString('utf8'), res).catch(() => json(res, 500, { error: 'server_error' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...s,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as OAuthServer;
}
