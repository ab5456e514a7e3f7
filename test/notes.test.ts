import { beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, plain } from './helpers'

const t = await createTestApp()

type NoteJson = {
  id: string
  title: string
  body: string
  version: number
  createdAt: string
  updatedAt: string
}

async function create(title: string, body = ''): Promise<NoteJson> {
  const response = await t.request('/notes', { method: 'POST', json: { title, body } })
  expect(response.status).toBe(201)
  return (await response.json()) as NoteJson
}

const rows = async (id: string) => plain(await t.sql`select title, body, version from notes where id = ${id}`)

beforeEach(async () => {
  await t.sql`truncate notes`
})

describe('POST /notes', () => {
  it('stores the note and answers 201 with its version as ETag', async () => {
    const response = await t.request('/notes', { method: 'POST', json: { title: 'Shopping', body: 'flour' } })
    expect(response.status).toBe(201)
    expect(response.headers.get('etag')).toBe('"1"')
    const note = (await response.json()) as NoteJson
    expect(note).toMatchObject({ title: 'Shopping', body: 'flour', version: 1 })
    expect(new Date(note.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000)
    expect(await rows(note.id)).toEqual([{ title: 'Shopping', body: 'flour', version: 1 }])
  })

  it('defaults the body to an empty string', async () => {
    const note = await create('No body')
    expect(await rows(note.id)).toEqual([{ title: 'No body', body: '', version: 1 }])
  })

  it('rejects an empty or too long title with 422 naming the field, storing nothing', async () => {
    for (const title of ['', 'x'.repeat(201)]) {
      const problem = await expectProblem(await t.request('/notes', { method: 'POST', json: { title } }), 422)
      expect(problem.errors).toEqual([expect.objectContaining({ in: 'body', field: '/title' })])
    }
    expect(plain(await t.sql`select count(*)::int as n from notes`)).toEqual([{ n: 0 }])
  })
})

describe('GET /notes/:id', () => {
  it('returns the stored note with its ETag', async () => {
    const note = await create('Read me', 'text')
    const response = await t.request(`/notes/${note.id}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('etag')).toBe('"1"')
    expect(await response.json()).toEqual(note)
  })

  it('answers 404 problem+json for an unknown id', async () => {
    const problem = await expectProblem(await t.request('/notes/01900000-0000-7000-8000-000000000000'), 404)
    expect(problem.detail).toContain('01900000-0000-7000-8000-000000000000')
  })

  it('answers 422 for an id that is not a UUID', async () => {
    const problem = await expectProblem(await t.request('/notes/42'), 422)
    expect(problem.errors).toEqual([expect.objectContaining({ in: 'params', field: '/id' })])
  })
})

describe('GET /notes', () => {
  const page = async (query: string) => {
    const response = await t.request(`/notes${query}`)
    expect(response.status).toBe(200)
    return (await response.json()) as { items: NoteJson[]; nextCursor: string | null }
  }

  it('returns an empty page with no cursor when there are no notes', async () => {
    expect(await page('')).toEqual({ items: [], nextCursor: null })
  })

  it('walks every note exactly once, oldest first, and ends with a null cursor', async () => {
    const created = []
    for (let i = 0; i < 7; i++) created.push(await create(`note ${i}`))
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const result = await page(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(result.items.length).toBeLessThanOrEqual(3)
      seen.push(...result.items.map((note) => note.id))
      cursor = result.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toEqual(created.map((note) => note.id))
  })

  it('gives no next cursor when the last page is exactly full', async () => {
    for (let i = 0; i < 4; i++) await create(`n${i}`)
    const first = await page('?limit=2')
    expect(first.nextCursor).not.toBeNull()
    const second = await page(`?limit=2&cursor=${first.nextCursor}`)
    expect(second.items).toHaveLength(2)
    expect(second.nextCursor).toBeNull()
  })

  it('defaults to 20 items and allows at most 100', async () => {
    await t.sql`insert into notes (id, title, body, version, created_at, updated_at)
      select gen_random_uuid(), 'bulk ' || i, '', 1, now(), now() from generate_series(1, 120) i`
    expect((await page('')).items).toHaveLength(20)
    expect((await page('?limit=100')).items).toHaveLength(100)
    for (const limit of ['0', '101', 'abc', '-1']) {
      const problem = await expectProblem(await t.request(`/notes?limit=${limit}`), 422)
      expect(problem.errors).toEqual([expect.objectContaining({ in: 'query', field: '/limit' })])
    }
  })

  it('filters by text in title or body, case-insensitively, treating % and _ literally', async () => {
    const bread = await create('Bread', 'needs FLOUR')
    const cake = await create('Cake with flour')
    await create('Soup', 'no grain')
    const percent = await create('100% rye')
    expect((await page('?q=flour')).items.map((n) => n.id)).toEqual([bread.id, cake.id])
    expect((await page('?q=%25')).items.map((n) => n.id)).toEqual([percent.id])
    expect((await page('?q=_')).items).toEqual([])
  })

  it('rejects a cursor it did not issue with 422', async () => {
    const problem = await expectProblem(await t.request('/notes?cursor=not-a-cursor'), 422)
    expect(problem.errors).toEqual([expect.objectContaining({ in: 'query', field: '/cursor' })])
  })
})

describe('PATCH /notes/:id', () => {
  it('changes only the given fields, bumps the version and the ETag', async () => {
    const note = await create('Old title', 'keep me')
    const response = await t.request(`/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '"1"' },
      json: { title: 'New title' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('etag')).toBe('"2"')
    expect(await response.json()).toMatchObject({ title: 'New title', body: 'keep me', version: 2 })
    expect(await rows(note.id)).toEqual([{ title: 'New title', body: 'keep me', version: 2 }])
  })

  it('accepts the version in the body instead of If-Match', async () => {
    const note = await create('A')
    const response = await t.request(`/notes/${note.id}`, {
      method: 'PATCH',
      json: { body: 'b', version: 1 },
    })
    expect(response.status).toBe(200)
    expect(await rows(note.id)).toEqual([{ title: 'A', body: 'b', version: 2 }])
  })

  it('refuses a stale version with 409, leaving the stored note alone', async () => {
    const note = await create('v1')
    await t.request(`/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '"1"' },
      json: { title: 'v2' },
    })
    const problem = await expectProblem(
      await t.request(`/notes/${note.id}`, {
        method: 'PATCH',
        headers: { 'if-match': '"1"' },
        json: { title: 'lost' },
      }),
      409,
    )
    expect(problem.currentVersion).toBe(2)
    expect(await rows(note.id)).toEqual([{ title: 'v2', body: '', version: 2 }])
  })

  it('lets exactly one of two concurrent updates of the same version win; the other gets 409', async () => {
    const note = await create('race')
    const attempt = (title: string) =>
      t.request(`/notes/${note.id}`, { method: 'PATCH', headers: { 'if-match': '"1"' }, json: { title } })
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(`writer ${i}`)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(7)
    const winner = (await results.find((r) => r.status === 200)?.json()) as NoteJson
    expect(await rows(note.id)).toEqual([{ title: winner.title, body: '', version: 2 }])
  })

  it('requires a version: 428 without If-Match or body.version', async () => {
    const note = await create('x')
    await expectProblem(await t.request(`/notes/${note.id}`, { method: 'PATCH', json: { title: 'y' } }), 428)
    expect(await rows(note.id)).toEqual([{ title: 'x', body: '', version: 1 }])
  })

  it('rejects a malformed If-Match, a disagreeing body.version and an empty change with 422', async () => {
    const note = await create('x')
    const cases: [Record<string, string>, unknown, string][] = [
      [{ 'if-match': 'one' }, { title: 'y' }, '/if-match'],
      [{ 'if-match': 'W/"1"' }, { title: 'y' }, '/if-match'],
      [{ 'if-match': '"1"' }, { title: 'y', version: 2 }, '/version'],
      [{ 'if-match': '"1"' }, {}, '/'],
    ]
    for (const [headers, json, field] of cases) {
      const problem = await expectProblem(
        await t.request(`/notes/${note.id}`, { method: 'PATCH', headers, json }),
        422,
      )
      expect(problem.errors).toEqual([expect.objectContaining({ field })])
    }
    expect(await rows(note.id)).toEqual([{ title: 'x', body: '', version: 1 }])
  })

  it('answers 404 for a note that does not exist', async () => {
    await expectProblem(
      await t.request('/notes/01900000-0000-7000-8000-000000000000', {
        method: 'PATCH',
        headers: { 'if-match': '"1"' },
        json: { title: 'y' },
      }),
      404,
    )
  })
})

describe('DELETE /notes/:id', () => {
  it('deletes the current version and answers 204 with no body', async () => {
    const note = await create('bye')
    const response = await t.request(`/notes/${note.id}`, {
      method: 'DELETE',
      headers: { 'if-match': '"1"' },
    })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    expect(await rows(note.id)).toEqual([])
    await expectProblem(await t.request(`/notes/${note.id}`), 404)
  })

  it('keeps a note whose version moved on: 409', async () => {
    const note = await create('v1')
    await t.request(`/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '"1"' },
      json: { title: 'v2' },
    })
    await expectProblem(
      await t.request(`/notes/${note.id}`, { method: 'DELETE', headers: { 'if-match': '"1"' } }),
      409,
    )
    expect(await rows(note.id)).toHaveLength(1)
  })

  it('needs If-Match (428) and answers 404 for an unknown note', async () => {
    const note = await create('x')
    await expectProblem(await t.request(`/notes/${note.id}`, { method: 'DELETE' }), 428)
    await expectProblem(
      await t.request('/notes/01900000-0000-7000-8000-000000000000', {
        method: 'DELETE',
        headers: { 'if-match': '"1"' },
      }),
      404,
    )
    expect(await rows(note.id)).toHaveLength(1)
  })
})
