import { describe, expect, it } from 'vitest'
import type { components } from './api'
import {
  type Contract,
  expectProblem,
  expectUnavailable,
  invalidFields,
  MISSING_ID,
  marker,
  UNAVAILABLE,
} from './harness'
import { literal } from './target'

type SampleThing = components['schemas']['SampleThing']
type Changes = { name?: string; description?: string; version?: number }

// The documented limits, restated: the suite checks the server against them rather than reading them back.
const NAME_MAX = 200
const LIMIT_MAX = 100

/**
 * Sample things, as `bun run module:create` wrote them: CRUD, pagination, versions, and every status the document
 * lists for these routes (the coverage check at the end of the suite requires each). Extend it as the module grows.
 */
export function sampleThingsContract(api: Contract) {
  async function create(name = `sample thing ${marker()}`, description?: string): Promise<SampleThing> {
    const { data, response } = await api.client.POST('/sample-things', {
      body: { name, ...(description !== undefined && { description }) },
    })
    expect(response.status).toBe(201)
    return data as SampleThing
  }
  /** What the database holds for one: its fields and version, or nothing. */
  const stored = (id: string) =>
    api.sql<{ name: string; description: string; version: number }>(
      `select name, description, version from sample_things where id = ${literal(id)}`,
    )
  const count = async () =>
    (await api.sql<{ n: number }>('select count(*)::int as n from sample_things'))[0]?.n ?? 0
  const get = (id: string) => api.client.GET('/sample-things/{id}', { params: { path: { id } } })
  const list = (query: { limit?: number; cursor?: string; q?: string }) =>
    api.client.GET('/sample-things', { params: { query } })
  const patch = (id: string, body: Changes, ifMatch?: string) =>
    api.client.PATCH('/sample-things/{id}', {
      params: { path: { id }, ...(ifMatch !== undefined && { header: { 'if-match': ifMatch } }) },
      body,
    })
  const remove = (id: string, ifMatch?: string) =>
    api.client.DELETE('/sample-things/{id}', {
      params: { path: { id }, ...(ifMatch !== undefined && { header: { 'if-match': ifMatch } }) },
    })
  /** One at version 2, so that "1" is stale. */
  async function atVersion2() {
    const sampleThing = await create('v1')
    expect((await patch(sampleThing.id, { name: 'v2' }, '"1"')).response.status).toBe(200)
    return sampleThing
  }

  describe('the document', () => {
    it('lists the five sample things operations', async () => {
      expect(await api.operationsUnder('/sample-things')).toEqual([
        'DELETE /sample-things/{id} deleteSampleThing',
        'GET /sample-things listSampleThings',
        'GET /sample-things/{id} getSampleThing',
        'PATCH /sample-things/{id} updateSampleThing',
        'POST /sample-things createSampleThing',
      ])
    })
  })

  describe('POST /sample-things', () => {
    it('stores it and answers 201 with it, its version as ETag and its Location', async () => {
      const { data, response } = await api.client.POST('/sample-things', {
        body: { name: 'First', description: 'about it' },
      })
      expect(response.status).toBe(201)
      const sampleThing = data as SampleThing
      expect(sampleThing).toMatchObject({ name: 'First', description: 'about it', version: 1 })
      expect(sampleThing.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(response.headers.get('etag')).toBe('"1"')
      expect(response.headers.get('location')).toBe(`/sample-things/${sampleThing.id}`)
      expect(await stored(sampleThing.id)).toEqual([{ name: 'First', description: 'about it', version: 1 }])
      const read = await api.fetch(response.headers.get('location') as string)
      expect(await read.json()).toEqual(sampleThing)
    })

    it('defaults the description to an empty string', async () => {
      const sampleThing = await create('No description')
      expect(await stored(sampleThing.id)).toEqual([{ name: 'No description', description: '', version: 1 }])
    })

    it('refuses fields outside the schema with 422 naming each, storing nothing', async () => {
      const before = await count()
      const cases: [unknown, string[]][] = [
        [{}, ['body:/name']],
        [{ name: '' }, ['body:/name']],
        [{ name: 'n'.repeat(NAME_MAX + 1) }, ['body:/name']],
        [{ name: 5 }, ['body:/name']],
        [{ name: 'x', description: null }, ['body:/description']],
        [{ name: 'x', version: 1 }, ['body:/version']],
      ]
      for (const [json, fields] of cases) {
        const problem = await expectProblem(await api.fetch('/sample-things', { method: 'POST', json }), 422)
        expect([json, invalidFields(problem)]).toEqual([json, fields])
      }
      expect(await count()).toBe(before)
    })
  })

  describe('GET /sample-things/:id', () => {
    it('returns it with its ETag', async () => {
      const sampleThing = await create()
      const { data, response } = await get(sampleThing.id)
      expect(response.status).toBe(200)
      expect(response.headers.get('etag')).toBe('"1"')
      expect(data).toEqual(sampleThing)
    })

    it('answers 404 naming the id when there is none, and 422 to an id that is not a UUID', async () => {
      expect((await expectProblem(await get(MISSING_ID), 404)).detail).toContain(MISSING_ID)
      expect(invalidFields(await expectProblem(await api.fetch('/sample-things/42'), 422))).toEqual([
        'params:/id',
      ])
    })
  })

  describe('GET /sample-things', () => {
    it('walks every match exactly once, oldest first, and ends with a null cursor', async () => {
      const tag = marker()
      const created: SampleThing[] = []
      for (let i = 0; i < 5; i++) created.push(await create(`${tag} ${i}`))
      const pages: (SampleThing[] | undefined)[] = []
      let cursor: string | undefined
      do {
        const { data, response } = await list({ q: tag, limit: 2, ...(cursor && { cursor }) })
        expect(response.status).toBe(200)
        pages.push(data?.items)
        cursor = data?.nextCursor ?? undefined
      } while (cursor && pages.length < 10)
      expect(pages.map((page) => page?.length)).toEqual([2, 2, 1])
      expect(pages.flat()).toEqual(created)
    })

    it('answers 20 by default and at most 100 a page', async () => {
      const tag = marker()
      await api.sql(`insert into sample_things (id, name, description, version, created_at, updated_at)
        select gen_random_uuid(), ${literal(tag)}, '', 1, now(), now() from generate_series(1, ${LIMIT_MAX + 1})`)
      expect((await list({ q: tag })).data?.items).toHaveLength(20)
      const full = await list({ q: tag, limit: LIMIT_MAX })
      expect(full.data?.items).toHaveLength(LIMIT_MAX)
      expect(full.data?.nextCursor).not.toBeNull()
    })

    it('filters name and description case-insensitively', async () => {
      const tag = marker()
      const byName = await create(`a ${tag}BLUE one`)
      const byDescription = await create('plain', `${tag}Blue sky`)
      await create(`${tag} red`)
      const { data } = await list({ q: `${tag}blue` })
      expect(data?.items.map(({ id }) => id)).toEqual([byName.id, byDescription.id])
    })

    it('refuses a bad limit, a cursor it did not issue and an unknown parameter (422 naming each)', async () => {
      for (const [query, field] of [
        ['limit=0', 'query:/limit'],
        [`limit=${LIMIT_MAX + 1}`, 'query:/limit'],
        ['cursor=not-a-cursor', 'query:/cursor'],
        ['limt=5', 'query:/limt'],
      ] as const) {
        const problem = await expectProblem(await api.fetch(`/sample-things?${query}`), 422)
        expect([query, invalidFields(problem)]).toEqual([query, [field]])
      }
    })
  })

  describe('PATCH /sample-things/:id', () => {
    it('changes only the given fields and answers the new version, also as ETag', async () => {
      const sampleThing = await create('Old name', 'kept')
      const { data, response } = await patch(sampleThing.id, { name: 'New name' }, '"1"')
      expect(response.status).toBe(200)
      expect(response.headers.get('etag')).toBe('"2"')
      expect(data).toMatchObject({ id: sampleThing.id, name: 'New name', description: 'kept', version: 2 })
      expect(await stored(sampleThing.id)).toEqual([{ name: 'New name', description: 'kept', version: 2 }])
    })

    it('takes the version from body.version instead of If-Match', async () => {
      const sampleThing = await create('A')
      expect((await patch(sampleThing.id, { description: 'b', version: 1 })).response.status).toBe(200)
      expect(await stored(sampleThing.id)).toEqual([{ name: 'A', description: 'b', version: 2 }])
    })

    it('answers 412 to a stale If-Match and 409 to a stale body.version, with the current version', async () => {
      const sampleThing = await atVersion2()
      expect(
        (await expectProblem(await patch(sampleThing.id, { name: 'lost' }, '"1"'), 412)).currentVersion,
      ).toBe(2)
      expect(
        (await expectProblem(await patch(sampleThing.id, { name: 'lost', version: 1 }), 409)).currentVersion,
      ).toBe(2)
      expect(await stored(sampleThing.id)).toEqual([{ name: 'v2', description: '', version: 2 }])
    })

    it('needs a version (428), and refuses both at once or a malformed If-Match (422)', async () => {
      const sampleThing = await create('x')
      expect((await expectProblem(await patch(sampleThing.id, { name: 'y' }), 428)).detail).toMatch(
        /If-Match/,
      )
      const both = await expectProblem(await patch(sampleThing.id, { name: 'y', version: 1 }, '"1"'), 422)
      expect(invalidFields(both)).toEqual(['body:/version'])
      const malformed = await expectProblem(await patch(sampleThing.id, { name: 'y' }, 'nope'), 422)
      expect(invalidFields(malformed)).toEqual(['headers:/if-match'])
      expect(invalidFields(await expectProblem(await patch(sampleThing.id, {}, '"1"'), 422))).toEqual([
        'body:/',
      ])
      expect(await stored(sampleThing.id)).toEqual([{ name: 'x', description: '', version: 1 }])
    })

    it('answers 404 when there is none, whatever If-Match says', async () => {
      for (const ifMatch of ['"1"', '*'])
        await expectProblem(await patch(MISSING_ID, { name: 'y' }, ifMatch), 404)
    })

    it('lets exactly one of four concurrent writers of the same version win', async () => {
      const sampleThing = await create('race')
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => patch(sampleThing.id, { name: `writer ${i}` }, '"1"')),
      )
      expect(results.map((result) => result.response.status).sort()).toEqual([200, 412, 412, 412])
      expect((await stored(sampleThing.id))[0]?.version).toBe(2)
    })
  })

  describe('DELETE /sample-things/:id', () => {
    it('deletes the version named by If-Match and answers 204 with no body', async () => {
      const sampleThing = await create('bye')
      const { response } = await remove(sampleThing.id, '"1"')
      expect(response.status).toBe(204)
      expect(await response.text()).toBe('')
      expect(await stored(sampleThing.id)).toEqual([])
      await expectProblem(await get(sampleThing.id), 404)
    })

    it('keeps one whose version moved on (412), needs If-Match (428) and refuses a malformed one (422)', async () => {
      const sampleThing = await atVersion2()
      expect((await expectProblem(await remove(sampleThing.id, '"1"'), 412)).currentVersion).toBe(2)
      await expectProblem(await remove(sampleThing.id), 428)
      expect(invalidFields(await expectProblem(await remove(sampleThing.id, 'nope'), 422))).toEqual([
        'headers:/if-match',
      ])
      expect(await stored(sampleThing.id)).toHaveLength(1)
    })

    it('answers 404 when there is none', async () => {
      await expectProblem(await remove(MISSING_ID, '*'), 404)
    })
  })

  describe('request bodies', () => {
    it('answers 400 to malformed JSON, 415 to anything but JSON and 413 over the limit, changing nothing', async () => {
      const sampleThing = await create('kept')
      const before = await count()
      const tooLarge = JSON.stringify({ name: 'x'.repeat(api.target.bodyLimitBytes) })
      for (const [method, path] of [
        ['POST', '/sample-things'],
        ['PATCH', `/sample-things/${sampleThing.id}`],
      ] as const) {
        const send = (contentType: string, body: string) =>
          api.fetch(path, { method, headers: { 'content-type': contentType, 'if-match': '*' }, body })
        await expectProblem(await send('application/json', '{"name": "x",'), 400)
        await expectProblem(await send('text/plain', '{"name": "x"}'), 415)
        await expectProblem(await send('application/json', tooLarge), 413)
      }
      expect(await count()).toBe(before)
      expect(await stored(sampleThing.id)).toEqual([{ name: 'kept', description: '', version: 1 }])
    })
  })

  describe('database unavailable', () => {
    it('answers every operation with 503 and Retry-After, changing nothing', async () => {
      const sampleThing = await create('survives')
      const before = await count()
      const ifMatch = { path: { id: sampleThing.id }, header: { 'if-match': '"1"' } }
      await api.withDatabaseUnavailable(async () => {
        for (const answer of [
          await api.client.POST('/sample-things', { body: { name: 'never stored' } }),
          await list({}),
          await get(sampleThing.id),
          await api.client.PATCH('/sample-things/{id}', { params: ifMatch, body: { name: 'no' } }),
          await api.client.DELETE('/sample-things/{id}', { params: ifMatch }),
        ])
          await expectUnavailable(answer, '5', UNAVAILABLE)
      }, '/sample-things?limit=1')
      expect(await stored(sampleThing.id)).toEqual([{ name: 'survives', description: '', version: 1 }])
      expect(await count()).toBe(before)
    })
  })
}
