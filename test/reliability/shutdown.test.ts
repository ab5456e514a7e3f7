import { connect } from 'node:net'
import { SQL } from 'bun'
import { afterAll, describe, expect, it } from 'vitest'
import { APPLICATION_NAME } from '../../src/db'
import { createTestDatabase } from '../helpers'
import { freePort } from '../ports'
import { recordFigures } from './figures'

const IN_FLIGHT = 50

/** A raw HTTP/1.1 POST whose body is sent in two parts, so it stays in flight until `finish`. */
function slowPost(port: number, body: string) {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString()
  })
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  socket.on('error', () => {})
  const half = Math.floor(body.length / 2)
  const opened = new Promise<void>((resolve) => socket.on('connect', () => resolve()))
  socket.write(
    `POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  )
  // write, not end: Bun drops a stopping server's socket once the client half-closes it (ADR 0001).
  return { opened, finish: () => socket.write(body.slice(half)), response: closed }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within ${timeoutMs} ms`)
    await Bun.sleep(100)
  }
}

const url = await createTestDatabase()
const sql = new SQL(url)
afterAll(() => sql.close())

describe('graceful shutdown of the server process', () => {
  it(`SIGTERM with ${IN_FLIGHT} in-flight slow requests: all complete, no new ones accepted, pool closed, exit 0`, async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, LOG_LEVEL: 'warn' }
    expect(await Bun.spawn(['bun', 'src/migrate.ts'], { env }).exited).toBe(0)
    const port = await freePort()
    const child = Bun.spawn(['bun', 'src/index.ts'], {
      env: { ...env, PORT: String(port), SHUTDOWN_TIMEOUT_MS: '10000' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      const ready = () =>
        fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (r) => r.status === 200,
          () => false,
        )
      await until(ready, 20_000, '/health/ready to answer 200')

      const requests = Array.from({ length: IN_FLIGHT }, (_, i) =>
        slowPost(port, JSON.stringify({ title: `in flight ${i}`, body: 'x'.repeat(200) })),
      )
      await Promise.all(requests.map((r) => r.opened))
      await Bun.sleep(300)
      const signalled = performance.now()
      child.kill('SIGTERM')
      await Bun.sleep(300)
      const refused = await fetch(`http://127.0.0.1:${port}/health/live`).then(
        () => false,
        () => true,
      )
      for (const request of requests) request.finish()
      const responses = await Promise.all(requests.map((r) => r.response))
      const code = await child.exited
      const drainedMs = Math.round(performance.now() - signalled)

      const completed = responses.filter((r) => /^HTTP\/1.1 201 /.test(r)).length
      expect(completed).toBe(IN_FLIGHT)
      expect(refused).toBe(true)
      expect(child.signalCode).toBe(null)
      expect(code).toBe(0)
      const titles = (await sql`select title from notes`).map((r: { title: string }) => r.title)
      expect(titles.sort()).toEqual(Array.from({ length: IN_FLIGHT }, (_, i) => `in flight ${i}`).sort())
      const [{ n }] =
        await sql`select count(*)::int as n from pg_stat_activity where application_name = ${APPLICATION_NAME}`
      expect(n).toBe(0)
      recordFigures('shutdown-process', {
        inFlight: IN_FLIGHT,
        completed,
        exitCode: code,
        newConnectionsRefused: refused,
        appConnectionsLeft: n,
        drainedMs,
      })
    } finally {
      child.kill('SIGKILL')
    }
  })
})
