import { ConnectionException, OptimisticLockError } from '@mikro-orm/core'
import { Elysia, ParseError, t, ValidationError } from 'elysia'
import type { Logger } from './log'

/** Errors the domain raises; services know nothing about HTTP, the handler below maps them. */
export class NotFound extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} does not exist`)
  }
}

export class VersionConflict extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
    readonly expected: number,
    readonly current: number | undefined,
  ) {
    super(
      current === undefined
        ? `${entity} ${id} was changed by someone else while saving version ${expected}`
        : `${entity} ${id} is at version ${current}, not ${expected}`,
    )
  }
}

export class VersionRequired extends Error {
  constructor(readonly entity: string) {
    super(`changing a ${entity} needs its current version: send If-Match: "<version>" (from the ETag)`)
  }
}

export class InvalidInput extends Error {
  constructor(
    readonly location: 'body' | 'query' | 'headers' | 'params',
    readonly field: string,
    reason: string,
  ) {
    super(reason)
  }
}

/** Raised by the request plumbing before any handler runs. */
export class PayloadTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`)
  }
}

export class UnsupportedMediaType extends Error {
  constructor(readonly contentType: string) {
    super(`expected Content-Type application/json, got ${contentType ? `"${contentType}"` : 'none'}`)
  }
}

export class DatabaseNotReady extends Error {}

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

const problem = (
  status: number,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
): Problem => ({
  type: 'about:blank',
  title,
  status,
  ...(detail === undefined ? {} : { detail }),
  ...extensions,
})

/**
 * Field-level reasons only: the rejected values are never echoed, since they may be secrets.
 * Elysia checks coerced query numbers one by one ("property") without naming the key, so it is recovered
 * from the query string by the rejected value.
 */
function validationErrors(error: ValidationError, url: URL) {
  const location = error.type === 'property' ? 'query' : error.type
  return error.all.map((issue) => {
    const key = issue.path || [...url.searchParams].find(([, value]) => value === String(issue.value))?.[0]
    return {
      in: location,
      field: issue.path || (key ? `/${key}` : '/'),
      // `summary` quotes the rejected value; `message` only says what was expected.
      message: issue.message,
    }
  })
}

const SOCKET_ERROR = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|EAI_AGAIN)$/
/** node-postgres' own messages for a connection lost mid-query or never made. */
const LOST_CONNECTION =
  /connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/i

/**
 * Socket-level failures and SQLSTATE classes 08 (connection) and 57P (server shutting down). 08P01 (protocol
 * violation) is excluded: a request can provoke it, and a retry would only fail the same way.
 */
function isDatabaseUnreachable(error: unknown): boolean {
  if (error instanceof ConnectionException) return true
  if (!(error instanceof Error)) return false
  // When the database dies or its host stops resolving, node-postgres errors (with SQLSTATE or socket codes)
  // can arrive unwrapped by the ORM, e.g. 57P01 'terminating connection due to unexpected postmaster exit'.
  const code = String((error as { code?: unknown }).code ?? '')
  return SOCKET_ERROR.test(code) || LOST_CONNECTION.test(error.message) || /^(08(?!P01)|57P)/.test(code)
}

/** Maps any thrown value to an RFC 9457 body; `undefined` means unexpected (a 500 with nothing leaked). */
export function toProblem(error: unknown, code: unknown, url: URL): Problem | undefined {
  const cause = error instanceof ParseError && error.cause ? error.cause : error
  if (cause instanceof PayloadTooLarge)
    return problem(413, 'Payload Too Large', cause.message, { limit: cause.limit })
  if (cause instanceof UnsupportedMediaType) return problem(415, 'Unsupported Media Type', cause.message)
  if (error instanceof ParseError) return problem(400, 'Bad Request', 'the request body is not valid JSON')
  if (error instanceof ValidationError) {
    const errors = validationErrors(error, url)
    return problem(422, 'Unprocessable Content', `the request ${errors[0]?.in ?? error.type} is invalid`, {
      errors,
    })
  }
  if (error instanceof InvalidInput) {
    return problem(422, 'Unprocessable Content', `the request ${error.location} is invalid`, {
      errors: [{ in: error.location, field: error.field, message: error.message }],
    })
  }
  if (code === 'NOT_FOUND') return problem(404, 'Not Found', 'no route matches this method and path')
  if (error instanceof NotFound) return problem(404, 'Not Found', error.message)
  if (error instanceof VersionConflict) {
    return problem(409, 'Conflict', error.message, { currentVersion: error.current })
  }
  if (error instanceof OptimisticLockError)
    return problem(409, 'Conflict', 'the resource was changed concurrently')
  if (error instanceof VersionRequired) return problem(428, 'Precondition Required', error.message)
  if (error instanceof DatabaseNotReady) return problem(503, 'Service Unavailable', error.message)
  if (isDatabaseUnreachable(error)) {
    return problem(503, 'Service Unavailable', 'the database is not reachable; retry shortly')
  }
  return undefined
}

export function problemResponse(body: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
  })
}

/** The one error handler: registered before the modules so that it sees all of their errors. */
export const errorHandler = (log: Logger) =>
  new Elysia().onError({ as: 'global' }, ({ error, code, request, set }) => {
    const requestId = String(set.headers['x-request-id'] ?? '')
    const url = new URL(request.url)
    const instance = url.pathname
    const known = toProblem(error, code, url)
    if (!known) {
      log.error('unhandled error', {
        requestId,
        path: instance,
        error:
          error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : error,
      })
    }
    const body =
      known ?? problem(500, 'Internal Server Error', `unexpected error; quote request id ${requestId}`)
    set.status = body.status
    if (body.status === 503) set.headers['retry-after'] = '5'
    return problemResponse({ ...body, instance, requestId }, set.headers as Record<string, string>)
  })

/** The OpenAPI shape of every error body. */
export const ProblemSchema = t.Object(
  {
    type: t.String({ description: 'Problem type URI; about:blank means the title says it all' }),
    title: t.String(),
    status: t.Integer(),
    detail: t.Optional(t.String()),
    instance: t.Optional(t.String({ description: 'Request path' })),
    requestId: t.Optional(t.String({ description: 'Quote it when reporting a problem' })),
    errors: t.Optional(
      t.Array(
        t.Object({ in: t.String(), field: t.String({ description: 'JSON pointer' }), message: t.String() }),
      ),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
)
