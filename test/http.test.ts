import { describe, expect, it } from 'vitest'
import { InFlight } from '../src/http'
import { createLogger } from '../src/log'
import { createApp } from '../src/server'
import { createTestApp, expectProblem, plain, silent, unreachableApp } from './helpers'

const lines: string[] = []
const t = await createTestApp({ log: createLogger('info', (line) => lines.push(line)) })
// A route that fails the way a bug would, with a message that must never reach the client.
t.app.get('/boom', () => {
  throw new Error('select password from users where 1=1')
})

const count = async () => plain(await t.sql`select count(*)::int as n from notes`)[0]?.n

describe('errors are RFC 9457 problem+json', () => {
  it('unknown route → 404', async () => {
    const problem = await expectProblem(await t.request('/no/such/route'), 404)
    expect(problem.instance).toBe('/no/such/route')
  })

  it('malformed JSON → 400, nothing stored', async () => {
    const response = await t.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title": "x",',
    })
    await expectProblem(response, 400)
    expect(await count()).toBe(0)
  })

  it('unsupported content type → 415, nothing stored', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await t.request('/notes', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: 'title=x',
      })
      const problem = await expectProblem(response, 415)
      expect(problem.detail).toContain(contentType)
    }
    expect(await count()).toBe(0)
  })

  it('validation → 422 listing every bad field without echoing the values', async () => {
    const secret = 'hunter2-super-secret'
    const response = await t.request('/notes', {
      method: 'POST',
      json: { title: [secret], body: { secret } },
    })
    const problem = await expectProblem(response, 422)
    const fields = (problem.errors as { field: string }[]).map((e) => e.field)
    expect(fields).toEqual(expect.arrayContaining(['/title', '/body']))
    expect(JSON.stringify(problem)).not.toContain(secret)
  })

  it('a streamed body over the limit → 413 before the handler runs', async () => {
    const big = JSON.stringify({ title: 'x', body: 'y'.repeat(64 * 1024) })
    const streamed = await t.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([big]).stream(),
    })
    expect((await expectProblem(streamed, 413)).limit).toBe(64 * 1024)
    expect(await count()).toBe(0)
  })

  it('a body exactly at the limit is accepted', async () => {
    const envelope = JSON.stringify({ title: 'x', body: '' })
    const body = JSON.stringify({ title: 'x', body: 'y'.repeat(64 * 1024 - envelope.length) })
    expect(body.length).toBe(64 * 1024)
    const response = await t.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    })
    expect(response.status).toBe(201)
    const { id } = (await response.json()) as { id: string }
    expect(plain(await t.sql`select length(body)::int as n from notes where id = ${id}`)).toEqual([
      { n: 64 * 1024 - envelope.length },
    ])
  })

  it('an unexpected error → generic 500 with the request id, no message, stack or SQL', async () => {
    const response = await t.request('/boom', { headers: { 'x-request-id': 'trace-500' } })
    const problem = await expectProblem(response, 500)
    expect(problem.requestId).toBe('trace-500')
    const text = JSON.stringify(problem)
    expect(text).not.toMatch(/password|select|at \/|\.ts:/i)
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error')
    expect(logged).toMatchObject({ level: 'error', requestId: 'trace-500' })
    expect(logged.error.message).toContain('select password')
  })

  it('a database that is down → 503 problem with Retry-After, for lists and single notes alike', async () => {
    const app = await unreachableApp()
    for (const path of ['/notes', `/notes/${Bun.randomUUIDv7()}`]) {
      const response = await app.handle(new Request(`http://localhost${path}`))
      await expectProblem(response, 503)
      expect(response.headers.get('retry-after'), path).toBe('5')
    }
  })
})

describe('request id and access log', () => {
  it('echoes a well-formed X-Request-Id and generates one otherwise', async () => {
    const echoed = await t.request('/health/live', { headers: { 'x-request-id': 'abc-123' } })
    expect(echoed.headers.get('x-request-id')).toBe('abc-123')
    for (const bad of [undefined, 'bad id with spaces', 'x'.repeat(200)]) {
      const response = await t.request('/health/live', bad ? { headers: { 'x-request-id': bad } } : {})
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it('logs one JSON line per request with method, path, status, duration and request id', async () => {
    await t.request('/notes?limit=2', { headers: { 'x-request-id': 'log-me' } })
    await t.request('/nowhere', { headers: { 'x-request-id': 'log-404' } })
    await new Promise((resolve) => setTimeout(resolve, 20))
    const entries = lines.map((l) => JSON.parse(l)).filter((l) => ['log-me', 'log-404'].includes(l.requestId))
    expect(entries).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/notes',
        status: 200,
        requestId: 'log-me',
        level: 'info',
      }),
      expect.objectContaining({ method: 'GET', path: '/nowhere', status: 404, requestId: 'log-404' }),
    ])
    expect(typeof entries[0].durationMs).toBe('number')
  })
})

describe('shutdown bookkeeping', () => {
  it('counts every request, answered or failed, out again once it is logged', async () => {
    const inFlight = new InFlight()
    const app = createApp({ config: { bodyLimitBytes: 10 }, orm: t.orm, log: silent, inFlight })
    const json = { 'content-type': 'application/json' }
    const requests: [string, RequestInit][] = [
      ['/nowhere', {}],
      ['/notes', { method: 'POST', headers: json, body: '{"title":"longer than ten bytes"}' }],
      ['/notes', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }],
      ['/notes', { method: 'POST', headers: json, body: '{x' }],
      ['/notes/42', {}],
      ['/notes', {}],
    ]
    const statuses = []
    for (const [path, init] of requests) {
      const response = await app.handle(new Request(`http://localhost${path}`, init))
      statuses.push(response.status)
      await response.arrayBuffer()
    }
    expect(statuses).toEqual([404, 413, 415, 400, 422, 200])
    await inFlight.idle()
    expect(inFlight.count).toBe(0)
  })
})

describe('OpenAPI', () => {
  it('describes every route with its schemas and error responses', async () => {
    const response = await t.request('/openapi/json')
    expect(response.status).toBe(200)
    const doc = (await response.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; summary?: string }>>
    }
    // /boom is this file's own failing route, not part of the API.
    const paths = Object.entries(doc.paths).filter(([path]) => path !== '/boom')
    const routes = paths.flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    expect(routes.sort()).toEqual(
      [
        'DELETE /notes/{id}',
        'GET /health/live',
        'GET /health/ready',
        'GET /notes/',
        'GET /notes/{id}',
        'PATCH /notes/{id}',
        'POST /notes/',
      ].sort(),
    )
    const patch = doc.paths['/notes/{id}']?.patch
    expect(Object.keys(patch?.responses ?? {}).sort()).toEqual(['200', '404', '409', '422', '428'])
    for (const [, ops] of paths) for (const op of Object.values(ops)) expect(op.summary).toBeTruthy()
  })

  it('serves a browsable docs page', async () => {
    const response = await t.request('/openapi')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(await response.text()).toContain('<title>bakehouse API</title>')
  })
})
