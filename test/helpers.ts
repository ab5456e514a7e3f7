import { SQL } from 'bun'
import { afterAll, inject } from 'vitest'
import { createOrm, migrate, type Orm } from '../src/db'
import { createLogger, type Logger } from '../src/log'
import { createApp } from '../src/server'
import { freePort } from './ports'

export const silent: Logger = createLogger('error', () => {})

/** A fresh database on the test server, dropped after the file's tests; files never share data. */
export async function createTestDatabase(): Promise<string> {
  const admin = new SQL(inject('adminDatabaseUrl'))
  // 16 hex digits: with the longest project name allowed (40) this stays within Postgres' 63-character names.
  const name = `bakehouse_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  await admin.unsafe(`create database "${name}"`)
  afterAll(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.close()
  })
  const url = new URL(inject('adminDatabaseUrl'))
  url.pathname = `/${name}`
  return url.toString()
}

export interface TestApp {
  app: ReturnType<typeof createApp>
  orm: Orm
  url: string
  /** Raw SQL on the same database, to assert what was really stored. */
  sql: SQL
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
}

/** A migrated database plus the real app on top of it, driven in-process through app.handle. */
export async function createTestApp({ migrated = true, log = silent } = {}): Promise<TestApp> {
  const url = await createTestDatabase()
  const orm = await createOrm({ url, poolMax: 5, log })
  if (migrated) await migrate(orm)
  const sql = new SQL(url)
  afterAll(async () => {
    await sql.close()
    await orm.close()
  }, 30_000)
  const app = createApp({ config: { bodyLimitBytes: 64 * 1024 }, orm, log })
  const request = (path: string, { json, ...init }: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers)
    if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json')
    return app.handle(
      new Request(`http://localhost${path}`, {
        ...init,
        headers,
        ...(json !== undefined && { body: JSON.stringify(json) }),
      }),
    )
  }
  return { app, orm, url, sql, request }
}

/** The real app on a database nobody listens for: every query fails the way a dead server does. */
export async function unreachableApp() {
  const orm = await createOrm({
    url: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`,
    poolMax: 1,
    log: silent,
  })
  afterAll(() => orm.close())
  return createApp({ config: { bodyLimitBytes: 1024 }, orm, log: silent })
}

export const PROBLEM = 'application/problem+json'

/** Asserts an RFC 9457 body with the given status and returns it. */
export async function expectProblem(response: Response, status: number) {
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>
  if (response.status !== status || !response.headers.get('content-type')?.startsWith(PROBLEM)) {
    throw new Error(
      `expected ${status} problem+json, got ${response.status} ${response.headers.get('content-type')}: ${JSON.stringify(body).slice(0, 300)}`,
    )
  }
  if (body.status !== status || typeof body.title !== 'string' || typeof body.type !== 'string') {
    throw new Error(`not an RFC 9457 body: ${JSON.stringify(body)}`)
  }
  return body
}

/** Bun's SQL result arrays carry extra fields (count, command); compare rows as plain data. */
export const plain = (rows: Record<string, unknown>[]) => rows.map((row) => ({ ...row }))
