// GET /health/live on Fastify 5 under Node: same body, X-Request-Id and one JSON access-log line as the others.
import Fastify from 'fastify'

const REQUEST_ID = /^[\w.:@-]{1,128}$/
const release = process.env.RELEASE ?? 'unknown'
const port = Number(process.env.PORT ?? 3000)

const app = Fastify({ logger: false })
app.addHook('onRequest', async (request, reply) => {
  request.startedAt = performance.now()
  const incoming = request.headers['x-request-id']
  reply.header('x-request-id', incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID())
})
app.addHook('onResponse', async (request, reply) => {
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'info',
      msg: 'request',
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      durationMs: Math.round((performance.now() - request.startedAt) * 100) / 100,
      requestId: reply.getHeader('x-request-id'),
    }),
  )
})
app.get('/health/live', async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()), release }))
await app.listen({ host: '127.0.0.1', port })
console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
