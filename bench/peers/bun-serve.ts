import { accessLog, port, requestId } from './plumbing'

// The raw Bun.serve twin of GET /health/live: same body, headers and access log, no framework.
const release = process.env.RELEASE ?? 'unknown'

Bun.serve({
  hostname: '127.0.0.1',
  port,
  routes: {
    '/health/live': (request) => {
      const started = performance.now()
      const id = requestId(request.headers.get('x-request-id'))
      const response = Response.json(
        { status: 'ok', uptimeSeconds: Math.round(process.uptime()), release },
        { headers: { 'x-request-id': id } },
      )
      accessLog(request.method, '/health/live', 200, started, id)
      return response
    },
  },
  fetch: () => new Response('NOT_FOUND', { status: 404 }),
})
console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
