import { OptimisticLockError } from '@mikro-orm/core'
import { describe, expect, it } from 'vitest'
import { findById } from '../src/db'
import { Note } from '../src/modules/notes/entity'
import { createTestApp } from './helpers'

const t = await createTestApp()

async function stored(title: string): Promise<string> {
  const em = t.orm.em.fork()
  const note = em.create(Note, { title, body: `body of ${title}` })
  await em.flush()
  return note.id
}

describe('findById', () => {
  it('loads the same entity as em.findOne, with the same property types', async () => {
    const id = await stored('same')
    const viaFindOne = await t.orm.em.fork().findOne(Note, id)
    const viaFindById = await findById(t.orm.em.fork(), Note, id)
    expect(viaFindById).toBeInstanceOf(Note)
    expect(viaFindById?.createdAt).toBeInstanceOf(Date)
    expect({ ...viaFindById }).toEqual({ ...viaFindOne })
  })

  it('answers null for an id that is not stored', async () => {
    expect(await findById(t.orm.em.fork(), Note, Bun.randomUUIDv7())).toBeNull()
  })

  it('returns the instance the fork already holds, as findOne does', async () => {
    const id = await stored('identity')
    const em = t.orm.em.fork()
    const first = await em.findOne(Note, id)
    expect(await findById(em, Note, id)).toBe(first)
    const other = t.orm.em.fork()
    const loaded = await findById(other, Note, id)
    expect(await other.findOne(Note, id)).toBe(loaded)
  })

  it('gives a managed entity: a change is flushed with a version bump, a stale one fails the optimistic lock', async () => {
    const id = await stored('managed')
    const em = t.orm.em.fork()
    const note = await findById(em, Note, id)
    if (!note) throw new Error(`expected note ${id}`)
    note.title = 'changed'
    await em.flush()
    expect([...(await t.sql`select title, version from notes where id = ${id}`)]).toEqual([
      { title: 'changed', version: 2 },
    ])
    const stale = t.orm.em.fork()
    const old = await findById(stale, Note, id)
    await t.sql`update notes set version = version + 1 where id = ${id}`
    if (!old) throw new Error(`expected note ${id}`)
    old.title = 'lost update'
    await expect(stale.flush()).rejects.toBeInstanceOf(OptimisticLockError)
  })

  it('reads inside the transaction of its EntityManager', async () => {
    const id = Bun.randomUUIDv7()
    await t.orm.em.fork().transactional(async (em) => {
      await em.execute(
        'insert into notes (id, title, body, version, created_at, updated_at) values (?, ?, ?, 1, now(), now())',
        [id, 'uncommitted', ''],
      )
      expect((await findById(em, Note, id))?.title).toBe('uncommitted')
      expect(await findById(t.orm.em.fork(), Note, id)).toBeNull()
    })
  })
})
