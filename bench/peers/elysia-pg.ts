import { Elysia, t } from 'elysia'
import pg from 'pg'
import { accessLog, port, requestId } from './plumbing'

// GET /notes/:id on Elysia with node-postgres and no ORM: what our stack would be without MikroORM.
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_MAX ?? 10),
})

const started = new WeakMap<Request, number>()

new Elysia()
  .onRequest(({ request, set }) => {
    started.set(request, performance.now())
    set.headers['x-request-id'] = requestId(request.headers.get('x-request-id'))
  })
  .onAfterResponse(({ request, set }) =>
    accessLog(
      request.method,
      new URL(request.url).pathname,
      Number(set.status),
      started.get(request) ?? 0,
      String(set.headers['x-request-id']),
    ),
  )
  .get(
    '/notes/:id',
    async ({ params, set, status }) => {
      const { rows } = await pool.query('select * from notes where id = $1', [params.id])
      const row = rows[0]
      if (!row) return status(404, { status: 404 })
      set.headers.etag = `"${row.version}"`
      return {
        id: row.id,
        title: row.title,
        body: row.body,
        version: row.version,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      }
    },
    { params: t.Object({ id: t.String({ format: 'uuid' }) }) },
  )
  .listen({ hostname: '127.0.0.1', port })
console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
