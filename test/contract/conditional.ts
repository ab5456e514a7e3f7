import { describe, expect, it } from 'vitest'
import { type Contract, expectProblem, invalidFields, MISSING_ID } from './harness'

/** ETag and If-Match (RFC 9110 §8.8.3, §13.1.1), body.version, and what each failure answers. */
export function conditionalContract(api: Contract) {
  const patch = (id: string, body: { title?: string; body?: string; version?: number }, ifMatch?: string) =>
    api.client.PATCH('/notes/{id}', {
      params: { path: { id }, ...(ifMatch !== undefined && { header: { 'if-match': ifMatch } }) },
      body,
    })
  const remove = (id: string, ifMatch?: string) =>
    api.client.DELETE('/notes/{id}', {
      params: { path: { id }, ...(ifMatch !== undefined && { header: { 'if-match': ifMatch } }) },
    })
  /** A note at version 2, so that "1" is stale. */
  async function noteAtVersion2() {
    const note = await api.createNote('v1')
    expect((await patch(note.id, { title: 'v2' }, '"1"')).response.status).toBe(200)
    return note
  }

  describe('PATCH /notes/:id', () => {
    it('changes only the given fields and answers the new version, also as ETag', async () => {
      const note = await api.createNote('Old title', 'keep me')
      const { data, response } = await patch(note.id, { title: 'New title' }, '"1"')
      expect(response.status).toBe(200)
      expect(response.headers.get('etag')).toBe('"2"')
      expect(data).toMatchObject({ id: note.id, title: 'New title', body: 'keep me', version: 2 })
      expect(Date.parse(data?.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(note.updatedAt))
      expect(data?.createdAt).toBe(note.createdAt)
      expect(await api.stored(note.id)).toEqual([{ title: 'New title', body: 'keep me', version: 2 }])
      const read = await api.client.GET('/notes/{id}', { params: { path: { id: note.id } } })
      expect(read.response.headers.get('etag')).toBe('"2"')
    })

    it('takes the version from body.version instead of If-Match', async () => {
      const note = await api.createNote('A')
      const { response } = await patch(note.id, { body: 'b', version: 1 })
      expect(response.status).toBe(200)
      expect(await api.stored(note.id)).toEqual([{ title: 'A', body: 'b', version: 2 }])
    })

    it('answers 412 to an If-Match that names no current version, 409 to a stale body.version', async () => {
      const note = await noteAtVersion2()
      const precondition = await expectProblem(await patch(note.id, { title: 'lost' }, '"7"'), 412)
      expect(precondition.currentVersion).toBe(2)
      expect((await expectProblem(await patch(note.id, { title: 'lost' }, '"1"'), 412)).currentVersion).toBe(
        2,
      )
      const conflict = await expectProblem(await patch(note.id, { title: 'lost', version: 1 }), 409)
      expect(conflict.currentVersion).toBe(2)
      expect(await api.stored(note.id)).toEqual([{ title: 'v2', body: '', version: 2 }])
    })

    it('evaluates If-Match as RFC 9110 does: * and lists match, weak and look-alike tags do not', async () => {
      // Strong comparison is character by character: "01" is not the tag "1".
      const first = await api.createNote('v1')
      expect((await patch(first.id, { title: 'no' }, '"01"')).response.status).toBe(412)
      expect(await api.stored(first.id)).toEqual([{ title: 'v1', body: '', version: 1 }])
      const note = await noteAtVersion2()
      const cases: [string, number][] = [
        ['W/"2"', 412],
        ['"02"', 412],
        ['"2.0"', 412],
        ['"5", "6"', 412],
        ['W/"2", "1"', 412],
        ['*', 200],
        ['"0", "3"', 200],
        ['"9","4"', 200],
        [' , "5" ,', 200],
      ]
      let version = 2
      for (const [ifMatch, status] of cases) {
        const answer = await patch(note.id, { body: `after ${ifMatch}` }, ifMatch)
        expect([ifMatch, answer.response.status]).toEqual([ifMatch, status])
        if (status === 200) version++
        if (status === 412) expect(answer.error?.currentVersion).toBe(version)
        expect((await api.stored(note.id))[0]?.version).toBe(version)
      }
      expect(version).toBe(6)
    })

    it('refuses a malformed If-Match with 422 naming the header, changing nothing', async () => {
      const note = await api.createNote('x')
      for (const ifMatch of ['one', '1', '"1" "2"', '"1', ',', 'W/1', '"a"b"', '*, "1"']) {
        const problem = await expectProblem(await patch(note.id, { title: 'y' }, ifMatch), 422)
        expect([ifMatch, invalidFields(problem)]).toEqual([ifMatch, ['headers:/if-match']])
      }
      expect(await api.stored(note.id)).toEqual([{ title: 'x', body: '', version: 1 }])
    })

    it('refuses If-Match together with body.version (422 naming /version)', async () => {
      const note = await api.createNote('x')
      const problem = await expectProblem(await patch(note.id, { title: 'y', version: 1 }, '"1"'), 422)
      expect(invalidFields(problem)).toEqual(['body:/version'])
      expect(await api.stored(note.id)).toEqual([{ title: 'x', body: '', version: 1 }])
    })

    it('requires a version: 428 without If-Match or body.version, saying what to send', async () => {
      const note = await api.createNote('x')
      const problem = await expectProblem(await patch(note.id, { title: 'y' }), 428)
      expect(problem.detail).toMatch(/If-Match/)
      expect(await api.stored(note.id)).toEqual([{ title: 'x', body: '', version: 1 }])
    })

    it('answers 404 for a note that does not exist, whatever If-Match says', async () => {
      for (const ifMatch of ['"1"', '*'])
        await expectProblem(await patch(MISSING_ID, { title: 'y' }, ifMatch), 404)
      await expectProblem(await patch(MISSING_ID, { title: 'y', version: 1 }), 404)
    })

    it('lets exactly one of eight concurrent writers of the same version win (412 or 409 for the rest)', async () => {
      for (const [form, loser] of [
        ['If-Match', 412],
        ['body.version', 409],
      ] as const) {
        const note = await api.createNote('race')
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            form === 'If-Match'
              ? patch(note.id, { title: `writer ${i}` }, '"1"')
              : patch(note.id, { title: `writer ${i}`, version: 1 }),
          ),
        )
        const statuses = results.map((result) => result.response.status).sort()
        expect([form, statuses]).toEqual([form, [200, ...Array(7).fill(loser)]])
        const winner = results.find((result) => result.response.status === 200)?.data
        expect(await api.stored(note.id)).toEqual([{ title: winner?.title, body: '', version: 2 }])
      }
    })
  })

  describe('DELETE /notes/:id', () => {
    it('keeps a note whose version moved on: 412 with the current version', async () => {
      const note = await noteAtVersion2()
      for (const ifMatch of ['"1"', 'W/"2"', '"1", "3"']) {
        const problem = await expectProblem(await remove(note.id, ifMatch), 412)
        expect(problem.currentVersion).toBe(2)
      }
      expect(await api.stored(note.id)).toHaveLength(1)
    })

    it('deletes when If-Match is * or a list naming the current version', async () => {
      for (const ifMatch of ['*', '"1", "2"']) {
        const note = await noteAtVersion2()
        expect((await remove(note.id, ifMatch)).response.status).toBe(204)
        expect(await api.stored(note.id)).toEqual([])
      }
    })

    it('needs If-Match (428) and refuses a malformed one (422), keeping the note', async () => {
      const note = await api.createNote('x')
      await expectProblem(await remove(note.id), 428)
      expect(invalidFields(await expectProblem(await remove(note.id, 'nope'), 422))).toEqual([
        'headers:/if-match',
      ])
      expect(await api.stored(note.id)).toHaveLength(1)
    })
  })
}
