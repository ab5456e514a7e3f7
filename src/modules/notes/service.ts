import { OptimisticLockError } from '@mikro-orm/core'
import { type EntityManager, findById } from '../../db'
import { InvalidCursor, NotFound, NothingToChange, VersionRequired } from '../../errors'
import { UUID } from '../../formats'
import { acceptsVersion, type VersionCondition, versionMismatch } from '../../versioning'
import { Note } from './entity'
import { LIST_LIMIT_DEFAULT, type NoteCreate, type NoteListQuery, type NoteUpdate } from './model'

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
export async function listNotes(
  em: EntityManager,
  { limit = LIST_LIMIT_DEFAULT, cursor, q }: NoteListQuery,
): Promise<Page<Note>> {
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

/** Applies the changes if the note's current version meets `condition`; the write itself is version-checked too. */
export async function updateNote(
  em: EntityManager,
  id: string,
  { title, body }: Omit<NoteUpdate, 'version'>,
  condition: VersionCondition | undefined,
): Promise<Note> {
  if (title === undefined && body === undefined) {
    throw new NothingToChange(['title', 'body'])
  }
  if (condition === undefined) throw new VersionRequired('note')
  const note = await getNote(em, id)
  if (!acceptsVersion(condition, note.version)) throw versionMismatch(condition, 'note', id, note.version)
  em.assign(note, { ...(title !== undefined && { title }), ...(body !== undefined && { body }) })
  try {
    await em.flush()
  } catch (error) {
    // The versioned UPDATE matched no row: another writer got there between our read and write.
    if (error instanceof OptimisticLockError) throw versionMismatch(condition, 'note', id, undefined)
    throw error
  }
  return note
}

/** One conditional DELETE: nothing is removed unless the row's version still meets `condition`. */
export async function deleteNote(
  em: EntityManager,
  id: string,
  condition: VersionCondition | undefined,
): Promise<void> {
  if (condition === undefined) throw new VersionRequired('note')
  const versions = condition.versions
  // A condition naming no version this API could have issued matches nothing: no DELETE is sent.
  const deleted =
    versions?.length === 0
      ? 0
      : await em.nativeDelete(Note, { id, ...(versions && { version: { $in: [...versions] } }) })
  if (deleted === 1) return
  const current = await getNote(em, id)
  throw versionMismatch(condition, 'note', id, current.version)
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!UUID.test(id)) throw new InvalidCursor()
  return id
}
