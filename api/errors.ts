// The one HTTP error of the API and the handler that answers every error with the same body:
// { statusCode, error, message }. Validation errors and errors of Fastify plugins carry statusCode too.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests',
};

/** Fastify's error handler: 4xx with their message, 5xx logged and answered without details. */
export function answerError(err: Pick<FastifyError, 'message'> & { statusCode?: number | undefined }, req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode ?? 500;
  if (status >= 500) req.log.error({ err }, 'request failed');
  const error = STATUS_TEXT[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
  return reply.code(status).send({ statusCode: status, error, message: status >= 500 ? 'internal error; see the server log' : err.message });
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs fn and turns the domain errors listed into HTTP errors with their message, e.g. a RangeError from a
 * settings check into 400, a ConflictError from the registry into 409; other errors pass unchanged.
 */
export async function httpErrors<T>(fn: () => T | Promise<T>, statuses: ReadonlyArray<readonly [ErrorClass, number]>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const hit = statuses.find(([cls]) => err instanceof cls);
    if (hit) throw new HttpError(hit[1], (err as Error).message);
    throw err;
  }
}
