import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log'
import { createTestApp, expectProblem, plain } from '../helpers'
import { recordFigures } from './figures'

// createTestApp sets BODY_LIMIT_BYTES to 64 KiB.
const LIMIT = 64 * 1024
const lines: string[] = []
const t = await createTestApp({ log: createLogger('info', (line) => lines.push(line)) })

const count = async () => plain(await t.sql`select count(*)::int as n from notes`)[0]?.n as number

/** A JSON note of exactly `size` bytes. */
function noteOfSize(size: number): string {
  const envelope = JSON.stringify({ title: 'limit', body: '' })
  const body = JSON.stringify({ title: 'limit', body: 'y'.repeat(size - envelope.length) })
  expect(Buffer.byteLength(body)).toBe(size)
  return body
}

const logged = (status: number) =>
  lines.map((line) => JSON.parse(line)).filter((l) => l.msg === 'request' && l.status === status)

describe('body limit', () => {
  it(`accepts a body of exactly ${LIMIT} bytes (so the next byte is the one that is refused)`, async () => {
    const response = await t.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: noteOfSize(LIMIT),
    })
    expect(response.status).toBe(201)
    expect(await count()).toBe(1)
  })

  it('answers 413 problem+json to a declared body one byte over, and nothing is stored', async () => {
    const response = await t.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: noteOfSize(LIMIT + 1),
    })
    const problem = await expectProblem(response, 413)
    expect(problem.limit).toBe(LIMIT)
    expect(await count()).toBe(1)
    expect(logged(413)).toHaveLength(1)
  })

  it('answers 413 to a streamed body (no Content-Length) one byte over, and nothing is stored', async () => {
    const bytes = new TextEncoder().encode(noteOfSize(LIMIT + 1))
    // Two chunks, the limit crossed only by the last byte of the second.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 1000))
        controller.enqueue(bytes.slice(1000))
        controller.close()
      },
    })
    const request = new Request('http://localhost/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
    })
    expect(request.headers.get('content-length')).toBe(null)
    const response = await t.app.handle(request)
    expect((await expectProblem(response, 413)).limit).toBe(LIMIT)
    expect(await count()).toBe(1)
  })

  it('refuses an over-limit PATCH the same way and leaves the note unchanged', async () => {
    const [note] = plain(await t.sql`select id, version from notes`) as { id: string; version: number }[]
    if (!note) throw new Error('expected the note stored by the first test')
    const response = await t.request(`/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': `"${note.version}"` },
      body: noteOfSize(LIMIT + 1).replace('"title":"limit",', '"title":"other",'),
    })
    await expectProblem(response, 413)
    const [after] = plain(await t.sql`select title, version from notes where id = ${note.id}`)
    expect(after).toEqual({ title: 'limit', version: note.version })
    recordFigures('limits', {
      limitBytes: LIMIT,
      atLimit: 201,
      oneByteOverDeclared: 413,
      oneByteOverStreamed: 413,
      rowsWrittenByRefusedRequests: (await count()) - 1,
    })
  })
})
