// The one mapping from errors to HTTP answers: ours → their code, framework 4xx → as is, unknown → logged 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodes, isAppError, type ErrorCode } from '../errors/index.js';
import { isDatabaseUnavailable } from '../storage/db.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

/** Answers with a catalogued code, its status from the one table in src/errors, and a message for the client. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, field?: string): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...(field ? { field } : {}) } };
  return reply.status(errorCodes[code]).send(body);
}

/** Fastify's own client errors (bad JSON, body too large, wrong content type), with messages a client can act on. */
const frameworkMessages: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Content-Type must be application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Request body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
};

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isAppError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, error.message);
    return sendError(reply, error.code, error.userMessage, error.field);
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const message = frameworkMessages[error.code] ?? (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError ? 'Request body is not valid JSON' : error.message);
    const code: ErrorCode = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    // Other 4xx statuses from the framework keep their own status; the code says what kind they are.
    return reply.status(status).send({ error: { code, message } } satisfies ErrorBody);
  }
  if (isDatabaseUnavailable(error)) {
    request.log.error({ err: error }, 'database unavailable');
    return sendError(reply.header('retry-after', '5'), 'DATABASE_UNAVAILABLE', 'The database is not answering; try again shortly');
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 'INTERNAL', 'Internal server error');
}
