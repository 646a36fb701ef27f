import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { consoleRoutes, type ConsoleAssets } from '../console/index.js';
import type { QueryCache } from '../cache/index.js';
import type { Config } from '../config/config.js';
import { uuidv7, migrationStatus, type Database, type Migration } from '../db/index.js';
import { AppError, forbidden } from '../errors.js';
import { auditRoutes } from '../audit/index.js';
import { agentRoutes } from '../agents/index.js';
import { jobsRoutes } from '../jobs/index.js';
import { memoryRoutes, type MemoryModule } from '../memory/index.js';
import { findPlanRefs, planRoutes } from '../plans/index.js';
import { notificationsRoutes } from '../notifications/index.js';
import { createOpsMetrics, eraseRoutes, type OpsMetrics, overviewRoutes, type OverviewSource, queriesRoutes, reportsRoutes, retentionRoutes } from '../ops/index.js';
import { costSince, runsRoutes } from '../runs/index.js';
import { createRuntime, runtimeRoutes, type RuntimeDeps } from '../runtime/index.js';
import { workflowsRoutes } from '../workflows/index.js';
import { secretsRoutes } from '../secrets/index.js';
import { billingDeps, billingRoutes, evalsRoutes, integrationAccessToken, integrationExists, integrationsDeps, integrationsRoutes, marketplaceRoutes, webhooksRoutes } from '../platform/index.js';
import { usageRoutes } from '../usage/index.js';
import { authenticate, checkCredentials, effectivePermissions, identityRoutes, rateHeaders, type IdentityDeps } from '../identity/index.js';
import { errorBody, handleClientError, makeErrorHandler } from './error-handler.js';
import { installJsonBodyParser } from './json-body.js';
import { createMetrics, type GaugeSource } from './metrics.js';
import './context.js';

export interface AppOptions {
  config: Config;
  identity: IdentityDeps;
  migrations: Migration[];
  bodyLimit: number;
  logger: Logger | false;
  version: string;
  /** the agent runtime; made here when absent (pass one to share it with the job worker's agent.run handler) */
  runtime?: RuntimeDeps;
  memory: MemoryModule;
  /** the service's own measurements (src/ops); off when absent */
  opsMetrics?: OpsMetrics;
  /** the built web console served at /console (null: not built; answers 503 console_not_built) */
  consoleAssets?: ConsoleAssets | null;
  /** the query cache the cost reports, the marketplace catalogue and campaign templates read through */
  cache?: QueryCache;
  /**
   * Sections of GET /v1/ops/overview that other modules own (cache, matviews,
   * replicas, …), by section name; a missing one renders null with a reason.
   */
  overviewSources?: Record<string, OverviewSource>;
  /** Gauges other modules add to /metrics, read on each scrape (cache hit ratio, matview staleness, replica lag, …). */
  metricGauges?: readonly GaugeSource[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const db: Database = opts.identity.db;
  const ops = opts.opsMetrics ?? createOpsMetrics({ db, config: { ...opts.config.opsMetrics, enabled: false }, version: opts.version });
  const errorHandler = makeErrorHandler(opts.bodyLimit, (err, req, answer) => ops.observeError(err, req, answer));
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: opts.bodyLimit,
    // Keep a caller's request id (for tracing across services) when it is sane; otherwise mint one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : uuidv7();
    },
    trustProxy: false,
    // Requests the HTTP parser refuses (bad framing, invalid headers, a
    // timeout) are answered in the one error shape too.
    clientErrorHandler: handleClientError,
    // A body that stops arriving (a Content-Length longer than what is sent)
    // ends in 408 instead of holding the connection open.
    requestTimeout: opts.config.http.requestTimeoutMs,
    http: {
      // Node answers a missing Host itself, in no shape of ours; the onRequest hook below does.
      requireHostHeader: false,
      // Node enforces requestTimeout only while headersTimeout is not longer,
      // and checks for timed-out requests on this interval (30 s by default).
      headersTimeout: Math.min(60_000, opts.config.http.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(opts.config.http.requestTimeoutMs / 2)),
    },
    // Errors Fastify raises before routing (an over-long path parameter, a
    // malformed URL) get the same error shape as everything else.
    frameworkErrors: (err, req, reply) => errorHandler(err, req, reply),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  // JSON bodies only: Fastify's built-in text/plain parser would hand a string to the schema.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app);
  app.setNotFoundHandler((req, reply) => {
    const e = new AppError(404, 'route_not_found', `no route ${req.method} ${req.url.split('?')[0]}; see GET /openapi.json`);
    void reply.status(404).send(errorBody(e, req.id));
  });

  const metrics = createMetrics(db, opts.metricGauges, (metric, err) => app.log.warn({ err, metric }, 'a /metrics gauge could not be read'));
  opts.cache?.onOutcome((outcome, read) => metrics.cacheRead(outcome, read));
  app.decorateRequest('principal', null);
  app.decorateRequest('permissions', null);

  // Statements and cache reads made for a request are recorded with its id, user and route (src/ops/metrics).
  // Body parsing loses the async context, so it is entered again before the handler.
  if (ops.linksRequests) {
    app.addHook('onRequest', (req, _reply, done) => ops.inRequest(req, () => done()));
    app.addHook('preHandler', (req, _reply, done) => ops.inRequest(req, () => done()));
  }
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      throw new AppError(400, 'bad_request', 'an HTTP/1.1 request needs a Host header');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    // A push onto an in-memory buffer; the database is written later, in batches.
    ops.observeRequest(req, reply);
  });

  // Authentication and the route's permission, in one place, before the body is
  // even parsed: an unauthenticated caller costs no parsing and learns nothing
  // about the body schema.
  app.addHook('onRequest', async (req, reply) => {
    const url = req.routeOptions.url;
    if (!url?.startsWith('/v1/')) return;
    const cfg = req.routeOptions.config;
    const mode = cfg.auth ?? 'required';
    const header = req.headers.authorization;
    if (mode === 'public') return;
    const auth = await authenticate(opts.identity, header);
    if (auth?.rate) void reply.headers(rateHeaders(auth.rate));
    if (!auth) {
      if (mode === 'optional') return;
      throw new AppError(401, 'unauthenticated', 'send Authorization: Bearer <access token or API key>');
    }
    req.principal = auth.principal;
    // On every route, not only permissioned ones: an access token outlives a
    // logout, and a key outlives its user's membership; this catches both.
    const held = await effectivePermissions(opts.identity, auth.principal);
    req.permissions = held;
    if (cfg.permission && !held.has(cfg.permission)) throw forbidden(cfg.permission);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agentbase',
        version: opts.version,
        description: 'The PostgreSQL-native system of record for multi-agent AI applications.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token (JWT) from /v1/auth/login, or an API key (ab_…)' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  // /health is /readyz plus what this installation can do (vector search
  // needs pgvector on the server; without it memories are searched by text).
  const ready = async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      await db.admin.query('SELECT 1');
      const s = await migrationStatus(db, opts.migrations);
      if (s.pending.length) {
        return reply.status(503).send({
          error: { code: 'not_ready', message: `migrations pending: ${s.pending.join(', ')}; run agentbase migrate`, requestId: req.id },
        });
      }
      return { status: 'ready', migration: s.current, database: db.kind, capabilities: { vectorSearch: opts.memory.vectors } };
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
      return reply.status(503).send({ error: { code: 'not_ready', message: 'the database is not reachable', requestId: req.id } });
    }
  };
  app.get('/readyz', { schema: { hide: true } }, ready);
  app.get('/health', { schema: { hide: true } }, ready);
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(consoleRoutes(opts.consoleAssets ?? null));
  await app.register(identityRoutes(opts.identity));
  await app.register(auditRoutes({ db }));
  const integrations = integrationsDeps(db, opts.identity.keys, opts.config.runtime);
  const runtime = opts.runtime ?? createRuntime({
    db, config: opts.config.runtime, keys: opts.identity.keys, memory: opts.memory, log: app.log,
    integrationToken: (orgId, id, host) => integrationAccessToken(integrations, orgId, id, { host }),
  });
  await app.register(agentRoutes({ db, builtinTools: new Set(runtime.builtins.names()), integrationExists }));
  await app.register(runsRoutes({ db, onIngested: (r) => metrics.ingested(r), planRefs: findPlanRefs, ...(opts.cache ? { cache: opts.cache } : {}) }));
  await app.register(usageRoutes({ db, costSince }));
  await app.register(reportsRoutes({ db }));
  await app.register(runtimeRoutes(runtime));
  await app.register(jobsRoutes({ db }));
  await app.register(workflowsRoutes({ db }));
  await app.register(notificationsRoutes({ db }));
  await app.register(secretsRoutes({ db, keys: opts.identity.keys }));
  await app.register(memoryRoutes(opts.memory));
  await app.register(planRoutes({ db, ...(opts.cache ? { cache: opts.cache } : {}) }));
  await app.register(billingRoutes(billingDeps(db, opts.config.billing)));
  await app.register(marketplaceRoutes({ db, builtinTools: new Set(runtime.builtins.names()), ...(opts.cache ? { cache: opts.cache } : {}) }));
  await app.register(evalsRoutes({ db }));
  await app.register(integrationsRoutes(integrations));
  await app.register(webhooksRoutes({ db, keys: opts.identity.keys, config: opts.config.webhooks }));
  await app.register(queriesRoutes({ db }));
  await app.register(overviewRoutes({
    db,
    sources: {
      requests: async () => metrics.recent.requests(),
      ingest: async () => metrics.recent.ingest(),
      ...opts.overviewSources,
    },
  }));
  await app.register(eraseRoutes({ db, stepUp: (userId, input) => checkCredentials(opts.identity, userId, input) }));
  await app.register(retentionRoutes({ db, config: opts.config.retention }));
  return app;
}
