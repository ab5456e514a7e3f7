import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APPLICATION_NAME } from '../../src/db'
import { migrationsList } from '../../src/migrations'
import { bake, leftovers, must, prodStack, run, since } from '../containers/docker'
import { recordFigures } from './figures'

// The hardened prod stack from compose.prod.yaml, on loopback, put through faults one at a time.
const { project, passwordFile, port, base, env, composeArgs, compose, containerOf, remove } =
  await prodStack('reliability')

/** `docker inspect` of a container, with the fields these checks read. */
interface Container {
  Id: string
  RestartCount: number
  Config: { User: string; Healthcheck?: { Test: string[] } }
  State: { Running: boolean; ExitCode: number; Pid: number; Health?: { Status: string } }
  HostConfig: {
    Privileged: boolean
    ReadonlyRootfs: boolean
    CapAdd: string[] | null
    CapDrop: string[] | null
    SecurityOpt: string[] | null
    Memory: number
    NanoCpus: number
    PidsLimit: number | null
    RestartPolicy: { Name: string }
    LogConfig: { Type: string; Config: Record<string, string> }
    NetworkMode: string
    PidMode: string
    IpcMode: string
    Binds: string[] | null
  }
  Mounts: { Type: string; Source: string; Destination: string }[]
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>
    Networks: Record<string, unknown>
  }
}
async function container(service: string): Promise<Container> {
  const [info] = JSON.parse(await must(['docker', 'inspect', await containerOf(service)])) as Container[]
  if (!info) throw new Error(`expected a ${service} container in ${project}`)
  return info
}

/** Host pids of every process in a service's container, with their parent pids and command lines. */
async function processes(service: string): Promise<{ pid: number; ppid: number; args: string }[]> {
  const out = await must(['docker', 'top', await containerOf(service), '-o', 'pid,ppid,args'])
  return out
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((match) => match !== null)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args ?? '' }))
}

/**
 * The service's main process: the child of the container's init (tini) running the server, never a healthcheck
 * or `docker exec` process, which run beside it as children of the container runtime.
 */
async function mainProcess(service: 'api' | 'db'): Promise<{ pid: number; args: string }> {
  const init = (await container(service)).State.Pid
  const server = service === 'api' ? /\bbun\b.*\bindex\.js\b/ : /(^|\/)postgres(\s|$)/
  const procs = await processes(service)
  const main = procs.filter((p) => p.ppid === init && server.test(p.args))
  if (main.length !== 1 || !main[0]) {
    throw new Error(
      `expected exactly one ${service} server process under init (pid ${init}), got ${JSON.stringify(procs)}`,
    )
  }
  return main[0]
}

/** A field of /proc/<pid>/status on the host, e.g. CapEff or NoNewPrivs. */
const procStatus = (pid: number, field: string) =>
  readFileSync(`/proc/${pid}/status`, 'utf8')
    .match(new RegExp(`^${field}:\\s*(.+)$`, 'm'))?.[1]
    ?.trim()

const psql = (query: string) =>
  compose('exec', '-T', 'db', 'psql', '--username=bakehouse', '--dbname=bakehouse', '-At', '-c', query)

const status = (path: string, timeoutMs = 2_500) =>
  fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (r) => r.status,
    () => 0,
  )

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > seconds * 1000) throw new Error(`expected ${what} within ${seconds} s`)
    await Bun.sleep(100)
  }
  return performance.now() - start
}

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
  const policy = (check: string, violations: () => Promise<string[]>) =>
    it(check, async () => {
      const found = await violations()
      checks.push({ check, violations: found })
      expect(found).toEqual([])
    })
  const services = ['api', 'db'] as const
  const eachService = async (
    test: (c: Container, service: string) => string | undefined | Promise<string | undefined>,
  ) =>
    (await Promise.all(services.map(async (s) => test(await container(s), s)))).filter(
      (v): v is string => !!v,
    )

  policy('not privileged, no host network, pid or ipc namespace', () =>
    eachService((c, s) =>
      c.HostConfig.Privileged ||
      ['host'].includes(c.HostConfig.NetworkMode) ||
      c.HostConfig.PidMode === 'host' ||
      c.HostConfig.IpcMode === 'host'
        ? `${s}: privileged or sharing a host namespace`
        : undefined,
    ),
  )
  policy('cap_drop ALL and nothing added', () =>
    eachService((c, s) =>
      JSON.stringify(c.HostConfig.CapDrop) === '["ALL"]' && (c.HostConfig.CapAdd ?? []).length === 0
        ? undefined
        : `${s}: CapDrop ${JSON.stringify(c.HostConfig.CapDrop)}, CapAdd ${JSON.stringify(c.HostConfig.CapAdd)}`,
    ),
  )
  policy('CapEff 0 in every process', async () =>
    (await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'CapEff') !== '0000000000000000')
          .map((p) => `${s}: ${p.args} has CapEff ${procStatus(p.pid, 'CapEff')}`),
    ),
  )
  policy('no-new-privileges set and in force in every process', async () => [
    ...(await eachService((c, s) =>
      c.HostConfig.SecurityOpt?.includes('no-new-privileges:true') ? undefined : `${s}: no security_opt`,
    )),
    ...(await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'NoNewPrivs') !== '1')
          .map((p) => `${s}: ${p.args} NoNewPrivs ${procStatus(p.pid, 'NoNewPrivs')}`),
    ),
  ])
  policy('read-only root filesystem', () =>
    eachService((c, s) => (c.HostConfig.ReadonlyRootfs ? undefined : `${s}: writable rootfs`)),
  )
  policy('memory limit', () =>
    eachService((c, s) => (c.HostConfig.Memory > 0 ? undefined : `${s}: no memory limit`)),
  )
  policy('pids limit', () =>
    eachService((c, s) => ((c.HostConfig.PidsLimit ?? 0) > 0 ? undefined : `${s}: no pids limit`)),
  )
  policy('cpu limit', () =>
    eachService((c, s) => (c.HostConfig.NanoCpus > 0 ? undefined : `${s}: no cpu limit`)),
  )
  policy('non-root: configured user and every process uid', async () => [
    ...(await eachService((c, s) =>
      /^[1-9]\d*(:\d+)?$/.test(c.Config.User) ? undefined : `${s}: user ${JSON.stringify(c.Config.User)}`,
    )),
    ...(await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'Uid')?.split(/\s+/)[0] === '0')
          .map((p) => `${s}: ${p.args} runs as uid 0`),
    ),
  ])
  policy('restart policy unless-stopped', () =>
    eachService((c, s) =>
      c.HostConfig.RestartPolicy.Name === 'unless-stopped'
        ? undefined
        : `${s}: restart ${c.HostConfig.RestartPolicy.Name}`,
    ),
  )
  policy('healthcheck defined and healthy', () =>
    eachService((c, s) =>
      c.Config.Healthcheck?.Test?.length && c.State.Health?.Status === 'healthy'
        ? undefined
        : `${s}: health ${c.State.Health?.Status}`,
    ),
  )
  policy('log rotation (json-file with max-size and max-file)', () =>
    eachService((c, s) => {
      const { Type, Config } = c.HostConfig.LogConfig
      return Type === 'json-file' && Config['max-size'] && Config['max-file']
        ? undefined
        : `${s}: logging ${JSON.stringify(c.HostConfig.LogConfig)}`
    }),
  )
  policy('no Docker socket or host path mounted except the secret', () =>
    eachService((c, s) => {
      const binds = c.Mounts.filter((m) => m.Type === 'bind' && m.Source !== passwordFile)
      return binds.length === 0 ? undefined : `${s}: binds ${binds.map((m) => m.Source).join(', ')}`
    }),
  )
  policy('database not published and only on the internal network', async () => {
    const db = await container('db')
    const violations: string[] = []
    const published = Object.values(db.NetworkSettings.Ports ?? {})
      .flat()
      .filter(Boolean)
    if (published.length > 0) violations.push(`db publishes ${JSON.stringify(published)}`)
    const networks = Object.keys(db.NetworkSettings.Networks)
    if (JSON.stringify(networks) !== JSON.stringify([`${project}_backend`]))
      violations.push(`db networks ${networks}`)
    const [backend] = JSON.parse(await must(['docker', 'network', 'inspect', `${project}_backend`])) as {
      Internal: boolean
    }[]
    if (!backend?.Internal) violations.push('backend network is not internal')
    return violations
  })
  policy('API bound as configured: 127.0.0.1 and API_PORT only', async () => {
    const api = await container('api')
    const bindings = Object.values(api.NetworkSettings.Ports ?? {})
      .flat()
      .filter(Boolean)
    return JSON.stringify(bindings) === JSON.stringify([{ HostIp: '127.0.0.1', HostPort: String(port) }])
      ? []
      : [`api publishes ${JSON.stringify(bindings)}`]
  })

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

/** Sends `total` inserts with `concurrency` workers, calling `fault` once `faultAfter` were acknowledged. */
async function insertsThrough(label: string, total: number, faultAfter: number, fault: () => Promise<void>) {
  const acknowledged = new Map<string, string>()
  let next = 0
  let faulted: Promise<void> | undefined
  let unacknowledged = 0
  let ackedAfterFault = 0
  let faultAt = 0
  let firstAckAfterFaultMs: number | undefined
  const refusals: Record<string, number> = {}
  const worker = async () => {
    while (next < total) {
      const title = `${label}-${next++}`
      const ok = await fetch(`${base}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
        signal: AbortSignal.timeout(5_000),
      }).then(
        async (r) => {
          if (r.status === 201) return ((await r.json()) as { id: string }).id
          const key = `${r.status} ${r.headers.get('content-type')}`
          refusals[key] = (refusals[key] ?? 0) + 1
          return undefined
        },
        () => {
          refusals['no response'] = (refusals['no response'] ?? 0) + 1
          return undefined
        },
      )
      if (ok) {
        acknowledged.set(title, ok)
        if (faulted) {
          ackedAfterFault++
          firstAckAfterFaultMs ??= Math.round(performance.now() - faultAt)
        }
        if (!faulted && acknowledged.size >= faultAfter) {
          faultAt = performance.now()
          faulted = fault()
        }
      } else {
        unacknowledged++
        // Each title is sent once: a request whose outcome is unknown is never retried, so a duplicate is a bug.
        await Bun.sleep(200)
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  await faulted
  return { acknowledged, unacknowledged, ackedAfterFault, firstAckAfterFaultMs, refusals }
}

async function verifyDurability(label: string, result: Awaited<ReturnType<typeof insertsThrough>>) {
  const rows = (await psql(`select title || '|' || id from notes where title like '${label}-%'`))
    .trim()
    .split('\n')
    .filter(Boolean)
  const stored = new Map<string, string[]>()
  for (const row of rows) {
    const [title, id] = row.split('|') as [string, string]
    stored.set(title, [...(stored.get(title) ?? []), id])
  }
  const lost = [...result.acknowledged].filter(([title, id]) => !stored.get(title)?.includes(id))
  const duplicates = [...stored].filter(([, ids]) => ids.length > 1)
  return { lost, duplicates, stored: rows.length }
}

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

/** A raw HTTP/1.1 POST whose body is sent in two parts, so it stays in flight until `finish`. */
function slowPost(body: string) {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString()
  })
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  const half = Math.floor(body.length / 2)
  socket.write(
    `POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  )
  return { finish: () => socket.write(body.slice(half)), response: closed }
}

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
