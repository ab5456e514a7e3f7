import type { EntityClass, EntityData, EntityMetadata, Primary } from '@mikro-orm/core'
import { Migrator } from '@mikro-orm/migrations'
import { type EntityManager, MikroORM } from '@mikro-orm/postgresql'
import { Elysia } from 'elysia'
import type { Logger } from './log'
import { migrationsList } from './migrations'
import { entities } from './modules/entities'

export type { EntityManager }
export type Orm = MikroORM

/** Shown in pg_stat_activity, so operators (and tests) can tell our connections apart. */
export const APPLICATION_NAME = 'bakehouse'

/** Any 64-bit number works; it only has to be the same for every process migrating this database. */
const MIGRATION_LOCK_KEY = 7_261_126_001

export interface DbOptions {
  url: string
  poolMax: number
  log: Logger
}

/**
 * Server, credentials and database from a postgres:// URL. The host may be a bracketed IPv6 address or a
 * percent-encoded socket directory (as libpq and node-postgres read it), or come from a `?host=` parameter.
 */
export function connectionOptions(url: string) {
  const parsed = new URL(url)
  const host = parsed.searchParams.get('host') ?? decodeURIComponent(parsed.hostname)
  return {
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    dbName: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
  }
}

/** Builds the ORM without touching the network; `connect` and `migrate` do the I/O. */
export async function createOrm({ url, poolMax, log }: DbOptions): Promise<Orm> {
  return MikroORM.init({
    // Parts rather than clientUrl: MikroORM would pass an IPv6 host on with its brackets.
    ...connectionOptions(url),
    entities,
    extensions: [Migrator],
    // Bundled builds cannot glob the filesystem, so migrations are listed in code.
    migrations: { migrationsList, snapshot: false, silent: true },
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000 },
    // A dead or unreachable server must fail a query quickly rather than hang readiness probes.
    driverOptions: { connectionTimeoutMillis: 3_000, application_name: APPLICATION_NAME },
    discovery: { warnWhenNoEntities: false },
    ensureDatabase: false,
    allowGlobalContext: false,
    debug: false,
    logger: (message) => log.debug(message),
  })
}

/** Where a URL points, without the password: safe to log. */
export const describeUrl = (url: string) => describeTarget(connectionOptions(url))

function describeTarget({ host, port, dbName }: { host?: string; port?: number; dbName?: string }) {
  return `${host?.includes(':') ? `[${host}]` : host}:${port}/${dbName}`
}

/** Waits for Postgres with exponential backoff (capped at 5 s) until `timeoutMs`, saying what it waits for. */
export async function connect(orm: Orm, timeoutMs: number, log: Logger): Promise<void> {
  const target = describeTarget({
    host: orm.config.get('host'),
    port: orm.config.get('port'),
    dbName: orm.config.get('dbName'),
  })
  const deadline = Date.now() + timeoutMs
  // Creates the pool only; the round trip in checkConnection is what proves the server answers.
  await orm.connect()
  for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
    const check = await orm.checkConnection()
    if (check.ok) {
      log.info('database connected', { target, attempt })
      return
    }
    const remaining = deadline - Date.now()
    if (remaining <= 0) {
      throw new Error(
        `Postgres at ${target} is not reachable after ${attempt} attempts (${check.reason}). ` +
          'Check DATABASE_URL and that the server is running.',
      )
    }
    log.warn('waiting for database', {
      target,
      attempt,
      retryInMs: Math.min(delay, remaining),
      reason: check.reason,
    })
    await Bun.sleep(Math.min(delay, remaining))
  }
}

/**
 * Applies pending migrations while holding a transaction-scoped advisory lock, so concurrent runs
 * (replicas starting together, a deploy racing a dev container) apply each migration exactly once.
 */
export async function migrate(orm: Orm): Promise<string[]> {
  return orm.em.fork().transactional(async (em) => {
    await em.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY])
    const applied = await orm.migrator.up({ transaction: em.getTransactionContext() })
    return applied.map((migration) => migration.name)
  })
}

/** The listed migrations the database has not recorded, in order, as the migrator names them (no .ts/.js). */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  // Read directly: the migrator's getPending() creates a missing table (outside the migration lock) and builds the
  // migrator on the first probe, which leaves the api's idle process about 0.7 MB larger.
  const table = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations'
  const connection = orm.em.getConnection()
  const [row] = await connection.execute<{ found: boolean }[]>('select to_regclass(?) is not null as found', [
    table,
  ])
  const executed = row?.found
    ? await connection.execute<{ name: string }[]>(
        `select name from ${connection.getPlatform().quoteIdentifier(table)}`,
      )
    : []
  const withoutExtension = (name: string) => name.replace(/\.[jt]s$/, '')
  const recorded = new Set(executed.map((migration) => withoutExtension(migration.name)))
  return migrationsList
    .map((migration) => withoutExtension(migration.name))
    .filter((name) => !recorded.has(name))
}

/** One EntityManager fork per request: a fresh identity map, no state shared between requests. */
export const db = (orm: Orm) => new Elysia().derive({ as: 'scoped' }, () => ({ em: orm.em.fork() }))

// One statement per entity (and ORM: metadata objects are per ORM), built by the ORM's own query builder.
const byIdStatements = new WeakMap<EntityMetadata, string>()

/**
 * `em.findOne(entity, id)` for the hot read by primary key, at a third of its cost: the SQL is compiled once per
 * entity instead of on every call, and the row goes through `em.map`, so the entity is hydrated, put in the
 * identity map and tracked by the unit of work just as findOne's would be (ADR 0032). No filters, populate or
 * locks: use `em.findOne` when you need those.
 */
export async function findById<T extends object>(
  em: EntityManager,
  entity: EntityClass<T>,
  id: Primary<T>,
): Promise<T | null> {
  const loaded = em.getUnitOfWork().getById(entity, id)
  if (loaded) return loaded
  const meta = em.getMetadata(entity)
  let sql = byIdStatements.get(meta)
  if (sql === undefined) {
    if (meta.primaryKeys.length !== 1)
      throw new Error(
        `findById expects one primary key column, ${meta.className} has ${meta.primaryKeys.length}`,
      )
    sql = em
      .createQueryBuilder(entity)
      .select('*')
      // For an unknown entity T the builder's condition type cannot be spelled; the key is T's primary key.
      .where({ [meta.primaryKeys[0] as string]: id } as never)
      .getQuery()
    byIdStatements.set(meta, sql)
  }
  // 'get' resolves to the first row, or undefined when there is none.
  const row: EntityData<T> | undefined = await em.execute<EntityData<T>>(sql, [id], 'get')
  return row ? em.map(entity, row) : null
}
