import autocannon from 'autocannon';
import { parseConfig } from '../src/config/index.js';
import { createService } from '../src/server.js';
import { authenticate, effectivePermissions } from '../src/identity/index.js';
import { benchDatabase, fmt, timeIt } from './bench-db.js';

/**
 * What authentication and authorization add to a request, on server PostgreSQL:
 * the same api_keys row fetched (1) by an unauthenticated route, (2) with an
 * access token, (3) with an API key; and the in-process cost of key validation,
 * permission resolution and user lookup against the seed 003 targets.
 */
export async function identityBench(opts: { seconds: number; connections: number }): Promise<string> {
  const b = await benchDatabase();
  const config = parseConfig({ DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent' });
  const svc = await createService(config, b.db, false);
  const app = svc.app;
  const identity = svc.identity;
  // The baseline: the same row through the same service call, with no auth.
  const { getApiKey } = await import('../src/identity/api-keys-service.js');
  let orgId = '';
  app.get('/bench/api-keys/:id', async (req) => getApiKey(identity, orgId, { userId: '', held: new Set(['api_keys:manage']) }, (req.params as { id: string }).id));
  const signup = await app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email: 'bench@example.com', password: 'bench-password-1', organizationName: 'Bench' },
  });
  const s = signup.json();
  const jwt = s.tokens.accessToken as string;
  orgId = s.organization.id as string;
  const keyRes = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: { authorization: `Bearer ${jwt}` },
    payload: { name: 'bench', scopes: ['*'], rateLimit: 100_000 },
  });
  const key = keyRes.json().key as string;
  const keyId = keyRes.json().id as string;

  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const run = async (title: string, path: string, headers: Record<string, string>) => {
    // The load generator runs in a worker thread so it does not share the server's event loop.
    const r = await autocannon({ url: `${url}${path}`, headers, connections: opts.connections, duration: opts.seconds, workers: 1 });
    if (r.non2xx > 0) throw new Error(`${title}: ${r.non2xx} non-2xx responses`);
    return { title, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
  };
  const base = await run('no auth (baseline)', `/bench/api-keys/${keyId}`, {});
  const withJwt = await run('access token + permission', `/v1/api-keys/${keyId}`, { authorization: `Bearer ${jwt}` });
  const withKey = await run('API key + permission', `/v1/api-keys/${keyId}`, { authorization: `Bearer ${key}` });
  await app.close();

  // In-process costs, sequential, against the seed 003 targets.
  const principal = (await authenticate(identity, `Bearer ${jwt}`))!.principal;
  const keyAuth = await timeIt(() => authenticate(identity, `Bearer ${key}`), 5000, 200);
  const jwtAuth = await timeIt(() => authenticate(identity, `Bearer ${jwt}`), 5000, 200);
  const perm = await timeIt(() => effectivePermissions(identity, principal), 5000, 200);
  const { findLoginByEmail } = await import('../src/identity/users-repo.js');
  const userLookup = await timeIt(() => b.db.transaction((sql) => findLoginByEmail(sql, 'bench@example.com')), 5000, 200);
  await b.finish();

  const rows = [base, withJwt, withKey].map(
    (r) => `| ${r.title} | ${r.rps.toFixed(0)} | ${(r.rps / base.rps).toFixed(2)}× | ${r.p50} ms | ${r.p99} ms |`,
  );
  const target = (title: string, st: { p50: number; p95: number; p99: number }, ms: number) =>
    `| ${title} | ${fmt(st.p50)} | ${fmt(st.p95)} | ${fmt(st.p99)} | < ${ms} ms | ${(st.p50 / ms).toFixed(3)} | ${(st.p99 / ms).toFixed(3)} |`;
  return [
    `### Authenticated read of one resource (HTTP over loopback, ${opts.connections} connections, ${opts.seconds} s each)`,
    '',
    '| route | req/s | vs baseline | p50 | p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Added per request: access token + permission check ${(1000 / withJwt.rps - 1000 / base.rps).toFixed(3)} ms of server time per request at this concurrency; API key ${(1000 / withKey.rps - 1000 / withJwt.rps).toFixed(3)} ms more.`,
    '',
    '### In-process costs against the seed 003 targets (sequential, 5000 calls each after 200 to warm up)',
    '',
    '| operation | p50 | p95 | p99 | target | p50 / target | p99 / target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    target('API key validation (REQ-T124)', keyAuth, 10),
    target('access token validation', jwtAuth, 10),
    target('permission check (REQ-T126)', perm, 5),
    target('user lookup by email (REQ-T121)', userLookup, 10),
  ].join('\n');
}
