import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError, badRequest, validationFailed } from '../../errors.js';
import { actor } from '../../http/context.js';
import type { RunsDeps } from '../deps.js';
import { admitIngest } from '../../usage/index.js';
import { ingestBatch, type IngestResult } from '../ingest-service.js';
import { INGEST_BODY_LIMIT, MAX_BATCH_ITEMS } from '../ingest-schemas.js';
import { OtlpShapeError, parseOtlpJson, type OtlpRequest } from '../otlp/otlp-json.js';
import { mapOtlp, type MappedBatch } from '../otlp/otlp-map.js';
import { decodeOtlpProto, encodeOtlpResponse, OtlpProtoError } from '../otlp/otlp-proto.js';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
/** How many rejection reasons errorMessage spells out; the count covers the rest. */
const MAX_REASONS = 5;

const gunzipAsync = promisify(gunzip);

const tooLarge = () =>
  new AppError(413, 'payload_too_large', `the request body is larger than the limit of ${INGEST_BODY_LIMIT} bytes (after decompression)`, {
    limitBytes: INGEST_BODY_LIMIT,
  });

const unsupported = () =>
  new AppError(415, 'unsupported_media_type', `send OTLP traces as ${PROTOBUF} or ${JSON_TYPE}, optionally with Content-Encoding: gzip`);

async function decompress(body: Buffer, encoding: string | string[] | undefined): Promise<Buffer> {
  const e = (Array.isArray(encoding) ? encoding.join(',') : encoding ?? 'identity').trim().toLowerCase();
  if (e === '' || e === 'identity') return body;
  if (e !== 'gzip' && e !== 'x-gzip') throw unsupported();
  try {
    // The limit applies to what the body expands to, so a small gzip bomb is a 413, not a full heap.
    return await gunzipAsync(body, { maxOutputLength: INGEST_BODY_LIMIT });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw badRequest(`the body is not valid gzip: ${(err as Error).message}`);
  }
}

function decode(body: Buffer, protobuf: boolean): OtlpRequest {
  try {
    return protobuf ? decodeOtlpProto(body) : parseOtlpJson(body);
  } catch (err) {
    if (err instanceof OtlpProtoError) {
      throw badRequest(`the body is not a protobuf ExportTraceServiceRequest: ${err.message}`);
    }
    if (err instanceof SyntaxError) throw new AppError(400, 'invalid_json', `the body is not valid JSON: ${err.message}`);
    if (err instanceof OtlpShapeError) {
      throw validationFailed(`the body is not an OTLP/JSON ExportTraceServiceRequest: ${err.message}`, [{ path: err.path, message: err.message }]);
    }
    throw err;
  }
}

/** Ingests in slices of at most MAX_BATCH_ITEMS, executions first, so every span's execution exists before it. */
async function ingest(deps: RunsDeps, who: ReturnType<typeof actor>, mapped: MappedBatch): Promise<IngestResult['results']> {
  const items = [
    ...mapped.body.executions.map((x) => ({ kind: 'executions' as const, x })),
    ...mapped.body.spans.map((x) => ({ kind: 'spans' as const, x })),
  ];
  const results: IngestResult['results'] = [];
  for (let i = 0; i < items.length; i += MAX_BATCH_ITEMS) {
    const slice = items.slice(i, i + MAX_BATCH_ITEMS);
    const body = {
      executions: slice.filter((s) => s.kind === 'executions').map((s) => s.x),
      spans: slice.filter((s) => s.kind === 'spans').map((s) => s.x),
    };
    const r = await ingestBatch(deps, who, body, { unknownAgents: 'keep', createOnly: mapped.createOnly });
    results.push(...r.results);
  }
  return results;
}

/** The partial success of OTLP: spans refused here or by ingestion, and a warning for a refused execution. */
function partialSuccess(mapped: MappedBatch, results: IngestResult['results']): { rejectedSpans: number; errorMessage: string } {
  const reasons = mapped.rejected.map((r) => `span ${r.clientId ?? '(invalid ids)'}: ${r.reason}`);
  let rejectedSpans = mapped.rejected.length;
  for (const r of results) {
    if (r.status !== 'rejected') continue;
    if (r.kind === 'span') rejectedSpans += 1;
    reasons.push(`${r.kind} ${r.clientId ?? ''}: ${r.error ?? 'rejected'}`);
  }
  if (!reasons.length) return { rejectedSpans, errorMessage: '' };
  const more = reasons.length > MAX_REASONS ? `; and ${reasons.length - MAX_REASONS} more` : '';
  return { rejectedSpans, errorMessage: `${reasons.slice(0, MAX_REASONS).join('; ')}${more}` };
}

/**
 * OTLP/HTTP trace ingest (POST /v1/otlp/v1/traces, so an exporter's endpoint
 * is <base>/v1/otlp). Answers in the encoding it was sent: an
 * ExportTraceServiceResponse whose partial_success counts the refused spans.
 */
export function otlpRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    // This plugin is encapsulated: its parsers replace the app's JSON parser for
    // these routes only, and hand over raw bytes (decompression and decoding follow).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser([PROTOBUF, JSON_TYPE], { parseAs: 'buffer', bodyLimit: INGEST_BODY_LIMIT }, (_req, body, done) => done(null, body));

    // The app-wide handler names the app's body limit and asks for JSON; these
    // two errors get this route's limit and media types, the rest go on to it.
    app.setErrorHandler((err: FastifyError, _req, _reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') throw tooLarge();
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') throw unsupported();
      throw err;
    });

    app.post('/v1/otlp/v1/traces', {
      bodyLimit: INGEST_BODY_LIMIT,
      config: { permission: 'executions:write' },
      schema: {
        tags: ['ingestion'],
        summary: `OTLP/HTTP trace export (${PROTOBUF} or ${JSON_TYPE}, gzip allowed): one execution per trace, one span per OTLP span, GenAI attributes mapped to llm, tool and agent spans`,
      },
    }, async (req, reply: FastifyReply) => {
      if (!Buffer.isBuffer(req.body)) throw unsupported();
      const protobuf = req.headers['content-type']?.toLowerCase().startsWith(PROTOBUF) ?? false;
      const raw = await decompress(req.body, req.headers['content-encoding']);
      const mapped = mapOtlp(decode(raw, protobuf));
      const who = actor(req);
      // The per-second limit counts the request's spans once, refused ones included (they were sent).
      await admitIngest(deps.db, who.orgId, mapped.body.spans.length + mapped.rejected.length);
      const results = mapped.body.spans.length ? await ingest(deps, who, mapped) : [];
      const { rejectedSpans, errorMessage } = partialSuccess(mapped, results);
      if (protobuf) {
        return reply.type(PROTOBUF).send(Buffer.from(encodeOtlpResponse(rejectedSpans, errorMessage)));
      }
      return rejectedSpans > 0 || errorMessage ? { partialSuccess: { rejectedSpans, errorMessage } } : {};
    });
  };
}
