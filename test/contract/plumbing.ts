import { describe, expect, it } from 'vitest'
import { type Contract, eventually, expectProblem, marker } from './harness'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** An ASCII JSON object padded with whitespace (allowed between tokens) to exactly `bytes` bytes. */
const padded = (json: string, bytes: number) => `${json.slice(0, -1)}${' '.repeat(bytes - json.length)}}`

/** What every route shares: routing errors, body parsing and limits, content types, request ids, HEAD, the log. */
export function plumbingContract(api: Contract) {
  const send = (method: string, path: string, contentType: string | undefined, body: string) =>
    api.fetch(path, {
      method,
      headers: { ...(contentType && { 'content-type': contentType }), 'if-match': '*' },
      body,
    })

  describe('routing', () => {
    it('answers 404 problem+json naming the path for a path no route has', async () => {
      for (const path of ['/no/such/route', '/', '/notes/a/b', '/health', '/openapi/nothing']) {
        const problem = await expectProblem(await api.fetch(path), 404)
        expect(problem.detail).toBe('no route matches this path')
      }
      await expectProblem(await api.fetch('/nowhere', { method: 'OPTIONS' }), 404)
    })

    it('answers 405 with Allow for a method the path does not take', async () => {
      const cases: [string, string, string][] = [
        ['PUT', '/notes/01900000-0000-7000-8000-000000000000', 'DELETE, GET, HEAD, PATCH'],
        ['POST', '/notes/01900000-0000-7000-8000-000000000000', 'DELETE, GET, HEAD, PATCH'],
        ['OPTIONS', '/notes', 'GET, HEAD, POST'],
        ['DELETE', '/notes', 'GET, HEAD, POST'],
        ['PATCH', '/notes', 'GET, HEAD, POST'],
        ['POST', '/health/live', 'GET, HEAD'],
        ['DELETE', '/health/ready', 'GET, HEAD'],
      ]
      const before = await api.count()
      for (const [method, path, allow] of cases) {
        const response = await api.fetch(path, { method })
        const problem = await expectProblem(response, 405)
        expect([method, path, response.headers.get('allow')]).toEqual([method, path, allow])
        expect(problem.detail).toContain(method)
      }
      expect(await api.count()).toBe(before)
    })

    it('treats a trailing slash as the same path', async () => {
      expect((await api.fetch('/health/live/')).status).toBe(200)
      expect((await api.fetch(`/notes/?q=${marker()}`)).status).toBe(200)
    })
  })

  describe('request bodies', () => {
    it('answers 400 to malformed or empty JSON, storing and changing nothing', async () => {
      const note = await api.createNote('kept')
      const before = await api.count()
      for (const body of ['{"title": "x",', '{title: "x"}', "{'title':'x'}", '', '{"title":"x"}}']) {
        for (const [method, path] of [
          ['POST', '/notes'],
          ['PATCH', `/notes/${note.id}`],
        ] as const) {
          const problem = await expectProblem(await send(method, path, 'application/json', body), 400)
          expect(problem.detail).toBe('the request body is not valid JSON')
        }
      }
      expect(await api.count()).toBe(before)
      expect(await api.stored(note.id)).toEqual([{ title: 'kept', body: '', version: 1 }])
    })

    it('answers 415 to anything but JSON in UTF-8, storing and changing nothing', async () => {
      const note = await api.createNote('kept')
      const before = await api.count()
      const json = JSON.stringify({ title: 'Crème' })
      for (const contentType of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=iso-8859-1',
        'application/json; charset=utf-16',
        'text/json',
        'application/jsonx',
        // A +json type promises other semantics (merge patch): the document declares application/json only.
        'application/merge-patch+json',
        undefined,
      ]) {
        for (const [method, path] of [
          ['POST', '/notes'],
          ['PATCH', `/notes/${note.id}`],
        ] as const) {
          const problem = await expectProblem(await send(method, path, contentType, json), 415)
          expect([contentType, problem.detail]).toEqual([
            contentType,
            expect.stringContaining('expected Content-Type application/json in UTF-8'),
          ])
          if (contentType) expect(problem.detail).toContain(contentType)
        }
      }
      expect(await api.count()).toBe(before)
      expect(await api.stored(note.id)).toEqual([{ title: 'kept', body: '', version: 1 }])
    })

    it('leaves a body unread where the operation takes none (DELETE): no 400, 413 or 415', async () => {
      const big = 'x'.repeat(api.target.bodyLimitBytes + 1)
      for (const [contentType, body] of [
        ['text/plain', 'not json'],
        ['application/json', '{bad'],
        ['application/json', big],
      ] as const) {
        const note = await api.createNote('deleted with a body')
        const deleted = await send('DELETE', `/notes/${note.id}`, contentType, body)
        expect([contentType, body.length, deleted.status]).toEqual([contentType, body.length, 204])
        expect(await api.stored(note.id)).toEqual([])
      }
    })

    it('takes JSON with or without a UTF-8 charset, in any letter case', async () => {
      for (const contentType of [
        'application/json',
        'application/json; charset=utf-8',
        'application/json;charset="UTF-8"',
        'Application/JSON',
      ]) {
        const title = `${contentType} é`
        const response = await send('POST', '/notes', contentType, JSON.stringify({ title }))
        expect([contentType, response.status]).toEqual([contentType, 201])
        const { id } = (await response.json()) as { id: string }
        expect((await api.stored(id))[0]?.title).toBe(title)
      }
    })

    it('answers 413 with the limit to a body declared one byte over BODY_LIMIT_BYTES', async () => {
      const { bodyLimitBytes: limit } = api.target
      const note = await api.createNote('kept')
      const before = await api.count()
      const body = padded('{"title":"x"}', limit + 1)
      for (const [method, path] of [
        ['POST', '/notes'],
        ['PATCH', `/notes/${note.id}`],
      ] as const) {
        const problem = await expectProblem(await send(method, path, 'application/json', body), 413)
        expect(problem.limit).toBe(limit)
      }
      expect(await api.count()).toBe(before)
      expect(await api.stored(note.id)).toEqual([{ title: 'kept', body: '', version: 1 }])
    })

    it('answers 413 to a streamed body once it passes the limit, with no length declared', async () => {
      const { bodyLimitBytes: limit } = api.target
      const before = await api.count()
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024))
      let sent = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"title":"streamed"'))
          if (sent > limit * 2) return controller.close()
          controller.enqueue(chunk)
          sent += chunk.byteLength
        },
      })
      const response = await api.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit)
      expect((await expectProblem(response, 413)).limit).toBe(limit)
      expect(await api.count()).toBe(before)
    })

    it('takes a body of exactly BODY_LIMIT_BYTES', async () => {
      const { bodyLimitBytes: limit } = api.target
      const title = `at the limit ${marker()}`
      const body = padded(JSON.stringify({ title }), limit)
      expect(new TextEncoder().encode(body).byteLength).toBe(limit)
      const response = await send('POST', '/notes', 'application/json', body)
      expect(response.status).toBe(201)
      expect(await api.count(`title = '${title}'`)).toBe(1)
    })
  })

  describe('headers on every answer', () => {
    it('echoes a well-formed X-Request-Id and replaces anything else with a UUID', async () => {
      for (const id of ['abc-123', 'trace.id:1@svc_2', 'x'.repeat(128)]) {
        const response = await api.fetch('/health/live', { headers: { 'x-request-id': id } })
        expect(response.headers.get('x-request-id')).toBe(id)
      }
      for (const bad of [
        undefined,
        '',
        'bad id with spaces',
        'x'.repeat(129),
        'ünïcode',
        'a/b',
        '<script>',
      ]) {
        const response = await api.fetch(
          '/health/live',
          bad === undefined ? {} : { headers: { 'x-request-id': bad } },
        )
        expect([bad, response.headers.get('x-request-id')]).toEqual([bad, expect.stringMatching(UUID)])
      }
    })

    it('carries the request id in problem bodies too, even for answers given before routing', async () => {
      for (const [path, init] of [
        ['/nowhere', {}],
        ['/notes', { method: 'PUT' }],
        ['/notes', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }],
      ] as const) {
        const response = await api.fetch(path, {
          ...init,
          headers: { ...init.headers, 'x-request-id': 'rid-1' },
        })
        expect((await response.json()) as { requestId: string }).toMatchObject({ requestId: 'rid-1' })
      }
    })

    it('answers HEAD like GET without a body', async () => {
      const note = await api.createNote('head')
      for (const path of [`/notes/${note.id}`, '/notes', '/health/live', '/health/ready']) {
        const get = await api.fetch(path)
        const head = await api.fetch(path, { method: 'HEAD' })
        expect([path, head.status]).toEqual([path, get.status])
        expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'))
        expect(head.headers.get('etag')).toBe(get.headers.get('etag'))
        expect(await head.text()).toBe('')
      }
    })
  })

  describe('access log', () => {
    it('writes one JSON line per request: method, path, status, duration and request id', async () => {
      const id = marker()
      await api.fetch('/notes?limit=2', { headers: { 'x-request-id': `${id}-ok` } })
      await api.fetch('/nowhere', { headers: { 'x-request-id': `${id}-404` } })
      const entries = await eventually(async () => {
        const lines = (await api.target.logs()).filter((line) => line.includes(id))
        expect(lines).toHaveLength(2)
        return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      })
      expect(entries).toEqual([
        expect.objectContaining({
          level: 'info',
          msg: 'request',
          method: 'GET',
          path: '/notes',
          status: 200,
        }),
        expect.objectContaining({
          level: 'info',
          msg: 'request',
          method: 'GET',
          path: '/nowhere',
          status: 404,
        }),
      ])
      expect(entries.map((entry) => entry.requestId)).toEqual([`${id}-ok`, `${id}-404`])
      for (const entry of entries) {
        expect(entry.durationMs).toEqual(expect.any(Number))
        expect(Date.parse(entry.time as string)).toBeGreaterThan(Date.now() - 60_000)
      }
    })
  })
}
