import { OptimisticLockError } from '@mikro-orm/core'
import { type EntityManager, findById } from '../../db'
import { InvalidInput, NotFound, VersionConflict, VersionRequired } from '../../errors'
import { UUID } from '../../formats'
import { Note } from './entity'
import type { NoteCreate, NoteListQuery, NoteUpdate } from './model'

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export async function createNote(em: EntityManager, input: NoteCreate): Promise<Note> {
  const note = em.create(Note, { title: input.title, body: input.body ?? '' })
  await em.flush()
  return note
}

export async function getNote(em: EntityManager, id: string): Promise<Note> {
  const note = await findById(em, Note, id)
  if (!note) throw new NotFound('note', id)
  return note
}

/** Keyset pagination on the time-ordered id: stable under concurrent inserts, no OFFSET scans. */
export async function listNotes(em: EntityManager, { limit, cursor, q }: NoteListQuery): Promise<Page<Note>> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor)
  const pattern = q === undefined ? undefined : `%${q.replace(/[\\%_]/g, '\\$&')}%`
  const rows = await em.find(
    Note,
    {
      ...(after && { id: { $gt: after } }),
      ...(pattern && { $or: [{ title: { $ilike: pattern } }, { body: { $ilike: pattern } }] }),
    },
    { orderBy: { id: 'asc' }, limit: limit + 1 },
  )
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null }
}

export async function updateNote(
  em: EntityManager,
  id: string,
  { title, body }: Omit<NoteUpdate, 'version'>,
  expectedVersion: number | undefined,
): Promise<Note> {
  if (title === undefined && body === undefined) {
    throw new InvalidInput('body', '/', 'expected at least one of title, body')
  }
  if (expectedVersion === undefined) throw new VersionRequired('note')
  const note = await getNote(em, id)
  if (note.version !== expectedVersion) throw new VersionConflict('note', id, expectedVersion, note.version)
  em.assign(note, { ...(title !== undefined && { title }), ...(body !== undefined && { body }) })
  try {
    await em.flush()
  } catch (error) {
    // The versioned UPDATE matched no row: another writer got there between our read and write.
    if (error instanceof OptimisticLockError)
      throw new VersionConflict('note', id, expectedVersion, undefined)
    throw error
  }
  return note
}

/** One conditional DELETE: nothing is removed unless the row is still at the expected version. */
export async function deleteNote(
  em: EntityManager,
  id: string,
  expectedVersion: number | undefined,
): Promise<void> {
  if (expectedVersion === undefined) throw new VersionRequired('note')
  const deleted = await em.nativeDelete(Note, { id, version: expectedVersion })
  if (deleted === 1) return
  const current = await getNote(em, id)
  throw new VersionConflict('note', id, expectedVersion, current.version)
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!UUID.test(id)) throw new InvalidInput('query', '/cursor', 'expected a nextCursor returned by this API')
  return id
}
