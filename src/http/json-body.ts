import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { MAX_BODY_DEPTH, pathText, scanJsonText } from './json-limits.js';

/**
 * The application/json body parser: Fastify's own (which refuses
 * __proto__/constructor poisoning), behind two checks that must come before
 * any parsing:
 * - the body is not compressed (only the OTLP route decompresses; a gzip body
 *   read as JSON would only be reported as "not valid JSON");
 * - the body nests at most MAX_BODY_DEPTH levels: past that the request is
 *   refused, naming where, before anything recursive can walk it.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req: FastifyRequest, body: string | Buffer, done) => {
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      done(new AppError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not accepted here; send the JSON body uncompressed`), undefined);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const deep = scanJsonText(text, MAX_BODY_DEPTH);
    if (deep) {
      const where = `body.${pathText(deep.path)}`;
      done(new AppError(400, 'json_too_deep', `${where}: the body is nested deeper than ${MAX_BODY_DEPTH} levels`, {
        field: `body.${String(deep.path[0] ?? '')}`,
        maxDepth: MAX_BODY_DEPTH,
      }), undefined);
      return;
    }
    parseJson(req, text, done);
  });
}
