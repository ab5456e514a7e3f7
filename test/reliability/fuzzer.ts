import fc from 'fast-check'
import type { ContractTarget } from '../contract/target'
import { type Document, documentOracle, type Operation, type Schema } from './oracle'

// Fixed seed: a failure found in CI replays the same way on a laptop.
export const SEED = 20_261_126

export const hostile = fc.constantFrom(
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

/** Stands for "the current version of the note in the path", resolved when the request is sent. */
const CURRENT = Symbol('current version')

/** Builds requests for one document, remembering which notes exist and their versions. */
class Generator {
  readonly versions = new Map<string, number>()

  constructor(readonly bodyLimit: number) {}

  /** Valid values, boundary values just inside and outside each limit, and values of the wrong shape. */
  parameterValue(schema: Schema, name: string): fc.Arbitrary<unknown> {
    return fc.oneof(
      { arbitrary: this.validOf(schema, name), weight: 5 },
      { arbitrary: this.boundaryOf(schema), weight: 3 },
      { arbitrary: anyJson, weight: 2 },
    )
  }

  validOf(s: Schema, name: string): fc.Arbitrary<unknown> {
    if (s.const !== undefined) return fc.constant(s.const)
    if (s.type === 'integer') {
      const integer = fc.integer({ min: s.minimum ?? -(2 ** 31), max: s.maximum ?? 2 ** 31 - 1 })
      return name === 'version' ? fc.oneof(fc.constant(CURRENT), integer) : integer
    }
    if (s.type === 'number') return fc.double({ noNaN: true })
    if (s.type === 'boolean') return fc.boolean()
    if (s.type === 'string') {
      if (s.format === 'uuid') {
        const known = [...this.versions.keys()]
        return name === 'id' && known.length > 0 ? fc.oneof(fc.constantFrom(...known), fc.uuid()) : fc.uuid()
      }
      const length = { minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 300, 300) }
      return fc.oneof(
        fc.string(length),
        fc.string({ ...length, unit: 'grapheme' }),
        fc.string({ ...length, unit: 'binary' }),
      )
    }
    if (s.type === 'object' && s.properties) {
      return fc.record(
        Object.fromEntries(
          Object.entries(s.properties).map(([key, value]) => [key, this.validOf(value, key)]),
        ),
        { requiredKeys: (s.required ?? []) as never[] },
      )
    }
    return anyJson
  }

  boundaryOf(s: Schema): fc.Arbitrary<unknown> {
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
            Object.keys(properties).map((k) => [k, this.boundaryOf(properties[k] as Schema)]),
          ),
        ),
        fc.constant({}),
      )
    }
    return anyJson
  }

  /** The JSON body: valid, boundary or mutated objects, or raw text that is not JSON at all. */
  bodyOf(schema: Schema): fc.Arbitrary<{ text: string; contentType: string | undefined }> {
    const object = fc.oneof(
      { arbitrary: this.validOf(schema, 'body'), weight: 4 },
      { arbitrary: this.boundaryOf(schema), weight: 2 },
      {
        // One property replaced by a wrong-typed or hostile value, plus an unknown one.
        arbitrary: fc
          .tuple(
            this.validOf(schema, 'body'),
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
      {
        arbitrary: fc.constant(JSON.stringify({ title: 't', body: 'y'.repeat(this.bodyLimit) })),
        weight: 1,
      },
    )
    const contentType = fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 8 },
      {
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'application/json; charset=iso-8859-1',
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

  requestOf(op: Operation): fc.Arbitrary<Generated> {
    const headerValue = fc.oneof(
      fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
      fc.constantFrom('"1"', 'W/"1"', '*', '"0"', '"01"', '"1", "2"', '"1234567890"', '"-1"', '1'),
    )
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
              ? fc
                  .oneof(
                    { arbitrary: this.validOf(p.schema, p.name), weight: 6 },
                    { arbitrary: hostile, weight: 1 },
                    { arbitrary: fc.string(), weight: 1 },
                  )
                  // '', '.' and '..' would address another route (or none) rather than this one with a bad id.
                  .filter((value) => !['', '.', '..'].includes(String(value)))
              : this.parameterValue(p.schema, p.name)
        return [p.name, p.required && p.in === 'path' ? arbitrary : fc.option(arbitrary, { nil: undefined })]
      }),
    )
    return fc.record({
      params: fc.record(params),
      ...(op.body && { body: this.bodyOf(op.body) }),
      requestId: fc.option(headerValue, { nil: undefined }),
    })
  }

  /** The request as sent, and the same request as data, for the oracle to judge against the document. */
  toRequest(baseUrl: string, op: Operation, { params, body, requestId }: Generated): Built {
    const id = typeof params.id === 'string' ? params.id : undefined
    const current = id === undefined ? undefined : this.versions.get(id)
    let path = op.path
    const query = new URLSearchParams()
    const headers = new Headers()
    const sent: Built['sent'] = { path: {}, query: {}, header: {} }
    for (const p of op.parameters) {
      let value = params[p.name]
      if (value === undefined) continue
      if (value === CURRENT) value = p.in === 'header' ? `"${current ?? 1}"` : (current ?? 1)
      const text = (typeof value === 'string' ? value : JSON.stringify(value)).toWellFormed()
      if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(text))
      else if (p.in === 'query') query.append(p.name, text)
      else headers.set(p.name, text)
      sent[p.in][p.name] = p.in === 'header' ? headers.get(p.name) : text
    }
    if (requestId !== undefined) headers.set('x-request-id', requestId)
    let text = body?.text
    if (text?.includes('"version"') && current !== undefined)
      text = text.replace(/"version":\{\}/, `"version":${current}`)
    if (body?.contentType) headers.set('content-type', body.contentType)
    const search = query.size > 0 ? `?${query}` : ''
    const request = new Request(`${baseUrl}${path}${search}`, {
      method: op.method,
      headers,
      ...(text !== undefined && { body: text }),
    })
    return {
      request,
      sent: { ...sent, ...(text !== undefined && { body: { text, contentType: body?.contentType } }) },
    }
  }
}

interface Generated {
  params: Record<string, unknown>
  body?: { text: string; contentType: string | undefined }
  requestId?: string
}

export interface Built {
  request: Request
  /** What each parameter was sent as (text, as on the wire), and the body. */
  sent: {
    path: Record<string, unknown>
    query: Record<string, unknown>
    header: Record<string, unknown>
    body?: { text: string; contentType: string | undefined }
  }
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

export interface FuzzFigures {
  seed: number
  requests: number
  operations: number
  statuses: Record<string, Record<number, number>>
  serverErrors: number
  clientErrors: number
  /** Requests that broke a documented constraint, and how many of those got a 4xx. */
  constraintBreaking: number
  constraintBreakingRejected: number
  /** Responses checked against the schema, media type and headers the document declares for their status. */
  responsesValidated: number
  problems: string[]
  leaks: number
}

/**
 * Fuzzes every operation of `target`'s OpenAPI document over HTTP with a fixed seed and judges every answer
 * against that document: no 5xx, a documented status, the documented media type, body schema and headers,
 * a 4xx whenever the request broke a documented constraint, and no internals leaked in errors.
 */
export async function fuzz(
  target: Pick<ContractTarget, 'baseUrl'>,
  {
    runsPerOperation,
    bodyLimit,
    seed = SEED,
  }: { runsPerOperation: number; bodyLimit: number; seed?: number },
): Promise<{ figures: FuzzFigures; versions: Map<string, number>; operations: Operation[] }> {
  const document = (await (await fetch(`${target.baseUrl}/openapi/json`)).json()) as Document
  const oracle = documentOracle(document)
  const generator = new Generator(bodyLimit)
  for (let i = 0; i < 60; i++) {
    const response = await fetch(`${target.baseUrl}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: `seed ${i}`, body: 'fuzz' }),
    })
    const note = (await response.json()) as { id: string; version: number }
    generator.versions.set(note.id, note.version)
  }
  const figures: FuzzFigures = {
    seed,
    requests: 0,
    operations: oracle.operations.length,
    statuses: {},
    serverErrors: 0,
    clientErrors: 0,
    constraintBreaking: 0,
    constraintBreakingRejected: 0,
    responsesValidated: 0,
    problems: [],
    leaks: 0,
  }

  async function check(op: Operation, generated: Generated): Promise<void> {
    const built = generator.toRequest(target.baseUrl, op, generated)
    const response = await fetch(built.request)
    const text = await response.text()
    figures.requests++
    const route = `${op.method} ${op.path}`
    figures.statuses[route] ??= {}
    const counts = figures.statuses[route] as Record<number, number>
    counts[response.status] = (counts[response.status] ?? 0) + 1
    const where = `${built.request.method} ${built.request.url.slice(0, 300)} → ${response.status}: ${text.slice(0, 300)}`
    const broken = oracle.brokenConstraint(op, built.sent)
    const problems: string[] = []
    if (response.status >= 500) {
      figures.serverErrors++
      problems.push('a server error')
    }
    if (broken) {
      figures.constraintBreaking++
      if (response.status >= 400 && response.status < 500) figures.constraintBreakingRejected++
      else problems.push(`a ${response.status} to a request that breaks the document (${broken})`)
    }
    const mismatch = oracle.responseMismatch(op, response, text)
    if (mismatch) problems.push(mismatch)
    else figures.responsesValidated++
    if (response.status >= 400) {
      figures.clientErrors++
      const { instance: _instance, requestId: _requestId, ...rest } = JSON.parse(text || '{}')
      const leak = LEAKS.find((pattern) => pattern.test(JSON.stringify(rest)))
      if (leak) {
        figures.leaks++
        problems.push(`internals leaked (${leak})`)
      }
    }
    if (problems.length > 0) {
      figures.problems.push(`${where}\n  ${problems.join('\n  ')}`)
      throw new Error(`${problems.join('; ')}\n${where}`)
    }
    // Keep the known versions current, so later valid requests can change these notes again.
    const id = decodeURIComponent(new URL(built.request.url).pathname.split('/').at(-1) ?? '')
    if (response.status === 204) generator.versions.delete(id)
    else if (response.ok && op.path.startsWith('/notes') && op.method !== 'GET') {
      const note = JSON.parse(text) as { id: string; version: number }
      generator.versions.set(note.id, note.version)
    }
  }

  for (const op of oracle.operations) {
    await fc.assert(
      fc.asyncProperty(generator.requestOf(op), (generated) => check(op, generated)),
      { seed, numRuns: runsPerOperation },
    )
  }
  return { figures, versions: generator.versions, operations: oracle.operations }
}
