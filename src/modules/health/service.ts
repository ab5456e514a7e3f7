import { type Orm, pendingMigrations } from '../../db'
import { DatabaseNotReady } from '../../errors'

const READY_TIMEOUT_MS = 2_000

/** Ready = a database round trip answers in time and the schema is fully migrated. */
export async function checkReady(orm: Orm): Promise<{ status: 'ready' }> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DatabaseNotReady(`no answer within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    )
  })
  try {
    const pending = await Promise.race([pendingMigrations(orm), timeout]).catch((error) => {
      throw error instanceof DatabaseNotReady ? error : new DatabaseNotReady('the database is not reachable')
    })
    if (pending.length > 0)
      throw new DatabaseNotReady(`${pending.length} migration(s) pending: run \`bun run migrate\``)
    return { status: 'ready' }
  } finally {
    clearTimeout(timer)
  }
}
