import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log'
import { createTestApp, plain } from '../helpers'
import { recordFigures } from './figures'

// Fixed seed: a failure found in CI replays the same way on a laptop.
const SEED = 20_261_126
const MIN_REQUESTS = 5_000
const BODY_LIMIT = 64 * 1024

const logLines: string[] = []
const t = await createTestApp({ log: createLogger('info', (line) => logLines.push(line)) })

type Schema = {
  type?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  pattern?: string
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  const?: unknown
}
interface Parameter {
  name: string
  in: 'path' | 'query' | 'header'
  required: boolean
  schema: Schema
}
interface Operation {
  method: string
  path: string
  parameters: Parameter[]
  body?: Schema
}

const doc = (await (await t.request('/openapi/json')).json()) as {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }
    >
  >
}
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    parameters: op.parameters ?? [],
    body: op.requestBody?.content['application/json']?.schema,
  })),
)

// Notes that exist, with the version the fuzzer last saw, so valid PATCH/DELETE requests can succeed.
const versions = new Map<string, number>()
for (let i = 0; i < 60; i++) {
  const response = await t.request('/notes', { method: 'POST', json: { title: `seed ${i}`, body: 'fuzz' } })
  const note = (await response.json()) as { id: string; version: number }
  versions.set(note.id, note.version)
}
const seededIds = [...versions.keys()]

/** Stands for "the current version of the note in the path", resolved when the request is sent. */
const CURRENT = Symbol('current version')

/** Elysia documents coerced numbers as anyOf [numeric string, integer]; the integer branch is the real one. */
const effective = (schema: Schema): Schema =>
  schema.anyOf ? { ...schema, ...(schema.anyOf.find((s) => s.type !== 'string') ?? schema.anyOf[0]) } : schema

const hostile = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '😀'.repeat(3),
  "' or 1=1 --",
  '"; drop table notes; --',
  '%',
  '_',
  '\\',
  '../../etc/passwd',
  // A Log4Shell-style lookup string, built so the linter does not read it as a template.
  ['$', '{jndi:ldap://127.0.0.1/x}'].join(''),
  '<script>alert(1)</script>',
  'null',
  '-1',
  '1e309',
  'x'.repeat(10_000),
)

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, -1, 0, 1.5, 2 ** 31, 2 ** 53, -(2 ** 63), [], {}, [[[[]]]]),
  hostile,
)

/** Valid values, boundary values just inside and outside each limit, and values of the wrong shape. */
function parameterValue(schema: Schema, name: string): fc.Arbitrary<unknown> {
  const s = effective(schema)
  const valid = validOf(s, name)
  return fc.oneof(
    { arbitrary: valid, weight: 5 },
    { arbitrary: boundaryOf(s), weight: 3 },
    { arbitrary: anyJson, weight: 2 },
  )
}

function validOf(s: Schema, name: string): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.type === 'integer') {
    const integer = fc.integer({ min: s.minimum ?? -(2 ** 31), max: s.maximum ?? 2 ** 31 - 1 })
    return name === 'version' ? fc.oneof(fc.constant(CURRENT), integer) : integer
  }
  if (s.type === 'number') return fc.double({ noNaN: true })
  if (s.type === 'boolean') return fc.boolean()
  if (s.type === 'string') {
    if (s.format === 'uuid')
      return name === 'id' ? fc.oneof(fc.constantFrom(...seededIds), fc.uuid()) : fc.uuid()
    const length = { minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 300, 300) }
    return fc.oneof(
      fc.string(length),
      fc.string({ ...length, unit: 'grapheme' }),
      fc.string({ ...length, unit: 'binary' }),
    )
  }
  if (s.type === 'object' && s.properties) {
    const properties = s.properties
    return fc.record(
      Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, validOf(effective(value), key)]),
      ),
      { requiredKeys: (s.required ?? []) as never[] },
    )
  }
  return anyJson
}

function boundaryOf(s: Schema): fc.Arbitrary<unknown> {
  if (s.type === 'integer' || s.type === 'number') {
    const edges = [0, -1, 1.5, 2 ** 31, 2 ** 53, Number.MAX_VALUE]
    if (s.minimum !== undefined) edges.push(s.minimum - 1, s.minimum)
    if (s.maximum !== undefined) edges.push(s.maximum, s.maximum + 1)
    return fc.constantFrom(...edges)
  }
  if (s.type === 'string') {
    const lengths = [0, 1]
    if (s.minLength !== undefined) lengths.push(Math.max(0, s.minLength - 1), s.minLength)
    if (s.maxLength !== undefined) lengths.push(s.maxLength, s.maxLength + 1)
    return fc
      .tuple(fc.constantFrom(...lengths), fc.constantFrom('a', 'é', '😀', '\u0000', '%'))
      .map(([n, c]) => c.repeat(n))
  }
  if (s.type === 'object' && s.properties) {
    // Every property at once, at its edges; or nothing at all.
    const properties = s.properties
    return fc.oneof(
      fc.record(
        Object.fromEntries(
          Object.keys(properties).map((k) => [k, boundaryOf(effective(properties[k] as Schema))]),
        ),
      ),
      fc.constant({}),
    )
  }
  return anyJson
}

/** The JSON body: valid, boundary or mutated objects, or raw text that is not JSON at all. */
function bodyOf(schema: Schema): fc.Arbitrary<{ text: string; contentType: string | undefined }> {
  const object = fc.oneof(
    { arbitrary: validOf(schema, 'body'), weight: 4 },
    { arbitrary: boundaryOf(schema), weight: 2 },
    {
      // One property replaced by a wrong-typed or hostile value, plus an unknown one.
      arbitrary: fc
        .tuple(
          validOf(schema, 'body'),
          fc.constantFrom(...Object.keys(schema.properties ?? { x: 0 })),
          anyJson,
        )
        .map(([value, key, bad]) => ({ ...(value as object), [key]: bad, extra: bad })),
      weight: 3,
    },
    { arbitrary: anyJson, weight: 1 },
  )
  const text = fc.oneof(
    { arbitrary: object.map((value) => JSON.stringify(value) ?? 'null'), weight: 8 },
    { arbitrary: object.map((value) => (JSON.stringify(value) ?? '{').slice(0, -1)), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
    { arbitrary: fc.constant(JSON.stringify({ title: 't', body: 'y'.repeat(BODY_LIMIT) })), weight: 1 },
  )
  const contentType = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 8 },
    {
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/merge-patch+json',
        'APPLICATION/JSON',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        undefined,
      ),
      weight: 2,
    },
  )
  return fc.record({ text, contentType })
}

const headerValue = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
  fc.constantFrom('"1"', 'W/"1"', '*', '"0"', '"1234567890"', '"-1"', '1'),
)

interface Generated {
  params: Record<string, unknown>
  body?: { text: string; contentType: string | undefined }
  requestId?: string
}

function requestOf(op: Operation): fc.Arbitrary<Generated> {
  const params = Object.fromEntries(
    op.parameters.map((p) => {
      const arbitrary =
        p.in === 'header'
          ? fc.oneof(
              fc.constant(CURRENT),
              fc.integer({ min: 1, max: 10 }).map((v) => `"${v}"`),
              headerValue,
            )
          : p.in === 'path'
            ? fc.oneof(
                { arbitrary: validOf(effective(p.schema), p.name), weight: 6 },
                { arbitrary: hostile, weight: 1 },
                { arbitrary: fc.string(), weight: 1 },
              )
            : parameterValue(p.schema, p.name)
      return [p.name, p.required && p.in === 'path' ? arbitrary : fc.option(arbitrary, { nil: undefined })]
    }),
  )
  return fc.record({
    params: fc.record(params),
    ...(op.body && { body: bodyOf(op.body) }),
    requestId: fc.option(headerValue, { nil: undefined }),
  })
}

function toRequest(op: Operation, { params, body, requestId }: Generated): Request {
  const id = typeof params.id === 'string' ? params.id : undefined
  const current = id === undefined ? undefined : versions.get(id)
  let path = op.path
  const query = new URLSearchParams()
  const headers = new Headers()
  for (const p of op.parameters) {
    let value = params[p.name]
    if (value === undefined) continue
    if (value === CURRENT) value = p.in === 'header' ? `"${current ?? 1}"` : (current ?? 1)
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(text.toWellFormed()))
    else if (p.in === 'query') query.append(p.name, text.toWellFormed())
    else headers.set(p.name, text)
  }
  if (requestId !== undefined) headers.set('x-request-id', requestId)
  let text = body?.text
  if (text?.includes('"version"') && current !== undefined)
    text = text.replace(/"version":\{\}/, `"version":${current}`)
  if (body?.contentType) headers.set('content-type', body.contentType)
  const search = query.size > 0 ? `?${query}` : ''
  return new Request(`http://localhost${path}${search}`, {
    method: op.method,
    headers,
    ...(text !== undefined && { body: text }),
  })
}

// Echoes of the request (path, id) are removed before looking for leaks: they are the caller's own text.
const LEAKS = [
  /\n\s+at\s/,
  /\.(ts|js|mjs):\d+/,
  /node_modules/,
  /\b(select|insert|update|delete)\b[^"]{0,80}\b(from|into|set|where)\b/i,
  /syntax error|violates|SQLSTATE|duplicate key|invalid byte sequence|relation "|column "|pg_advisory/i,
  /DriverException|PostgresError|TypeError|ReferenceError/,
]

const statuses: Record<string, Record<number, number>> = {}
let sent = 0
let clientErrors = 0
let clientErrorsAsProblem = 0
let serverErrors = 0
let leaks = 0

async function check(op: Operation, generated: Generated): Promise<void> {
  const request = toRequest(op, generated)
  const response = await t.app.handle(request)
  sent++
  const route = operations.includes(op) ? `${op.method} ${op.path}` : 'unknown routes'
  statuses[route] ??= {}
  ;(statuses[route] as Record<number, number>)[response.status] =
    ((statuses[route] as Record<number, number>)[response.status] ?? 0) + 1
  const text = await response.text()
  const where = `${request.method} ${request.url} → ${response.status}: ${text.slice(0, 300)}`
  if (response.status >= 500) serverErrors++
  expect(response.status, where).toBeLessThan(500)
  if (response.status >= 400) {
    clientErrors++
    expect(response.headers.get('content-type'), where).toBe('application/problem+json')
    const problem = JSON.parse(text) as Record<string, unknown>
    expect(problem, where).toMatchObject({ status: response.status, type: 'about:blank' })
    expect(typeof problem.title, where).toBe('string')
    clientErrorsAsProblem++
    const { instance: _instance, requestId: _requestId, ...rest } = problem
    const scanned = JSON.stringify(rest)
    const leak = LEAKS.find((pattern) => pattern.test(scanned))
    if (leak) leaks++
    expect(leak, where).toBeUndefined()
  }
  // Keep the known versions current, so later valid requests can change these notes again.
  if (response.status === 204) versions.delete(request.url.split('/').at(-1) as string)
  else if (response.ok && op.path.startsWith('/notes') && request.method !== 'GET') {
    const note = JSON.parse(text) as { id: string; version: number }
    versions.set(note.id, note.version)
  }
}

describe('fuzzing from the OpenAPI document', () => {
  it('documents a JSON request body schema for every operation that takes a body', () => {
    const withBody = operations.filter((op) => op.method === 'POST' || op.method === 'PATCH')
    expect(withBody.length).toBeGreaterThan(0)
    for (const op of withBody) expect(op.body?.type, `${op.method} ${op.path}`).toBe('object')
  })

  beforeAll(() => {
    expect(operations.length).toBeGreaterThanOrEqual(7)
  })

  const runsPerOperation = Math.ceil(MIN_REQUESTS / 7)

  for (const op of operations) {
    it(`${op.method} ${op.path}: ${runsPerOperation} generated requests, none ≥ 500, every 4xx problem+json without leaks`, async () => {
      await fc.assert(
        fc.asyncProperty(requestOf(op), (generated) => check(op, generated)),
        { seed: SEED, numRuns: runsPerOperation },
      )
    })
  }

  it('random methods and paths: no 5xx, every error problem+json', async () => {
    const segment = fc.oneof(
      hostile.map((text) => encodeURIComponent(text.toWellFormed())),
      fc.constantFrom('notes', 'health', 'openapi', '..', '%2e%2e', ''),
    )
    const unknown = fc.record({
      method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH'),
      path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
    })
    await fc.assert(
      fc.asyncProperty(unknown, async ({ method, path }) => {
        const op: Operation = { method, path, parameters: [] }
        await check(op, { params: {} })
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it(`sent at least ${MIN_REQUESTS} requests; the database holds only valid notes and no error was logged as unhandled`, async () => {
    expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS)
    const rows = plain(
      await t.sql`select count(*)::int as n,
        count(*) filter (where length(title) between 1 and 200 and version >= 1)::int as valid
        from notes`,
    )[0] as { n: number; valid: number }
    expect(rows.valid).toBe(rows.n)
    expect(rows.n).toBe(versions.size)
    const unhandled = logLines.filter((line) => line.includes('"unhandled error"'))
    expect(unhandled).toEqual([])
    recordFigures('fuzz', {
      seed: SEED,
      requests: sent,
      routes: Object.keys(statuses).length,
      serverErrors,
      clientErrors,
      clientErrorsAsProblem,
      problemShare: clientErrors === 0 ? 1 : clientErrorsAsProblem / clientErrors,
      leaks,
      statuses,
    })
  })
})
