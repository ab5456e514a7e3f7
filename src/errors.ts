import { ConnectionException, OptimisticLockError } from '@mikro-orm/core'
import { Elysia, ParseError, ValidationError } from 'elysia'
import type { Logger } from './log'

/** Errors the domain raises; services know nothing about HTTP, the handler below maps them. */
export class DomainError extends Error {
  constructor(message: string) {
    super(message)
    // Logs and stack traces name the concrete class (the bundle keeps class names).
    this.name = new.target.name
  }
}

export class NotFound extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} does not exist`)
  }
}

/** A change made under a version that is no longer the current one; `current` is undefined when a writer won a race. */
export abstract class VersionMismatch extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
    readonly current: number | undefined,
    named: string,
  ) {
    super(
      current === undefined
        ? `${entity} ${id} was changed by someone else while saving`
        : `${entity} ${id} is at version ${current}, ${named}`,
    )
  }
}

/** The caller named a version (in the data it sent) that is no longer the current one. */
export class VersionConflict extends VersionMismatch {
  constructor(entity: string, id: string, current: number | undefined) {
    super(entity, id, current, 'not the one given')
  }
}

/** The caller's precondition on the current version (e.g. a conditional request) does not hold. */
export class PreconditionFailed extends VersionMismatch {
  constructor(entity: string, id: string, current: number | undefined) {
    super(entity, id, current, 'which the precondition does not name')
  }
}

export class VersionRequired extends DomainError {
  constructor(readonly entity: string) {
    super(`changing the ${entity} needs its current version`)
  }
}

/** A change that names none of the fields it could change. */
export class NothingToChange extends DomainError {
  constructor(readonly fields: string[]) {
    super(`expected at least one of ${fields.join(', ')}`)
  }
}

export class InvalidCursor extends DomainError {
  constructor() {
    super('expected a nextCursor returned by this API')
  }
}

export class DatabaseNotReady extends DomainError {}

/** Raised by the request plumbing before any handler runs. */
export class PayloadTooLarge extends DomainError {
  constructor(readonly limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`)
  }
}

export class UnsupportedMediaType extends DomainError {
  constructor(readonly contentType: string) {
    super(
      `expected Content-Type application/json in UTF-8, got ${contentType ? `"${contentType.slice(0, 100)}"` : 'none'}`,
    )
  }
}

/** A field the request got wrong in a way its schema cannot express (e.g. a malformed If-Match). */
export class InvalidRequest extends DomainError {
  constructor(
    readonly location: 'body' | 'query' | 'headers' | 'params',
    readonly field: string,
    reason: string,
  ) {
    super(reason)
  }
}

export class MethodNotAllowed extends DomainError {
  constructor(
    readonly method: string,
    readonly allowed: string[],
  ) {
    super(`${method} is not supported here; allowed: ${allowed.join(', ')}`)
  }
}

export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  requestId?: string
  [extension: string]: unknown
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** An RFC 9457 body plus the headers that belong with it (Allow, Retry-After). */
export interface ProblemAnswer {
  problem: Problem
  headers?: Record<string, string>
}

const answer = (
  status: number,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
  headers?: Record<string, string>,
): ProblemAnswer => ({
  problem: { type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }), ...extensions },
  ...(headers && { headers }),
})

/**
 * Field-level reasons only: the rejected values are never echoed, since they may be secrets.
 * Elysia reports a failing non-object body without a path; the body root is then named.
 */
function validationErrors(error: ValidationError) {
  return error.all.map((issue) => ({
    in: error.type,
    field: issue.path || '/',
    // `summary` quotes the rejected value; `message` only says what was expected.
    message: issue.message,
  }))
}

const SOCKET_ERROR = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|EAI_AGAIN)$/
/** node-postgres' own messages for a connection lost mid-query or never made. */
const LOST_CONNECTION =
  /connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/i

/**
 * SQLSTATEs that say "not now" rather than "not this request", with what the client should do.
 * 08 connection (08P01, a protocol violation a request can provoke, excluded), 28 authentication, 3D000 no such
 * database, 53 out of resources (connection limit, memory, disk), 57P shutdown: the database is unavailable.
 * 40001 serialization failure, 40P01 deadlock, 55P03 lock timeout: the transaction lost to a concurrent one.
 * 57014 statement timeout or cancel: the database did not answer in time.
 */
const UNAVAILABLE: { code: RegExp; detail: string; retryAfterSeconds: number }[] = [
  {
    code: /^(08(?!P01)|28|3D000|53|57P)/,
    detail: 'the database is not available; retry shortly',
    retryAfterSeconds: 5,
  },
  {
    code: /^(40001|40P01|55P03)$/,
    detail: 'the change collided with a concurrent one and was not applied; retry it',
    retryAfterSeconds: 1,
  },
  { code: /^57014$/, detail: 'the database did not answer in time; retry shortly', retryAfterSeconds: 5 },
]

/** How a database failure looks to a client (503 and when to retry), or undefined if it is not one. */
function databaseUnavailable(error: unknown): { detail: string; retryAfterSeconds: number } | undefined {
  if (!(error instanceof Error)) return undefined
  // node-postgres errors (SQLSTATE or socket codes) can arrive unwrapped by the ORM when a connection dies.
  const code = String((error as { code?: unknown }).code ?? '')
  const known = UNAVAILABLE.find((entry) => entry.code.test(code))
  if (known) return known
  if (error instanceof ConnectionException || SOCKET_ERROR.test(code) || LOST_CONNECTION.test(error.message))
    return UNAVAILABLE[0]
  return undefined
}

/** Maps any thrown value to an RFC 9457 answer; `undefined` means unexpected (a 500 with nothing leaked). */
export function toProblem(error: unknown, code: unknown): ProblemAnswer | undefined {
  const cause = error instanceof ParseError && error.cause ? error.cause : error
  if (cause instanceof PayloadTooLarge)
    return answer(413, 'Payload Too Large', cause.message, { limit: cause.limit })
  if (cause instanceof UnsupportedMediaType) return answer(415, 'Unsupported Media Type', cause.message)
  if (cause instanceof InvalidRequest) {
    return answer(422, 'Unprocessable Content', `the request ${cause.location} is invalid`, {
      errors: [{ in: cause.location, field: cause.field, message: cause.message }],
    })
  }
  if (error instanceof ParseError) return answer(400, 'Bad Request', 'the request body is not valid JSON')
  // A response that fails its own schema is the server's fault: a 500, logged.
  if (error instanceof ValidationError && error.type !== 'response') {
    const errors = validationErrors(error)
    return answer(422, 'Unprocessable Content', `the request ${error.type} is invalid`, { errors })
  }
  if (error instanceof NothingToChange) {
    return answer(422, 'Unprocessable Content', 'the request body is invalid', {
      errors: [{ in: 'body', field: '/', message: error.message }],
    })
  }
  if (error instanceof InvalidCursor) {
    return answer(422, 'Unprocessable Content', 'the request query is invalid', {
      errors: [{ in: 'query', field: '/cursor', message: error.message }],
    })
  }
  if (error instanceof MethodNotAllowed)
    return answer(405, 'Method Not Allowed', error.message, {}, { allow: error.allowed.join(', ') })
  if (code === 'NOT_FOUND') return answer(404, 'Not Found', 'no route matches this path')
  if (error instanceof NotFound) return answer(404, 'Not Found', error.message)
  if (error instanceof VersionConflict)
    return answer(409, 'Conflict', error.message, { currentVersion: error.current })
  if (error instanceof OptimisticLockError)
    return answer(409, 'Conflict', 'the resource was changed concurrently')
  if (error instanceof PreconditionFailed)
    return answer(412, 'Precondition Failed', error.message, { currentVersion: error.current })
  if (error instanceof VersionRequired) {
    return answer(
      428,
      'Precondition Required',
      `${error.message}: send If-Match: "<version>" (the ETag); a PATCH may send body.version instead`,
    )
  }
  if (error instanceof DatabaseNotReady)
    return answer(503, 'Service Unavailable', error.message, {}, { 'retry-after': '5' })
  const unavailable = databaseUnavailable(error)
  if (unavailable) {
    return answer(
      503,
      'Service Unavailable',
      unavailable.detail,
      {},
      {
        'retry-after': String(unavailable.retryAfterSeconds),
      },
    )
  }
  return undefined
}

export function problemResponse(body: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
  })
}

/**
 * What the log says about an unexpected error. A response that fails its own schema is named by class and paths
 * only: Elysia's message would carry the whole response, stored data included.
 */
function describeError(error: unknown) {
  if (error instanceof ValidationError) {
    const errors = error.all.map(({ path, message }) => ({ path, message }))
    return { name: error.constructor.name, on: error.type, errors }
  }
  if (!(error instanceof Error)) return error
  // Libraries' error classes often leave `name` as plain 'Error'; the class name says more.
  const name = error.name === 'Error' ? error.constructor.name : error.name
  return { name, message: error.message, stack: error.stack }
}

/**
 * The one error handler: registered before the modules so that it sees all of their errors. `wrongMethod` tells
 * an unknown path (404) from a known path asked with a method it does not take (405).
 */
export const errorHandler = (
  log: Logger,
  wrongMethod: (method: string, path: string) => MethodNotAllowed | undefined = () => undefined,
) =>
  new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, ({ error, code, request, set }) => {
    const requestId = String(set.headers['x-request-id'] ?? '')
    const instance = new URL(request.url).pathname
    const known = toProblem((code === 'NOT_FOUND' && wrongMethod(request.method, instance)) || error, code)
    if (!known) log.error('unhandled error', { requestId, path: instance, error: describeError(error) })
    const { problem, headers = {} } =
      known ?? answer(500, 'Internal Server Error', `unexpected error; quote request id ${requestId}`)
    set.status = problem.status
    Object.assign(set.headers, headers)
    return problemResponse({ ...problem, instance, requestId }, set.headers as Record<string, string>)
  })
