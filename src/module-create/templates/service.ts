import { OptimisticLockError } from '@mikro-orm/core'
import { type EntityManager, findById } from '../../db'
import { InvalidCursor, NotFound, NothingToChange, VersionRequired } from '../../errors'
import { UUID } from '../../formats'
import { acceptsVersion, type VersionCondition, versionMismatch } from '../../versioning'
import { SampleThing } from './entity'
import {
  LIST_LIMIT_DEFAULT,
  type SampleThingCreate,
  type SampleThingListQuery,
  type SampleThingUpdate,
} from './model'

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export async function createSampleThing(em: EntityManager, input: SampleThingCreate): Promise<SampleThing> {
  const sampleThing = em.create(SampleThing, { name: input.name, description: input.description ?? '' })
  await em.flush()
  return sampleThing
}

export async function getSampleThing(em: EntityManager, id: string): Promise<SampleThing> {
  const sampleThing = await findById(em, SampleThing, id)
  if (!sampleThing) throw new NotFound('sample thing', id)
  return sampleThing
}

/** Keyset pagination on the time-ordered id: stable under concurrent inserts, no OFFSET scans. */
export async function listSampleThings(
  em: EntityManager,
  { limit = LIST_LIMIT_DEFAULT, cursor, q }: SampleThingListQuery,
): Promise<Page<SampleThing>> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor)
  const pattern = q === undefined ? undefined : `%${q.replace(/[\\%_]/g, '\\$&')}%`
  const rows = await em.find(
    SampleThing,
    {
      ...(after && { id: { $gt: after } }),
      ...(pattern && { $or: [{ name: { $ilike: pattern } }, { description: { $ilike: pattern } }] }),
    },
    { orderBy: { id: 'asc' }, limit: limit + 1 },
  )
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null }
}

/** Applies the changes if the current version meets `condition`; the write itself is version-checked too. */
export async function updateSampleThing(
  em: EntityManager,
  id: string,
  { name, description }: Omit<SampleThingUpdate, 'version'>,
  condition: VersionCondition | undefined,
): Promise<SampleThing> {
  if (name === undefined && description === undefined) {
    throw new NothingToChange(['name', 'description'])
  }
  if (condition === undefined) throw new VersionRequired('sample thing')
  const sampleThing = await getSampleThing(em, id)
  if (!acceptsVersion(condition, sampleThing.version))
    throw versionMismatch(condition, 'sample thing', id, sampleThing.version)
  em.assign(sampleThing, {
    ...(name !== undefined && { name }),
    ...(description !== undefined && { description }),
  })
  try {
    await em.flush()
  } catch (error) {
    // The versioned UPDATE matched no row: another writer got there between our read and write.
    if (error instanceof OptimisticLockError) throw versionMismatch(condition, 'sample thing', id, undefined)
    throw error
  }
  return sampleThing
}

/** One conditional DELETE: nothing is removed unless the row's version still meets `condition`. */
export async function deleteSampleThing(
  em: EntityManager,
  id: string,
  condition: VersionCondition | undefined,
): Promise<void> {
  if (condition === undefined) throw new VersionRequired('sample thing')
  const versions = condition.versions
  // A condition naming no version this API could have issued matches nothing: no DELETE is sent.
  const deleted =
    versions?.length === 0
      ? 0
      : await em.nativeDelete(SampleThing, { id, ...(versions && { version: { $in: [...versions] } }) })
  if (deleted === 1) return
  const current = await getSampleThing(em, id)
  throw versionMismatch(condition, 'sample thing', id, current.version)
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!UUID.test(id)) throw new InvalidCursor()
  return id
}
