import { afterAll, describe, expect, it } from 'vitest'
import { createOrm, migrate } from '../src/db'
import { createApp } from '../src/server'
import { createTestApp, createTestDatabase, expectProblem, plain, silent, unreachableApp } from './helpers'
import { freePort } from './ports'

describe('GET /health/live', () => {
  it('answers 200 without touching the database, even when it is unreachable', async () => {
    const app = await unreachableApp()
    const response = await app.handle(new Request('http://localhost/health/live'))
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ status: 'ok' })
  })

  it('reports the release it runs (RELEASE), so a deploy can tell which build answers', async () => {
    const orm = await createOrm({
      url: `postgres://x:y@127.0.0.1:${await freePort()}/none`,
      poolMax: 1,
      log: silent,
    })
    const app = createApp({ config: { bodyLimitBytes: 1024, release: '3f2a9c1' }, orm, log: silent })
    const response = await app.handle(new Request('http://localhost/health/live'))
    expect(await response.json()).toMatchObject({ status: 'ok', release: '3f2a9c1' })
  })
})

describe('GET /health/ready', () => {
  it('answers 200 when the database answers and is fully migrated', async () => {
    const t = await createTestApp()
    const response = await t.request('/health/ready')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready' })
  })

  it('answers 503 naming the pending migrations, then 200 once migrated', async () => {
    const t = await createTestApp({ migrated: false })
    const problem = await expectProblem(await t.request('/health/ready'), 503)
    expect(problem.detail).toMatch(/1 migration\(s\) pending/)
    await migrate(t.orm)
    expect((await t.request('/health/ready')).status).toBe(200)
  })

  it('answers 503 within 3 s when the database is unreachable', async () => {
    const app = await unreachableApp()
    const started = performance.now()
    const problem = await expectProblem(await app.handle(new Request('http://localhost/health/ready')), 503)
    // A stated limit (orchestrators act on it), not a speed goal: the probe itself is bounded at 2 s.
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(problem.detail).toBe('the database is not reachable')
  })

  it('does not leak the connection string in the 503', async () => {
    const url = await createTestDatabase()
    const orm = await createOrm({
      url: url.replace(/:\/\/[^@]+@/, '://nobody:wrong-password@'),
      poolMax: 1,
      log: silent,
    })
    afterAll(() => orm.close())
    const app = createApp({ config: { bodyLimitBytes: 1024 }, orm, log: silent })
    const response = await app.handle(new Request('http://localhost/health/ready'))
    const text = JSON.stringify(await expectProblem(response, 503))
    expect(text).not.toContain('wrong-password')
  })

  it("never creates the migrations table itself: that is the migrator's job, under its lock", async () => {
    const t = await createTestApp({ migrated: false })
    await expectProblem(await t.request('/health/ready'), 503)
    expect(plain(await t.sql`select to_regclass('mikro_orm_migrations') is null as missing`)).toEqual([
      { missing: true },
    ])
  })
})
