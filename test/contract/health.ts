import { describe, expect, it } from 'vitest'
import { type Contract, eventually, expectProblem } from './harness'

/** The probes an orchestrator relies on. Liveness while the database fails is in faults.ts. */
export function healthContract(api: Contract) {
  const ready = () => api.client.GET('/health/ready')
  const untilReady = () => eventually(async () => expect((await ready()).response.status).toBe(200), 10)

  describe('the document', () => {
    it('lists the two probes', async () => {
      expect(await api.operationsUnder('/health')).toEqual([
        'GET /health/live live',
        'GET /health/ready ready',
      ])
    })
  })

  describe('GET /health/live', () => {
    it('answers 200 with the uptime and the release that runs', async () => {
      const { data, response } = await api.client.GET('/health/live')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(data).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number), release: api.target.release })
      expect(Number.isInteger(data?.uptimeSeconds) && (data?.uptimeSeconds as number) >= 0).toBe(true)
    })
  })

  describe('GET /health/ready', () => {
    it('answers 200 when the database answers and is fully migrated', async () => {
      const { data, response } = await ready()
      expect(response.status).toBe(200)
      expect(data).toEqual({ status: 'ready' })
    })

    it('answers 503 with Retry-After naming the pending migrations, then 200 once they are applied', async () => {
      const [applied] = await api.sql<{ id: number; name: string; executed_at: string }>(
        'delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations) returning id, name, executed_at::text',
      )
      try {
        const answer = await ready()
        const problem = await expectProblem(answer, 503)
        expect(answer.response.headers.get('retry-after')).toBe('5')
        expect(problem.detail).toBe('1 migration(s) pending: run `bun run migrate`')
      } finally {
        await api.sql(
          `insert into mikro_orm_migrations (id, name, executed_at) values (${applied?.id}, '${applied?.name}', '${applied?.executed_at}')`,
        )
      }
      await untilReady()
    })

    it("never creates the migrations table itself: that is the migrator's job, under its lock", async () => {
      await api.sql('alter table mikro_orm_migrations rename to contract_migrations_away')
      try {
        const problem = await expectProblem(await ready(), 503)
        expect(problem.detail).toMatch(/^\d+ migration\(s\) pending/)
        const [row] = await api.sql<{ missing: boolean }>(
          "select to_regclass('mikro_orm_migrations') is null as missing",
        )
        expect(row).toEqual({ missing: true })
      } finally {
        await api.sql('alter table contract_migrations_away rename to mikro_orm_migrations')
      }
      await untilReady()
    })
  })
}
