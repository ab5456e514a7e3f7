import { zValidator } from '@hono/zod-validator'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/bun-sql'
import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { z } from 'zod'
import { accessLog, port } from '../../plumbing'
import { notes } from './schema'

// GET /notes/:id as a Hono + Drizzle service on Bun, on Drizzle's Bun.SQL driver with the same pool size as the rest.
const db = drizzle({
  connection: { url: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 10) },
})

const app = new Hono()
app.use(requestId())
app.use(async (c, next) => {
  const started = performance.now()
  await next()
  accessLog(c.req.method, c.req.path, c.res.status, started, c.get('requestId'))
})

app.get('/notes/:id', zValidator('param', z.object({ id: z.uuid() })), async (c) => {
  const { id } = c.req.valid('param')
  const [note] = await db.select().from(notes).where(eq(notes.id, id))
  if (!note) return c.json({ status: 404, detail: `note ${id} not found` }, 404)
  c.header('etag', `"${note.version}"`)
  return c.json({ ...note, createdAt: note.createdAt.toISOString(), updatedAt: note.updatedAt.toISOString() })
})

export default { hostname: '127.0.0.1', port, fetch: app.fetch }
console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
