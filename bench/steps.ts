// `DATABASE_URL=<migrated database> bun bench/steps.ts`: what each step of GET /notes/:id costs, in-process (no
// HTTP, no wrk), as CPU µs of this process per operation with 10 in flight; the median of 9 batches of 3,000.
// Seeds 1,000 notes of its own and deletes them afterwards. Feeds the profile table in docs/benchmarks.md.

import { SQL } from 'bun'
import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { loadConfig } from '../src/config'
import { createOrm, findById } from '../src/db'
import { createLogger } from '../src/log'
import { Note } from '../src/modules/notes/entity'
import { createApp } from '../src/server'
import { median } from './lib/stats'

const OPS = 3_000
const BATCHES = 9
const IN_FLIGHT = 10

const { databaseUrl: url } = loadConfig()
if (!url) throw new Error('expected DATABASE_URL of a migrated database (bun run migrate first)')

// The access log is built as in production and written nowhere, so logging costs what it costs.
const log = createLogger('info', () => {})
const orm = await createOrm({ url, poolMax: IN_FLIGHT, log })
await orm.connect()
const app = createApp({ config: { bodyLimitBytes: 1_000_000 }, orm, log })
const bunSql = new SQL({ url, max: IN_FLIGHT })
const pool = new pg.Pool({ connectionString: url, max: IN_FLIGHT })

const ids = Array.from({ length: 1000 }, () => Bun.randomUUIDv7())
const now = new Date()
await bunSql`insert into notes ${bunSql(ids.map((id, i) => ({ id, title: `steps ${i}`, body: 'flour, water, salt', version: 1, created_at: now, updated_at: now })))}`
let next = 0
const id = () => ids[next++ % ids.length] as string

/** CPU µs of this process per call of `op`, with IN_FLIGHT calls in flight: median of BATCHES batches. */
async function cpuPerOp(op: () => unknown): Promise<number> {
  const batch = async () => {
    let left = OPS
    const worker = async () => {
      while (left-- > 0) await op()
    }
    const before = process.cpuUsage()
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    const { user, system } = process.cpuUsage(before)
    return (user + system) / OPS
  }
  await batch()
  const samples: number[] = []
  for (let b = 0; b < BATCHES; b++) samples.push(await batch())
  return median(samples)
}

const connection = orm.em.getConnection()
const row = await connection.execute('select * from notes where id = ?', [ids[0]], 'get')
const byIdSql = orm.em.createQueryBuilder(Note).select('*').where({ id: id() }).getQuery()
const get = (path: string) =>
  app.handle(new Request(`http://localhost${path}`)).then((response) => response.text())

const steps: [string, () => unknown][] = [
  ['Bun.sql query (driver floor)', () => bunSql`select * from notes where id = ${id()}`],
  ['pg Pool.query, $1', () => pool.query('select * from notes where id = $1', [id()])],
  [
    'Kysely executeQuery on pg, $1',
    () => connection.getClient().executeQuery(CompiledQuery.raw('select * from notes where id = $1', [id()])),
  ],
  ["MikroORM connection.execute (the ORM's driver path)", () => connection.execute(byIdSql, [id()], 'get')],
  ['em.fork()', () => orm.em.fork()],
  [
    'fork + QueryBuilder build and compile',
    () => orm.em.fork().createQueryBuilder(Note).select('*').where({ id: id() }).getFormattedQuery(),
  ],
  ['fork + em.map(row): hydration and identity map', () => orm.em.fork().map(Note, row as never)],
  ['fork + em.findOne(Note, id)', () => orm.em.fork().findOne(Note, id())],
  ['fork + findById(em, Note, id)', () => findById(orm.em.fork(), Note, id())],
  ['app.handle GET /health/live (Elysia plumbing, no database)', () => get('/health/live')],
  ['app.handle GET /notes/:id (the whole request, no HTTP)', () => get(`/notes/${id()}`)],
]
try {
  console.log('| step | CPU µs per op |\n| --- | ---: |')
  for (const [name, op] of steps) console.log(`| ${name} | ${Math.round(await cpuPerOp(op))} |`)
} finally {
  await bunSql`delete from notes where id in ${bunSql(ids)}`
  await Promise.all([orm.close(), bunSql.close(), pool.end()])
}
