import { describe, expect, it } from 'vitest'
import { type Contract, expectProblem, MISSING_ID, marker, type Note } from './harness'
import { literal } from './target'

/** Notes CRUD, pagination and search: what a well-behaved client sees. */
export function notesContract(api: Contract) {
  /** Every note whose title carries `tag`, walking all pages of `limit`; returns the pages. */
  async function walk(tag: string, limit?: number) {
    const pages: { items: Note[]; nextCursor: string | null }[] = []
    let cursor: string | undefined
    do {
      const { data, response } = await api.client.GET('/notes', {
        params: { query: { q: tag, ...(limit && { limit }), ...(cursor && { cursor }) } },
      })
      expect(response.status).toBe(200)
      pages.push(data as (typeof pages)[number])
      cursor = data?.nextCursor ?? undefined
    } while (cursor && pages.length < 50)
    return pages
  }

  describe('the document', () => {
    it('lists the five notes operations', async () => {
      expect(await api.operationsUnder('/notes')).toEqual([
        'DELETE /notes/{id} deleteNote',
        'GET /notes listNotes',
        'GET /notes/{id} getNote',
        'PATCH /notes/{id} updateNote',
        'POST /notes createNote',
      ])
    })
  })

  describe('POST /notes', () => {
    it('stores the note and answers 201 with the note, its version as ETag and its Location', async () => {
      const { data, response } = await api.client.POST('/notes', {
        body: { title: 'Shopping', body: 'flour' },
      })
      expect(response.status).toBe(201)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(data).toMatchObject({ title: 'Shopping', body: 'flour', version: 1 })
      const note = data as Note
      expect(response.headers.get('etag')).toBe('"1"')
      expect(response.headers.get('location')).toBe(`/notes/${note.id}`)
      expect(note.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(Date.parse(note.createdAt)).toBeGreaterThan(Date.now() - 60_000)
      // Both stamped at creation, by two clock reads.
      expect(Date.parse(note.updatedAt) - Date.parse(note.createdAt)).toBeGreaterThanOrEqual(0)
      expect(Date.parse(note.updatedAt) - Date.parse(note.createdAt)).toBeLessThan(1000)
      expect(await api.stored(note.id)).toEqual([{ title: 'Shopping', body: 'flour', version: 1 }])
      // The Location is where the note is read back.
      const read = await api.fetch(response.headers.get('location') as string)
      expect(await read.json()).toEqual(note)
    })

    it('defaults the body to an empty string', async () => {
      const note = await api.createNote('No body')
      expect(note.body).toBe('')
      expect(await api.stored(note.id)).toEqual([{ title: 'No body', body: '', version: 1 }])
    })

    it('stores text outside ASCII exactly as sent', async () => {
      const title = 'Crème brûlée — 焦糖布丁 🍮'
      const note = await api.createNote(title, 'ñ\u00a0\t\n"quoted"\\')
      expect(await api.stored(note.id)).toEqual([{ title, body: 'ñ\u00a0\t\n"quoted"\\', version: 1 }])
    })
  })

  describe('GET /notes/:id', () => {
    it('returns the stored note with its ETag', async () => {
      const note = await api.createNote('Read me', 'text')
      const { data, response } = await api.client.GET('/notes/{id}', { params: { path: { id: note.id } } })
      expect(response.status).toBe(200)
      expect(response.headers.get('etag')).toBe('"1"')
      expect(data).toEqual(note)
    })

    it('answers 404 naming the id for a note that does not exist (or no longer does)', async () => {
      const problem = await expectProblem(
        await api.client.GET('/notes/{id}', { params: { path: { id: MISSING_ID } } }),
        404,
      )
      expect(problem.detail).toContain(MISSING_ID)
      const note = await api.createNote()
      await api.sql(`delete from notes where id = ${literal(note.id)}`)
      await expectProblem(await api.client.GET('/notes/{id}', { params: { path: { id: note.id } } }), 404)
    })

    it('finds a note by its id in upper case too (UUIDs are case-insensitive)', async () => {
      const note = await api.createNote()
      const { data } = await api.client.GET('/notes/{id}', {
        params: { path: { id: note.id.toUpperCase() } },
      })
      expect(data?.id).toBe(note.id)
    })
  })

  describe('GET /notes', () => {
    it('returns an empty page with a null cursor when nothing matches', async () => {
      const { data, response } = await api.client.GET('/notes', { params: { query: { q: marker() } } })
      expect(response.status).toBe(200)
      expect(data).toEqual({ items: [], nextCursor: null })
    })

    it('walks every note exactly once, oldest first, and ends with a null cursor', async () => {
      const tag = marker()
      const created: Note[] = []
      for (let i = 0; i < 7; i++) created.push(await api.createNote(`${tag} ${i}`))
      const pages = await walk(tag, 3)
      expect(pages.map((page) => page.items.length)).toEqual([3, 3, 1])
      expect(pages.at(-1)?.nextCursor).toBeNull()
      expect(pages.flatMap((page) => page.items)).toEqual(created)
    })

    it('gives no next cursor when the last page is exactly full', async () => {
      const tag = marker()
      for (let i = 0; i < 4; i++) await api.createNote(`${tag} ${i}`)
      const pages = await walk(tag, 2)
      expect(pages.map((page) => [page.items.length, page.nextCursor === null])).toEqual([
        [2, false],
        [2, true],
      ])
    })

    it('keeps walking correctly while notes are added and deleted between pages', async () => {
      const tag = marker()
      const first = [await api.createNote(`${tag} a`), await api.createNote(`${tag} b`)]
      const page1 = await api.client.GET('/notes', { params: { query: { q: tag, limit: 1 } } })
      expect(page1.data?.items).toEqual([first[0]])
      await api.sql(`delete from notes where id = ${literal(first[1]?.id as string)}`)
      const later = await api.createNote(`${tag} c`)
      const page2 = await api.client.GET('/notes', {
        params: { query: { q: tag, limit: 5, cursor: page1.data?.nextCursor as string } },
      })
      expect(page2.data).toEqual({ items: [later], nextCursor: null })
    })

    it('answers 20 notes by default and at most 100 a page', async () => {
      const tag = marker()
      await api.sql(`insert into notes (id, title, body, version, created_at, updated_at)
        select gen_random_uuid(), ${literal(tag)} || ' ' || i, '', 1, now(), now() from generate_series(1, 120) i`)
      const page = async (limit?: number) =>
        (await api.client.GET('/notes', { params: { query: { q: tag, ...(limit && { limit }) } } })).data
      expect((await page())?.items).toHaveLength(20)
      expect((await page(1))?.items).toHaveLength(1)
      const full = await page(100)
      expect(full?.items).toHaveLength(100)
      expect(full?.nextCursor).not.toBeNull()
      // An empty parameter counts as not sent: the default applies.
      const empty = await api.fetch(`/notes?q=${tag}&limit=&cursor=`)
      expect(((await empty.json()) as { items: unknown[] }).items).toHaveLength(20)
    })

    it('filters title and body case-insensitively, treating % _ and \\ literally', async () => {
      const tag = marker()
      const bread = await api.createNote(`${tag} Bread`, 'needs FLOUR')
      const cake = await api.createNote(`${tag} Cake with flour`)
      const soup = await api.createNote(`${tag} Soup`, 'no grain')
      const percent = await api.createNote(`${tag} 100% rye`, 'a_b c\\d')
      const ids = async (q: string) =>
        ((await api.client.GET('/notes', { params: { query: { q, limit: 100 } } })).data?.items ?? [])
          .filter((note) => note.title.startsWith(tag))
          .map((note) => note.id)
      expect(await ids(`${tag} `)).toEqual([bread.id, cake.id, soup.id, percent.id])
      expect((await ids('flour')).filter((id) => [bread.id, cake.id].includes(id))).toEqual([
        bread.id,
        cake.id,
      ])
      expect(await ids('0% RYE')).toEqual([percent.id])
      expect(await ids('a_b')).toEqual([percent.id])
      expect(await ids('c\\d')).toEqual([percent.id])
      expect(await ids(`${tag}%`)).toEqual([])
      expect(await ids(`${tag}_`)).toEqual([])
    })
  })

  describe('DELETE /notes/:id', () => {
    it('deletes the current version and answers 204 with no body', async () => {
      const note = await api.createNote('bye')
      const { response } = await api.client.DELETE('/notes/{id}', {
        params: { path: { id: note.id }, header: { 'if-match': '"1"' } },
      })
      expect(response.status).toBe(204)
      expect(response.headers.get('content-type')).toBeNull()
      expect(await response.text()).toBe('')
      expect(await api.stored(note.id)).toEqual([])
      await expectProblem(await api.client.GET('/notes/{id}', { params: { path: { id: note.id } } }), 404)
    })

    it('answers 404 for a note that does not exist, whatever If-Match says', async () => {
      for (const ifMatch of ['"1"', '*']) {
        const problem = await expectProblem(
          await api.client.DELETE('/notes/{id}', {
            params: { path: { id: MISSING_ID }, header: { 'if-match': ifMatch } },
          }),
          404,
        )
        expect(problem.detail).toContain(MISSING_ID)
      }
    })
  })
}
