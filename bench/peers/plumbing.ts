// The per-request work every JavaScript peer shares with our stack (src/http.ts), so a gap is the framework's, not
// a skipped feature: a validated or fresh X-Request-Id and one JSON access-log line on stdout.
const REQUEST_ID = /^[\w.:@-]{1,128}$/

export const requestId = (incoming: string | null) =>
  incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()

export function accessLog(method: string, path: string, status: number, started: number, id: string): void {
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'info',
      msg: 'request',
      method,
      path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      requestId: id,
    }),
  )
}

export const port = Number(process.env.PORT ?? 3000)
