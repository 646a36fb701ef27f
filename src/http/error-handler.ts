import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type Issue } from '../errors.js';
import { pgErrorCode } from '../db/index.js';

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: { issue?: { path?: (string | number)[] } };
}

function validationIssues(err: FastifyError & { validationContext?: string }): Issue[] {
  const where = err.validationContext ?? 'body';
  return ((err.validation ?? []) as ValidationItem[]).map((v) => {
    const path = v.params?.issue?.path?.join('.') ?? v.instancePath?.replace(/^\//, '').replaceAll('/', '.') ?? '';
    return { path: path ? `${where}.${path}` : where, message: v.message ?? 'is invalid' };
  });
}

/** Turns anything thrown into the one error shape. Unknown errors become 500 without internals. */
export function toAppError(err: unknown, bodyLimit: number): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e?.validation) {
    const issues = validationIssues(e);
    const first = issues[0];
    return new AppError(
      400,
      'validation_failed',
      first ? `${first.path}: ${first.message}` : 'the request is invalid',
      { issues },
    );
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', `the request body is larger than the limit of ${bodyLimit} bytes`, {
        limitBytes: bodyLimit,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(415, 'unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError(400, 'invalid_json', 'the body is empty but Content-Type says application/json; send a JSON object or drop the header');
    case 'FST_ERR_BAD_URL':
      return new AppError(400, 'bad_request', 'the URL is malformed');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(400, 'bad_request', 'Content-Length does not match the body');
  }
  if (e instanceof SyntaxError || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AppError(400, 'invalid_json', `the body is not valid JSON: ${e.message}`);
  }
  switch (pgErrorCode(err)) {
    case '22P02':
    case '22007':
    case '22008':
      return new AppError(400, 'bad_request', 'a value has the wrong format for its field');
    case '23514':
      return new AppError(400, 'validation_failed', 'a value is outside what the field allows');
    case '22001':
      return new AppError(400, 'validation_failed', 'a value is longer than its field allows');
    case '22003':
      return new AppError(400, 'validation_failed', 'a number is out of range for its field');
    case '22021':
    case '22P05':
      return new AppError(400, 'validation_failed', 'a text value contains a character PostgreSQL cannot store (such as \\u0000)');
    case '23505':
      return new AppError(409, 'conflict', 'a record with the same unique value already exists');
    case '40001':
    case '40P01':
      return new AppError(409, 'conflict', 'the request collided with a concurrent change; retry it');
  }
  if (e?.statusCode === 414) {
    return new AppError(414, 'bad_request', 'a path segment is longer than 100 characters');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode, 'bad_request', e.message);
  }
  return new AppError(500, 'internal', 'internal error; the request id identifies it in the server log');
}

export function makeErrorHandler(bodyLimit: number) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    // A route may raise the app's limit (ingestion takes 16 MiB): report the one that applied.
    const e = toAppError(err, req.routeOptions?.bodyLimit ?? bodyLimit);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    if (e.headers) void reply.headers(e.headers);
    void reply.status(e.status).send({
      error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }), requestId: req.id },
    });
  };
}
