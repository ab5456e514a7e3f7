import { describe, expect, it } from 'vitest'
import { createOrm, migrate, pendingMigrations } from '../src/db'
import { migrationsList } from '../src/migrations'
import { createTestDatabase, plain, silent } from './helpers'

const applied = async (url: string) => {
  const { SQL } = await import('bun')
  const sql = new SQL(url)
  const rows = plain(await sql`select name from mikro_orm_migrations order by id`)
  await sql.close()
  return rows.map((row) => row.name)
}

describe('migrate', () => {
  it('applies every listed migration once and reports nothing pending', async () => {
    const url = await createTestDatabase()
    const orm = await createOrm({ url, poolMax: 2, log: silent })
    expect(await migrate(orm)).toEqual(migrationsList.map((m) => m.name))
    expect(await migrate(orm)).toEqual([])
    expect(await pendingMigrations(orm)).toEqual([])
    await orm.close()
    expect(await applied(url)).toEqual(migrationsList.map((m) => m.name))
  })

  it('applies each migration exactly once when five connections race in one process', async () => {
    const url = await createTestDatabase()
    const orms = await Promise.all(
      Array.from({ length: 5 }, () => createOrm({ url, poolMax: 2, log: silent })),
    )
    const results = await Promise.all(orms.map((orm) => migrate(orm)))
    expect(results.flat().sort()).toEqual(migrationsList.map((m) => m.name))
    await Promise.all(orms.map((orm) => orm.close()))
    expect(await applied(url)).toEqual(migrationsList.map((m) => m.name))
  })

  it('applies each migration exactly once when five processes migrate at the same time', async () => {
    const url = await createTestDatabase()
    const runs = Array.from({ length: 5 }, () =>
      Bun.spawn(['bun', 'src/migrate.ts'], {
        env: { PATH: process.env.PATH, DATABASE_URL: url, LOG_LEVEL: 'error' },
        stdout: 'pipe',
        stderr: 'pipe',
      }),
    )
    const codes = await Promise.all(runs.map((run) => run.exited))
    expect(codes).toEqual([0, 0, 0, 0, 0])
    expect(await applied(url)).toEqual(migrationsList.map((m) => m.name))
  })

  it('exits non-zero with a message that says what to do when no database is configured', async () => {
    const run = Bun.spawn(['bun', 'src/migrate.ts'], {
      env: { PATH: process.env.PATH },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await run.exited).toBe(1)
    expect(await new Response(run.stdout).text()).toMatch(/set DATABASE_URL/)
  })
})
