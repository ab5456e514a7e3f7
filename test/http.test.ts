import { describe, expect, it } from 'vitest'
import { InFlight } from '../src/http'
import { createLogger } from '../src/log'
import { createApp } from '../src/server'
import { createTestApp, expectProblem, silent } from './helpers'

// What only an in-process app can show: a route that throws, and the shutdown bookkeeping. Everything HTTP
// can show is in the contract suite (test/contract), which also runs against the built images.
const lines: string[] = []
const t = await createTestApp({ log: createLogger('info', (line) => lines.push(line)) })
// A route that fails the way a bug would, with a message that must never reach the client.
t.app.get('/boom', () => {
  throw new Error('select password from users where 1=1')
})

describe('unexpected errors', () => {
  it('answer a generic 500 with the request id, no message, stack or SQL, and log all of it', async () => {
    const response = await t.request('/boom', { headers: { 'x-request-id': 'trace-500' } })
    const problem = await expectProblem(response, 500)
    expect(problem.requestId).toBe('trace-500')
    const text = JSON.stringify(problem)
    expect(text).not.toMatch(/password|select|at \/|\.ts:/i)
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error')
    expect(logged).toMatchObject({ level: 'error', requestId: 'trace-500', path: '/boom' })
    expect(logged.error).toMatchObject({ name: 'Error', message: 'select password from users where 1=1' })
    expect(logged.error.stack).toContain('http.test.ts')
  })
})

describe('shutdown bookkeeping', () => {
  it('counts every request, answered or failed, out again once it is logged', async () => {
    const inFlight = new InFlight()
    const app = createApp({ config: { bodyLimitBytes: 10 }, orm: t.orm, log: silent, inFlight })
    const json = { 'content-type': 'application/json' }
    const requests: [string, RequestInit][] = [
      ['/nowhere', {}],
      ['/notes', { method: 'PUT' }],
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
    expect(statuses).toEqual([404, 405, 413, 415, 400, 422, 200])
    await inFlight.idle()
    expect(inFlight.count).toBe(0)
  })
})
