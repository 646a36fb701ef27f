import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode, type Issue } from '../errors.js';
import { pgErrorCode, uuidv7 } from '../db/index.js';

/**
 * The one boundary where errors become answers. Everything a client can cause
 * — validation, framing, media types, sizes, and the PostgreSQL errors that
 * values from a request can raise — is a 4xx in the one shape
 * `{error: {code, message, details?, requestId}}`; anything else is a bug,
 * logged with the request id and answered 500 without internals.
 */

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: { params?: { errorCode?: unknown } };
}

/** Refinements that ask for their own code instead of validation_failed (see json-schemas.ts). */
const SPECIAL: Partial<Record<string, { status: number; code: ErrorCode }>> = {
  json_too_deep: { status: 400, code: 'json_too_deep' },
  payload_too_large: { status: 413, code: 'payload_too_large' },
};

function validationIssues(err: FastifyError & { validationContext?: string }): (Issue & { errorCode?: string })[] {
  const where = err.validationContext ?? 'body';
  return ((err.validation ?? []) as ValidationItem[]).map((v) => {
    const path = v.instancePath?.replace(/^\//, '').replaceAll('/', '.') ?? '';
    const errorCode = v.params?.params?.errorCode;
    return {
      path: path ? `${where}.${path}` : where,
      message: v.message ?? 'is invalid',
      ...(typeof errorCode === 'string' ? { errorCode } : {}),
    };
  });
}

/**
 * PostgreSQL errors a request's values can cause, by SQLSTATE. Class 22 (data
 * exception) as a whole is the client's: a value the database cannot take.
 */
function fromPg(code: string): AppError | undefined {
  switch (code) {
    case '23505':
      return new AppError(409, 'conflict', 'a record with the same unique value already exists');
    case '23503':
      return new AppError(409, 'conflict', 'a record this refers to does not exist (or was deleted meanwhile)');
    case '23502':
      return new AppError(400, 'validation_failed', 'a required value is missing');
    case '23514':
      return new AppError(400, 'validation_failed', 'a value is outside what the field allows');
    case '23P01':
      return new AppError(409, 'conflict', 'the request overlaps an existing record');
    case '40001':
    case '40P01':
      return new AppError(409, 'conflict', 'the request collided with a concurrent change; retry it');
    case '54000':
      return new AppError(413, 'payload_too_large', 'a value is too large to store or index; send a smaller one');
    case '22001':
      return new AppError(400, 'validation_failed', 'a value is longer than its field allows');
    case '22003':
      return new AppError(400, 'validation_failed', 'a number is out of range for its field');
    case '22008':
    case '22009':
      return new AppError(400, 'validation_failed', 'a date or time is out of range (PostgreSQL stores 4713 BC to 294276 AD)');
    case '22021':
    case '22P05':
      return new AppError(400, 'validation_failed', 'a text value contains a character PostgreSQL cannot store (such as \\u0000)');
    case '22P02':
    case '22007':
      return new AppError(400, 'bad_request', 'a value has the wrong format for its field');
  }
  if (code.startsWith('22')) return new AppError(400, 'bad_request', `a value cannot be used for its field (SQLSTATE ${code})`);
  return undefined;
}

/** Turns anything thrown into the one error shape. Unknown errors become 500 without internals. */
export function toAppError(err: unknown, bodyLimit: number): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e?.validation) {
    const issues = validationIssues(e);
    const special = issues.find((i) => i.errorCode && SPECIAL[i.errorCode]);
    const first = special ?? issues[0];
    const plain = issues.map(({ path, message }) => ({ path, message }));
    if (special) {
      const s = SPECIAL[special.errorCode!]!;
      return new AppError(s.status, s.code, `${special.path}: ${special.message}`, { field: special.path, issues: plain });
    }
    return new AppError(400, 'validation_failed', first ? `${first.path}: ${first.message}` : 'the request is invalid', { issues: plain });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', `the request body is larger than the limit of ${bodyLimit} bytes`, {
        limitBytes: bodyLimit,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
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
  const pg = pgErrorCode(err);
  const mapped = pg ? fromPg(pg) : undefined;
  if (mapped) return mapped;
  if (e?.statusCode === 414) {
    return new AppError(414, 'bad_request', 'a path segment is longer than 100 characters');
  }
  // Stream errors while reading a body (the client went away, a framing error mid-body).
  if (e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new AppError(400, 'bad_request', 'the request body ended before it was complete');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode, 'bad_request', e.message);
  }
  return new AppError(500, 'internal', 'internal error; the request id identifies it in the server log');
}

export function errorBody(e: AppError, requestId: string) {
  return { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }), requestId } };
}

/** Told of every 5xx answered (the operational error log, src/ops): must not throw or wait. */
export type ServerErrorObserver = (err: unknown, req: FastifyRequest, answer: { status: number; code: string }) => void;

export function makeErrorHandler(bodyLimit: number, onServerError?: ServerErrorObserver) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    // A route may raise the app's limit (ingestion takes 16 MiB): report the one that applied.
    const e = toAppError(err, req.routeOptions?.bodyLimit ?? bodyLimit);
    if (e.status >= 500) {
      req.log.error({ err }, 'request failed');
      // Buffered, not written here: recording an error must not add to (or fail) the answer.
      try {
        onServerError?.(err, req, { status: e.status, code: e.code });
      } catch (observerErr) {
        req.log.warn({ err: observerErr }, 'the error could not be recorded');
      }
    }
    if (e.headers) void reply.headers(e.headers);
    // Errors raised before the onRequest hooks (a malformed URL) carry the id too.
    void reply.header('x-request-id', req.id);
    void reply.status(e.status).send(errorBody(e, req.id));
  };
}

/** What Node's HTTP parser refuses before there is a request, by its error code. */
function clientError(err: NodeJS.ErrnoException): AppError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new AppError(408, 'request_timeout', 'the request was not received in time; send it again');
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new AppError(431, 'headers_too_large', 'the request headers are larger than the server accepts (16 KiB)');
  }
  const why = (err as { reason?: unknown }).reason;
  const reason = typeof why === 'string' ? `: ${why}` : '';
  return new AppError(400, 'bad_request', `the request is not well-formed HTTP/1.1${reason}`);
}

/**
 * Fastify's clientErrorHandler: a request Node's parser refused (bad framing,
 * an invalid header, a Content-Length that is not a number, a timeout) is
 * answered in our shape too, with a request id of its own, and the
 * connection closed (after a framing error the byte stream cannot be trusted).
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = clientError(err);
  const id = uuidv7();
  const body = JSON.stringify(errorBody(e, id));
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\n` +
      `Connection: close\r\nContent-Type: application/json; charset=utf-8\r\nx-request-id: ${id}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
