import { SQL } from 'bun'
import { accessLog, port, requestId } from './plumbing'

// GET /notes/:id on raw Bun.serve and Bun's built-in Postgres client: the floor for a Bun service on this database.
const sql = new SQL({ url: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 10) })
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface Row {
  id: string
  title: string
  body: string
  version: number
  created_at: Date
  updated_at: Date
}

Bun.serve({
  hostname: '127.0.0.1',
  port,
  routes: {
    '/notes/:id': async (request) => {
      const started = performance.now()
      const id = requestId(request.headers.get('x-request-id'))
      const noteId = request.params.id
      if (!UUID.test(noteId)) return Response.json({ status: 422 }, { status: 422 })
      const [row] = await sql<Row[]>`select * from notes where id = ${noteId}`
      const response = row
        ? Response.json(
            {
              id: row.id,
              title: row.title,
              body: row.body,
              version: row.version,
              createdAt: row.created_at.toISOString(),
              updatedAt: row.updated_at.toISOString(),
            },
            { headers: { 'x-request-id': id, etag: `"${row.version}"` } },
          )
        : Response.json({ status: 404 }, { status: 404, headers: { 'x-request-id': id } })
      accessLog(request.method, new URL(request.url).pathname, response.status, started, id)
      return response
    },
  },
  fetch: () => new Response('NOT_FOUND', { status: 404 }),
})
console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
