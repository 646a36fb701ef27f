import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Asset, ConsoleAssets } from './console-assets.js';

/**
 * Scripts, styles and connections from this origin only; nothing inline, no
 * plugins, no framing. Every user-supplied string (names, prompts, outputs)
 * is rendered as text by the components, and this policy is the second line:
 * an injected inline handler or script would not run.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  void reply.headers({
    ...SECURITY_HEADERS,
    'content-type': a.type,
    etag: a.etag,
    // The page names the current hashed assets, so it is always revalidated; hashed files never change.
    'cache-control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.headers['if-none-match'] === a.etag) return reply.status(304).send();
  return reply.send(a.body);
}

/**
 * GET /console/… : the web console (issue 16), the same process and origin as
 * the API it calls. A path with an extension is a file (404 when it is not
 * one of the built files); any other path is a page of the app, answered with
 * index.html so a reload or a shared link lands on it.
 */
export function consoleRoutes(assets: ConsoleAssets | null): FastifyPluginAsync {
  return async (app) => {
    // Not API: kept out of the OpenAPI document.
    app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 302));
    app.get('/console/*', { schema: { hide: true } }, async (req, reply) => {
      if (!assets) {
        throw new AppError(503, 'console_not_built', 'the console has not been built in this checkout: run npm run build (an installed package carries it built)');
      }
      const path = (req.params as { '*': string })['*'];
      const file = assets.files.get(path);
      if (file) return send(req, reply, file);
      if (/\.[a-z0-9]+$/i.test(path)) throw new AppError(404, 'route_not_found', `no console file ${path}`);
      return send(req, reply, assets.index);
    });
  };
}
