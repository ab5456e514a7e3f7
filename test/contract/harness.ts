import { expect } from 'vitest'
import type { components } from './api'
import { type Client, type ContractTarget, clientFor, identifier, literal, PROBLEM } from './target'

/** What a 503 says when the database cannot be reached (SQLSTATE classes 08, 28, 3D, 53, 57P). */
export const UNAVAILABLE = 'the database is not available; retry shortly'

export type Note = components['schemas']['Note']
export type Problem = components['schemas']['Problem']

/** One answer the suite received, kept for the checks that span the whole run (documented statuses, headers). */
export interface Answer {
  method: string
  path: string
  status: number
  contentType: string | null
  requestId: string | null
  retryAfter: string | null
}

/**
 * What every contract test uses: the typed client and raw `fetch` (both recording each answer), SQL on the app's
 * database, and small helpers. `target` is resolved on use, since the suite's setup creates it after declaration.
 */
export class Contract {
  readonly answers: Answer[] = []
  #client: { target: ContractTarget; client: Client } | undefined

  constructor(private readonly current: () => ContractTarget) {}

  get target(): ContractTarget {
    return this.current()
  }

  /** The typed client generated from the document, for every request it can express. */
  get client(): Client {
    const target = this.target
    if (this.#client?.target !== target)
      this.#client = { target, client: clientFor(target, (request) => this.#send(request)) }
    return this.#client.client
  }

  /** A raw request, for what the typed client cannot express (malformed JSON, wrong types, odd headers). */
  fetch = (path: string, init?: RequestInit & { json?: unknown }): Promise<Response> => {
    const { json, ...rest } = init ?? {}
    const headers = new Headers(rest.headers)
    if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json')
    return this.#send(
      new Request(`${this.target.baseUrl}${path}`, {
        ...rest,
        headers,
        ...(json !== undefined && { body: JSON.stringify(json) }),
      }),
    )
  }

  sql = <Row = Record<string, unknown>>(query: string, options?: { database?: 'app' | 'postgres' }) =>
    this.target.sql<Row>(query, options)

  async #send(request: Request): Promise<Response> {
    const response = await fetch(request)
    this.answers.push({
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      contentType: response.headers.get('content-type'),
      requestId: response.headers.get('x-request-id'),
      retryAfter: response.headers.get('retry-after'),
    })
    return response
  }

  /** The operations the served document lists under `prefix`, as sorted `METHOD /path operationId` lines. */
  async operationsUnder(prefix: string): Promise<string[]> {
    const document = (await (await this.fetch('/openapi/json')).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>
    }
    return Object.entries(document.paths)
      .filter(([path]) => path === prefix || path.startsWith(`${prefix}/`))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
      )
      .sort()
  }

  /** Ends the app's connections (never our own), waiting for each to go, so the next request must reconnect. */
  terminateApp = () =>
    this.sql(
      `select count(pg_terminate_backend(pid, 5000)) from pg_stat_activity where usename = ${literal(this.target.database.role)} and pid <> pg_backend_pid()`,
      { database: 'postgres' },
    )

  /**
   * Runs `check` with a fault in place, then always restores it and waits until the API is ready and serves `path`
   * again, so the next test starts on a working API.
   */
  async withFault(
    inject: () => Promise<unknown>,
    restore: () => Promise<unknown>,
    check: () => Promise<void>,
    path = '/notes?limit=1',
  ): Promise<void> {
    try {
      await inject()
      await check()
    } finally {
      await restore()
      await eventually(async () => {
        expect((await this.fetch('/health/ready')).status).toBe(200)
        expect((await this.fetch(path)).status).toBe(200)
      }, 20)
    }
  }

  /** Runs `check` while the app's role cannot log in (28P01: its password is `wrong` meanwhile), so no query can run. */
  withDatabaseUnavailable(check: (wrong: string) => Promise<void>, path?: string): Promise<void> {
    const role = identifier(this.target.database.role)
    const wrong = `wrong-${marker()}`
    return this.withFault(
      async () => {
        await this.sql(`alter role ${role} password ${literal(wrong)}`)
        await this.terminateApp()
      },
      () => this.sql(`alter role ${role} password ${literal(this.target.database.password)}`),
      () => check(wrong),
      path,
    )
  }

  /** Creates a note through the API and returns it. */
  async createNote(title = `note ${crypto.randomUUID()}`, body?: string): Promise<Note> {
    const { data, response } = await this.client.POST('/notes', {
      body: { title, ...(body !== undefined && { body }) },
    })
    expect(response.status).toBe(201)
    return data as Note
  }

  /** What the database holds for a note: title, body and version, or nothing. */
  stored(id: string) {
    return this.sql<{ title: string; body: string; version: number }>(
      `select title, body, version from notes where id = ${literal(id)}`,
    )
  }

  async count(where = 'true'): Promise<number> {
    const [row] = await this.sql<{ n: number }>(`select count(*)::int as n from notes where ${where}`)
    return row?.n ?? 0
  }
}

/** A string no other test uses, for titles that a `q` filter finds again. */
export const marker = () => `m${crypto.randomUUID().replaceAll('-', '')}`

/** Asserts an RFC 9457 answer with `status` (a raw Response, or a typed client result) and returns its body. */
export async function expectProblem(
  answer: Response | { response: Response; error?: unknown },
  status: number,
): Promise<Problem> {
  const response = answer instanceof Response ? answer : answer.response
  const body = (
    answer instanceof Response ? await response.json().catch(() => undefined) : answer.error
  ) as Problem
  const contentType = response.headers.get('content-type')
  expect(
    { status: response.status, contentType },
    `expected ${status} problem+json, got: ${JSON.stringify(body)?.slice(0, 400)}`,
  ).toEqual({ status, contentType: PROBLEM })
  expect(body).toMatchObject({ type: 'about:blank', status, title: expect.any(String) })
  expect(body.requestId).toBe(response.headers.get('x-request-id'))
  expect(body.instance).toBe(new URL(response.url).pathname)
  return body
}

/** Asserts a 503 problem that says `detail` and when to retry; returns its body. */
export async function expectUnavailable(
  answer: Response | { response: Response; error?: unknown },
  retryAfter: string,
  detail: string,
): Promise<Problem> {
  const problem = await expectProblem(answer, 503)
  const response = answer instanceof Response ? answer : answer.response
  expect(response.headers.get('retry-after')).toBe(retryAfter)
  expect(problem.detail).toBe(detail)
  return problem
}

/** The fields a 422 names, as `in:field` pairs (once each: a field may fail more than one rule). */
export const invalidFields = (problem: Problem) => [
  ...new Set((problem.errors ?? []).map((error) => `${error.in}:${error.field}`)),
]

/** Retries `check` until it passes or `seconds` run out, then throws its last error. */
export async function eventually<T>(check: () => Promise<T>, seconds = 15): Promise<T> {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (performance.now() > deadline) throw error
      await Bun.sleep(100)
    }
  }
}

/** A stand-in id: a UUIDv7 no note has. */
export const MISSING_ID = '01900000-0000-7000-8000-000000000000'
