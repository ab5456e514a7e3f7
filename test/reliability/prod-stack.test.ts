import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APPLICATION_NAME } from '../../src/db'
import { migrationsList } from '../../src/migrations'
import { bake, leftovers, must, run, since } from '../containers/docker'
import { recordFigures } from './figures'
import {
  base,
  type Container,
  compose,
  composeArgs,
  container,
  containerOf,
  env,
  mainProcess,
  project,
  psql,
  remove,
  status,
  waitFor,
} from './prod-stack'
import { insertsThrough, slowPost, verifyDurability } from './prod-traffic'
import { runtimePolicy, services } from './runtime-policy'

// The hardened prod stack from compose.prod.yaml, on loopback, put through faults one at a time.

const figures: Record<string, unknown> = {}

beforeAll(async () => {
  await bake(['prod'])
})

afterAll(async () => {
  await run([...composeArgs, 'down', '--volumes', '--remove-orphans', '--timeout', '5'], {
    env,
  })
  remove()
  recordFigures('prod-stack', figures)
})

describe('prod stack: start order and migrations', () => {
  it('API started before the database: stays up, live 200, ready 503, no restart', async () => {
    await compose('up', '--detach', '--no-deps', 'api')
    await waitFor('/health/live 200', async () => (await status('/health/live')) === 200, 20)
    // Long enough for several connection attempts and backoff rounds to fail.
    for (let i = 0; i < 16; i++) {
      expect(await status('/health/live')).toBe(200)
      expect(await status('/health/ready')).toBe(503)
      await Bun.sleep(500)
    }
    const api = await container('api')
    expect(api.State.Running).toBe(true)
    expect(api.RestartCount).toBe(0)
  })

  it('5 concurrent migrate runs apply each migration exactly once; the waiting API turns ready', async () => {
    await compose('up', '--detach', '--wait', 'db')
    const start = performance.now()
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => run([...composeArgs, 'run', '--rm', '--no-deps', 'migrate'], { env })),
    )
    const migrateSeconds = since(start)
    expect(
      runs.map((r) => r.code),
      runs.map((r) => r.stderr).join('\n'),
    ).toEqual([0, 0, 0, 0, 0])
    const rows = (await psql('select name, count(*) from mikro_orm_migrations group by name order by name'))
      .trim()
      .split('\n')
    expect(rows).toEqual(migrationsList.map((m) => `${m.name}|1`).sort())
    const readyMs = await waitFor(
      '/health/ready 200',
      async () => (await status('/health/ready')) === 200,
      15,
    )
    // Its HEALTHCHECK asks for readiness until it first passes, so the container turns healthy only now.
    const healthyMs = await waitFor(
      'the api container healthy',
      async () => (await container('api')).State.Health?.Status === 'healthy',
      20,
    )
    const api = await container('api')
    expect(api.RestartCount).toBe(0)
    figures.migrations = {
      concurrentRuns: 5,
      exitCodes: runs.map((r) => r.code),
      appliedRows: rows,
      migrateSeconds,
    }
    figures.apiBeforeDb = {
      restarts: api.RestartCount,
      readyAfterMigrateMs: Math.round(readyMs),
      healthyAfterReadyMs: Math.round(healthyMs),
    }
  })
})

describe('prod stack: runtime policy (docker inspect and /proc of every container process)', () => {
  const checks: { check: string; violations: string[] }[] = []
  runtimePolicy((check, violations) =>
    it(check, async () => {
      const found = await violations()
      checks.push({ check, violations: found })
      expect(found).toEqual([])
    }),
  )

  it('ran at least 12 checks with 0 violations', () => {
    const violations = checks.reduce((sum, c) => sum + c.violations.length, 0)
    figures.runtimePolicy = {
      checks: checks.length,
      containers: services.length,
      violations,
      failed: checks.filter((c) => c.violations.length),
    }
    expect(checks.length).toBeGreaterThanOrEqual(12)
    expect(violations).toBe(0)
  })
})

describe('prod stack: limits over real HTTP', () => {
  it('a body one byte over the default 1 MiB limit → 413 problem+json', async () => {
    const limit = 1024 * 1024
    const envelope = JSON.stringify({ title: 'limit', body: '' })
    const body = JSON.stringify({ title: 'limit', body: 'y'.repeat(limit + 1 - envelope.length) })
    const response = await fetch(`${base}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(response.status).toBe(413)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ status: 413, limit })
    expect(await psql("select count(*) from notes where title = 'limit'")).toBe('0\n')
  })
})

describe('prod stack: dependency loss', () => {
  it('DB stopped for 10 s: ready 503 within 3 s, live 200 throughout, ready again within 5 s of the DB returning', async () => {
    const samples: { at: number; live: number; ready: number }[] = []
    let sampling = true
    const t0 = performance.now()
    const sampler = (async () => {
      while (sampling) {
        const [live, ready] = await Promise.all([status('/health/live'), status('/health/ready')])
        samples.push({ at: performance.now() - t0, live, ready })
        await Bun.sleep(100)
      }
    })()
    await Bun.sleep(500)
    const stopIssued = performance.now() - t0
    await compose('stop', 'db')
    const stopped = performance.now() - t0
    // The image's HEALTHCHECK, run by hand mid-outage: having passed once, it asks only for liveness.
    const api = await container('api')
    const probe = await run(['docker', 'exec', api.Id, ...(api.Config.Healthcheck?.Test.slice(1) ?? [])])
    await Bun.sleep(Math.max(0, 10_000 - (performance.now() - t0 - stopIssued)))
    const startIssued = performance.now() - t0
    await compose('start', 'db')
    const started = performance.now() - t0
    await waitFor(
      '/health/ready 200 after the DB returned',
      async () => samples.some((s) => s.at > started && s.ready === 200),
      15,
    )
    sampling = false
    await sampler

    const first503 = samples.find((s) => s.at > stopIssued && s.ready === 503)
    const readyAgain = samples.find((s) => s.at > started && s.ready === 200)
    const liveFailures = samples.filter((s) => s.live !== 200)
    const after = await container('api')
    figures.dependencyLoss = {
      dbDownSeconds: Math.round((startIssued - stopIssued) / 100) / 10,
      samples: samples.length,
      stopCommandMs: Math.round(stopped - stopIssued),
      ready503AfterStopIssuedMs: first503 && Math.round(first503.at - stopIssued),
      readyAgainAfterStartReturnedMs: readyAgain && Math.round(readyAgain.at - started),
      readyAgainAfterStartIssuedMs: readyAgain && Math.round(readyAgain.at - startIssued),
      liveNon200: liveFailures.length,
      healthcheckDuringOutageExit: probe.code,
      healthAfter: after.State.Health?.Status,
      apiRestarts: after.RestartCount,
    }
    expect(first503, JSON.stringify(samples.slice(0, 20))).toBeDefined()
    expect((first503?.at ?? Infinity) - stopIssued).toBeLessThanOrEqual(3_000)
    expect(liveFailures).toEqual([])
    expect((readyAgain?.at ?? Infinity) - started).toBeLessThanOrEqual(5_000)
    // The readiness probe answered 503 (not 200) for as long as the database was away.
    expect(samples.filter((s) => s.at > stopped && s.at < startIssued && s.ready !== 503)).toEqual([])
    expect(probe.code, probe.stderr).toBe(0)
    expect(after.State.Health?.Status).toBe('healthy')
    expect(after.RestartCount).toBe(0)
  })
})
describe('prod stack: durability', () => {
  for (const service of ['api', 'db'] as const) {
    it(`kill -9 the ${service} during 2 000 inserts: no acknowledged write lost, no duplicate, the stack comes back by itself`, async () => {
      const before = await container(service)
      const label = `durability-${service}-${Date.now()}`
      const start = performance.now()
      let killedAt = 0
      const result = await insertsThrough(label, 2_000, 400, async () => {
        // The server process under tini, killed from the host as a crash or the OOM killer would.
        const main = await mainProcess(service)
        killedAt = performance.now()
        process.kill(main.pid, 'SIGKILL')
        // Loud, not later and vague: the kill must take the container down and Docker must restart it.
        await waitFor(
          `Docker to restart the ${service} after kill -9 of pid ${main.pid} (${main.args})`,
          async () => {
            return (await container(service)).RestartCount > before.RestartCount
          },
          15,
        )
      })
      const recoveredMs = await waitFor(
        'the stack to be ready again',
        async () => (await status('/health/ready')) === 200,
        60,
      )
      const after = await container(service)
      const { lost, duplicates, stored } = await verifyDurability(label, result)
      figures[`durability-${service}`] = {
        inserts: 2_000,
        acknowledged: result.acknowledged.size,
        acknowledgedAfterKill: result.ackedAfterFault,
        unacknowledged: result.unacknowledged,
        stored,
        refusals: result.refusals,
        lost: lost.length,
        duplicates: duplicates.length,
        restartsByDocker: after.RestartCount - before.RestartCount,
        runSeconds: since(start),
        // Includes requests already in flight when the kill landed, so it is an upper bound on the outage.
        firstAcknowledgedAfterKillMs: result.firstAckAfterFaultMs,
        readyAfterRunMs: Math.round(recoveredMs),
      }
      expect(killedAt).toBeGreaterThan(0)
      expect(lost).toEqual([])
      expect(duplicates).toEqual([])
      expect(result.acknowledged.size + result.unacknowledged).toBe(2_000)
      // While the fault lasts the API says "unavailable" (503 problem+json) or cannot answer; never a 500.
      const unhandled = (await must(['docker', 'logs', await containerOf('api')]))
        .split('\n')
        .filter((line) => line.includes('"unhandled error"'))
        .map((line) => (JSON.parse(line) as { error: { name: string; message: string } }).error)
        .map((e) => `${e.name}: ${e.message}`)
      expect(
        Object.keys(result.refusals).filter(
          (k) => k !== 'no response' && k !== '503 application/problem+json',
        ),
        unhandled.join('\n'),
      ).toEqual([])
      expect(result.ackedAfterFault).toBeGreaterThan(0)
      expect(after.RestartCount).toBe(before.RestartCount + 1)
      expect(after.State.Running).toBe(true)
    })
  }
})
describe('prod stack: graceful shutdown', () => {
  it('docker stop with 50 in-flight slow requests: 50/50 complete, exit 0 (never 137), no app connection left', async () => {
    await waitFor('/health/ready 200', async () => (await status('/health/ready')) === 200, 30)
    const id = await containerOf('api')
    const requests = Array.from({ length: 50 }, (_, i) =>
      slowPost(JSON.stringify({ title: `shutdown-${i}` })),
    )
    await Bun.sleep(500)
    const start = performance.now()
    const stopping = must(['docker', 'stop', '--time', '15', id])
    await Bun.sleep(500)
    for (const request of requests) request.finish()
    const responses = await Promise.all(requests.map((r) => r.response))
    await stopping
    const stopSeconds = since(start)
    const log = (await must(['docker', 'logs', id])).split('\n').filter((line) => line.startsWith('{'))
    const shutdownLines = log
      .map((line) => JSON.parse(line) as { msg: string; time: string })
      .filter((l) => /shutting down|shutdown timeout|stopped/.test(l.msg))
    console.log(
      `api shutdown log: ${JSON.stringify(shutdownLines)}; last lines: ${log.slice(-3).join(' | ')}`,
    )
    const [info] = JSON.parse(await must(['docker', 'inspect', id])) as Container[]
    const completed = responses.filter((r) => /^HTTP\/1.1 201 /.test(r)).length
    const stored = Number(await psql("select count(*) from notes where title like 'shutdown-%'"))
    const connections = Number(
      await psql(`select count(*) from pg_stat_activity where application_name = '${APPLICATION_NAME}'`),
    )
    const poolCloseTimedOut = log.some((line) => line.includes('database pool did not close in time'))
    figures.shutdownContainer = {
      poolCloseTimedOut,
      inFlight: 50,
      completed,
      stored,
      exitCode: info?.State.ExitCode,
      appConnectionsLeft: connections,
      stopSeconds,
    }
    expect(completed).toBe(50)
    expect(stored).toBe(50)
    expect(info?.State.ExitCode).toBe(0)
    expect(connections).toBe(0)
    // A clean drain: the server says it stopped, well before SHUTDOWN_TIMEOUT_MS (10 s) would cut it short.
    expect(shutdownLines.map((l) => l.msg)).toEqual(['shutting down', 'stopped'])
    expect(Number(stopSeconds)).toBeLessThan(10)
  })

  it('is gone after compose down --volumes: no containers, networks or volumes left', async () => {
    await compose('down', '--volumes', '--remove-orphans', '--timeout', '10')
    expect(await leftovers(project)).toEqual([])
  })
})
