import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNote, must, run } from '../containers/docker'
import { freePort } from '../ports'
import {
  base,
  cleanUp,
  commit,
  deploy,
  deployed,
  dockerPs,
  git,
  history,
  live,
  onServer,
  probe,
  project,
  proxyPort,
  proxyUpstream,
  READY_TIMEOUT,
  removeStack,
  serverDir,
  setEdgeLimits,
  setUp,
  tree,
} from './harness'
import { keepAliveClients } from './keepalive'

// Deploys for real through scripts/deploy.mjs: over SSH to a local sshd whose root uses this machine's Docker engine.

const figures: Record<string, unknown> = {}
let releaseA = ''
let releaseB = ''

beforeAll(async () => {
  await setUp()
  releaseA = await commit('release A')
})

afterAll(async () => {
  await cleanUp()
  console.log(`deploy figures: ${JSON.stringify(figures)}`)
})

describe('scripts/deploy.mjs --dry-run', () => {
  it('--dry-run prints the plan and creates nothing on the server', async () => {
    const result = await deployed(['--dry-run'])
    expect(result.stdout).toContain(`plan (dry run): deploy ${releaseA}`)
    for (const step of [
      'preflight',
      'lock',
      'bake',
      'ship',
      'backup',
      'migrate',
      'cutover',
      'record',
      'prune',
    ])
      expect(result.stdout).toContain(step)
    expect(existsSync(serverDir)).toBe(false)
  })
})

describe('deploy (compose mode, behind the proxy)', () => {
  it('first deploy onto an empty server directory serves the release through the proxy', async () => {
    const result = await deployed([])
    figures.firstDeploySeconds = Number(result.seconds.toFixed(1))
    console.log(`first deploy: ${result.seconds.toFixed(1)} s`)
    expect((await live()).release).toBe(releaseA)
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(200)
    // The server generated its own secret and settings; the repository has none.
    expect(existsSync(join(serverDir, 'secrets/db_password'))).toBe(true)
    expect(readFileSync(join(serverDir, '.env'), 'utf8')).toContain(`PROXY_PORT=${proxyPort}`)
    expect(readFileSync(join(serverDir, 'current'), 'utf8').trim()).toBe(releaseA)
    expect(history().at(-1)?.slice(1, 3)).toEqual(['deploy', releaseA])
    expect(existsSync(join(serverDir, 'deploy.lock'))).toBe(false)
    const api = await dockerPs(`label=com.docker.compose.service=api`)
    expect(api.filter((line) => line.includes(project))).toEqual([
      expect.stringMatching(new RegExp(`^${project}-api-\\d+ bakehouse:${releaseA} running$`)),
    ])
  })

  it('the edge refuses past its per-client rate and body size with problem+json', async () => {
    // Defaults: 50 requests/s with a burst of 100 per client address, bodies up to 2 MB.
    const answers = await Promise.all(Array.from({ length: 300 }, () => fetch(`${base}/health/live`)))
    const refused = answers.filter((response) => response.status === 429)
    expect(refused.length).toBeGreaterThan(100)
    expect(answers.filter((response) => response.status === 200).length).toBeGreaterThanOrEqual(50)
    expect(refused[0]?.headers.get('content-type')).toBe('application/problem+json')
    expect(refused[0]?.headers.get('retry-after')).toBe('1')
    expect(await refused[0]?.json()).toMatchObject({ status: 429, title: 'Too Many Requests' })
    await Bun.sleep(2_500)
    const big = await fetch(`${base}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(3_000_000),
    })
    expect(big.status).toBe(413)
    expect(big.headers.get('content-type')).toBe('application/problem+json')
    expect(await big.json()).toMatchObject({ status: 413 })
    // The load below comes from one address: raise the limits, as an operator would in the server's .env.
    await setEdgeLimits({ EDGE_RATE: '5000', EDGE_BURST: '5000', EDGE_CONNECTIONS: '500' })
    expect((await live()).release).toBe(releaseA)
  })

  it('a second deploy under 20 requests/s and 4 keep-alive clients fails no request, then serves the new release', async () => {
    // Data for the backup check below.
    for (const title of ['rye', 'spelt', 'einkorn']) await createNote(base, title)
    await Bun.write(join(tree.dir, 'CHANGELOG.md'), '# release B\n')
    releaseB = await commit('release B')
    const traffic = probe()
    const clients = keepAliveClients(base, { clients: 4, intervalMs: 50 })
    const result = await deployed([])
    await Bun.sleep(500)
    const seen = await traffic.stop()
    const kept = await clients.stop()
    figures.deploySeconds = Number(result.seconds.toFixed(1))
    figures.deployProbe = seen
    figures.deployKeepAlive = kept
    console.log(
      `second deploy: ${result.seconds.toFixed(1)} s; probe ${JSON.stringify(seen)}; keep-alive ${JSON.stringify(kept)}`,
    )
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(kept.failed, kept.errors.join('\n')).toBe(0)
    expect(kept.releases).toEqual([releaseA, releaseB])
    expect(kept.reconnects).toBe(0)
    expect(seen.ok).toBeGreaterThan(100)
    expect(seen.releases).toEqual([releaseA, releaseB])
    expect((await live()).release).toBe(releaseB)
    const api = (await dockerPs(`label=com.docker.compose.project=${project}`)).filter((line) =>
      line.includes('-api-'),
    )
    expect(api).toHaveLength(1)
  })

  it('8 keep-alive clients fail no request across 15 forced switches between two api containers', async () => {
    const original = await proxyUpstream()
    await onServer('compose up --detach --wait --no-deps --no-recreate --scale api=2 api 2>&1')
    const names = (await onServer(`compose ps --format '{{.Name}}' api`)).split('\n').filter(Boolean)
    const other = `${names.find((name) => `${name}:3000` !== original)}:3000`
    const setLive = (address: string) =>
      onServer(
        `printf '%s\\n' '${address}' > deploy/upstream/live.next && mv -f deploy/upstream/live.next deploy/upstream/live`,
      )
    const clients = keepAliveClients(base, { clients: 8, intervalMs: 20 })
    const switches: string[] = []
    for (let i = 0; i < 15; i++) {
      const target = i % 2 === 0 ? other : original
      await setLive(target)
      await Bun.sleep(1_000)
      switches.push(await proxyUpstream())
    }
    await setLive(original)
    await Bun.sleep(1_000)
    const seen = await clients.stop()
    await onServer(`docker rm --force ${other.replace(':3000', '')} >/dev/null`)
    figures.forcedSwitches = seen
    console.log(`15 forced switches: keep-alive ${JSON.stringify(seen)}`)
    expect(switches).toEqual(Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? other : original)))
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.ok).toBeGreaterThan(2_000)
    // No reload: the clients kept their connections throughout.
    expect(seen.reconnects).toBe(0)
  })

  it('a release that never becomes healthy exits non-zero within the gate + 5 s; a concurrent deploy is refused', async () => {
    // The new release needs a setting the server's env file does not have, so it exits at start: a crash loop.
    const index = join(tree.dir, 'src/index.ts')
    const original = readFileSync(index, 'utf8')
    await Bun.write(
      index,
      `if (!process.env.PAYMENTS_API_KEY) {\n  console.error('PAYMENTS_API_KEY is required')\n  process.exit(1)\n}\n${original}`,
    )
    const releaseC = await commit('release C: needs PAYMENTS_API_KEY')
    const traffic = probe()
    const failing = deploy([], { marks: { locked: /lock: /, gate: /gate: ready within/ } })

    // While the first one holds the lock, a second deploy is refused and names it.
    const holder = join(serverDir, 'deploy.lock/holder')
    const deadline = performance.now() + 30_000
    while (!existsSync(holder) && performance.now() < deadline) await Bun.sleep(100)
    const refused = await deploy([]).done
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('another deploy holds the lock')
    expect(refused.stderr).toContain(`pid ${failing.pid}`)
    expect(refused.stderr).toContain('--unlock')

    const result = await failing.done
    await Bun.sleep(500)
    const seen = await traffic.stop()
    expect(result.code, result.stdout).not.toBe(0)
    const gateToExit = result.seconds - (result.marks.gate ?? Number.NaN)
    figures.failingRelease = {
      gateSeconds: READY_TIMEOUT,
      detectAndRemoveSeconds: Number(gateToExit.toFixed(1)),
      totalSeconds: Number(result.seconds.toFixed(1)),
      probe: seen,
    }
    console.log(
      `failing release: exit ${gateToExit.toFixed(1)} s after the gate started; probe ${JSON.stringify(seen)}`,
    )
    expect(gateToExit).toBeLessThanOrEqual(READY_TIMEOUT + 5)
    expect(result.stderr).toContain('PAYMENTS_API_KEY is required')
    expect(result.stderr).toMatch(/keeps serving/)
    expect(result.stderr).toContain('what to do:')
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.releases).toEqual([releaseB])
    expect((await live()).release).toBe(releaseB)
    expect(await dockerPs(`ancestor=bakehouse:${releaseC}`)).toEqual([])
    expect(existsSync(join(serverDir, 'deploy.lock'))).toBe(false)
    expect(history().at(-1)?.slice(1, 3)).toEqual(['failed', releaseC])
    await Bun.write(index, original)
  })

  it('a release that stays live but never becomes ready is removed when the gate closes', async () => {
    // The new release talks to a database host this server does not have: /health/live 200, /health/ready 503.
    const index = join(tree.dir, 'src/index.ts')
    const original = readFileSync(index, 'utf8')
    await Bun.write(index, `process.env.DATABASE_HOST = 'db-replica'\n${original}`)
    const releaseE = await commit('release E: reads from db-replica')
    const traffic = probe()
    const result = await deploy([], { marks: { gate: /gate: ready within/ } }).done
    await Bun.sleep(500)
    const seen = await traffic.stop()
    const gateToExit = result.seconds - (result.marks.gate ?? Number.NaN)
    figures.notReadyRelease = {
      gateSeconds: READY_TIMEOUT,
      detectAndRemoveSeconds: Number(gateToExit.toFixed(1)),
      probe: seen,
    }
    console.log(
      `never-ready release: exit ${gateToExit.toFixed(1)} s after the gate started; probe ${JSON.stringify(seen)}`,
    )
    expect(result.code, result.stdout).not.toBe(0)
    expect(result.stderr).toContain(`not ready within ${READY_TIMEOUT} s`)
    expect(result.stderr).toContain('db-replica')
    expect(gateToExit).toBeLessThanOrEqual(READY_TIMEOUT + 5)
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.releases).toEqual([releaseB])
    expect(await dockerPs(`ancestor=bakehouse:${releaseE}`)).toEqual([])
    expect(existsSync(join(serverDir, 'deploy.lock'))).toBe(false)
    await Bun.write(index, original)
    await commit('release F: revert E')
  })

  it('--unlock removes a lock and names its holder', async () => {
    await must(['mkdir', join(serverDir, 'deploy.lock')])
    await Bun.write(join(serverDir, 'deploy.lock/holder'), 'someone@laptop pid 42, deploy abc1234\n')
    const result = await deployed(['--unlock'])
    expect(result.stdout).toContain('removed the lock held by someone@laptop pid 42')
    expect(existsSync(join(serverDir, 'deploy.lock'))).toBe(false)
  })

  it('--rollback takes over a stale lock and returns to the previous release without failing a request', async () => {
    // A deploy that died two hours ago left its lock behind.
    await must(['mkdir', join(serverDir, 'deploy.lock')])
    await Bun.write(join(serverDir, 'deploy.lock/holder'), 'someone@laptop pid 42, deploy abc1234\n')
    await must(['touch', '-d', '2 hours ago', join(serverDir, 'deploy.lock')])
    const traffic = probe()
    const clients = keepAliveClients(base, { clients: 4, intervalMs: 50 })
    const result = await deployed(['--rollback'])
    expect(result.stdout).toContain('taking over a stale lock (120 min old) held by someone@laptop pid 42')
    await Bun.sleep(500)
    const seen = await traffic.stop()
    const kept = await clients.stop()
    figures.rollbackSeconds = Number(result.seconds.toFixed(1))
    figures.rollbackProbe = seen
    figures.rollbackKeepAlive = kept
    console.log(
      `rollback: ${result.seconds.toFixed(1)} s; probe ${JSON.stringify(seen)}; keep-alive ${JSON.stringify(kept)}`,
    )
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(kept.failed, kept.errors.join('\n')).toBe(0)
    expect(kept.reconnects).toBe(0)
    expect(seen.releases).toEqual([releaseB, releaseA])
    expect((await live()).release).toBe(releaseA)
    expect(history().at(-1)?.slice(1, 3)).toEqual(['rollback', releaseA])
  })

  it('--status names the live release; --logs shows the api', async () => {
    const status = await deployed(['--status'])
    expect(status.stdout).toContain(`current release: ${releaseA}`)
    expect(status.stdout).toContain('lock: free')
    const logs = await deployed(['--logs', '--lines', '5'])
    expect(logs.stdout).toContain('"msg":"request"')
  })

  it('the backup is a pg_dump that restores into a scratch database with the same rows', async () => {
    const files = readdirSync(join(serverDir, 'backups'))
    const dumps = files.filter((file) => file.endsWith('.dump'))
    expect(dumps.length).toBeGreaterThanOrEqual(3)
    // Private to the deploy user, and no partial dump left behind.
    expect(statSync(join(serverDir, 'backups')).mode & 0o777).toBe(0o700)
    for (const dump of dumps)
      expect([dump, statSync(join(serverDir, 'backups', dump)).mode & 0o777]).toEqual([dump, 0o600])
    expect(files.filter((file) => file.endsWith('.part'))).toEqual([])
    const latest = join(serverDir, 'backups', dumps.sort().at(-1) as string)
    const [db] = await dockerPs(`label=com.docker.compose.project=${project}`).then((lines) =>
      lines.filter((line) => line.includes('-db-')).map((line) => line.split(' ')[0] as string),
    )
    const psql = (database: string, query: string) =>
      must([
        'docker',
        'exec',
        db as string,
        'psql',
        '--username=bakehouse',
        `--dbname=${database}`,
        '-At',
        '-c',
        query,
      ])
    const rows = 'select id, title, body, version from notes order by id'
    await psql('bakehouse', 'drop database if exists restored')
    await psql('bakehouse', 'create database restored')
    await must([
      'sh',
      '-c',
      `docker exec -i ${db} pg_restore --username=bakehouse --dbname=restored --no-owner < ${latest}`,
    ])
    const restored = await psql('restored', rows)
    expect(restored.trim().split('\n')).toHaveLength(3)
    expect(restored).toBe(await psql('bakehouse', rows))
    await psql('bakehouse', 'drop database restored')
  })
})

// Last: it switches this engine into swarm mode (unless it already was) and leaves it as it found it.
describe('deploy --mode swarm (docker stack deploy of the same compose.prod.yaml)', () => {
  const stack = `bkswarm${process.pid}`
  const swarmDir = `${serverDir}-swarm`
  let swarmPort = 0
  let swarmBase = ''
  let joinedSwarm = false
  let hadGwBridge = true
  let swarmRelease = ''
  const swarmEnv = () => ({
    DEPLOY_MODE: 'swarm',
    DEPLOY_DIR: swarmDir,
    DEPLOY_PROJECT: stack,
    DEPLOY_PROXY_PORT: String(swarmPort),
    DEPLOY_HEALTH_URL: swarmBase,
  })
  const serviceImage = async () =>
    (
      await must([
        'docker',
        'service',
        'inspect',
        '--format',
        '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
        `${stack}_api`,
      ])
    ).trim()

  beforeAll(async () => {
    swarmPort = await freePort()
    swarmBase = `http://127.0.0.1:${swarmPort}`
    const state = (await must(['docker', 'info', '--format', '{{.Swarm.LocalNodeState}}'])).trim()
    if (state === 'inactive') {
      hadGwBridge = (await run(['docker', 'network', 'inspect', 'docker_gwbridge'])).code === 0
      await must(['docker', 'swarm', 'init', '--advertise-addr', '127.0.0.1'])
      joinedSwarm = true
    }
    swarmRelease = (await git('rev-parse', '--short', 'HEAD')).trim()
  })

  afterAll(async () => {
    await removeStack(stack)
    if (joinedSwarm) {
      await must(['docker', 'swarm', 'leave', '--force'])
      // swarm init creates this bridge and leaving keeps it; the engine goes back as it was.
      if (!hadGwBridge) await run(['docker', 'network', 'rm', 'docker_gwbridge'])
    }
    rmSync(swarmDir, { recursive: true, force: true })
  })

  it('deploys the stack: two api replicas behind the proxy, migrated and ready', async () => {
    const result = await deployed([], { env: swarmEnv() })
    figures.swarmFirstDeploySeconds = Number(result.seconds.toFixed(1))
    console.log(`swarm first deploy: ${result.seconds.toFixed(1)} s`)
    const response = await fetch(`${swarmBase}/health/ready`)
    expect(response.status).toBe(200)
    const body = (await (await fetch(`${swarmBase}/health/live`)).json()) as { release: string }
    expect(body.release).toBe(swarmRelease)
    expect(await serviceImage()).toBe(`bakehouse:${swarmRelease}`)
    const replicas = await must([
      'docker',
      'service',
      'ls',
      '--filter',
      `name=${stack}_api`,
      '--format',
      '{{.Replicas}}',
    ])
    expect(replicas.trim()).toMatch(/^2\/2/)
    // The same hardening as under compose: read-only, no capabilities, limits.
    const spec = JSON.parse(
      await must(['docker', 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate}}', `${stack}_api`]),
    ) as {
      ContainerSpec: { ReadOnly: boolean; CapabilityDrop: string[] }
      Resources: { Limits: { MemoryBytes: number } }
    }
    expect(spec.ContainerSpec.ReadOnly).toBe(true)
    expect(spec.ContainerSpec.CapabilityDrop).toEqual(['ALL'])
    expect(spec.Resources.Limits.MemoryBytes).toBeGreaterThan(0)
  })

  it('a rolling update whose new replica fails its health check is rolled back by swarm', async () => {
    const index = join(tree.dir, 'src/index.ts')
    const original = readFileSync(index, 'utf8')
    await Bun.write(index, `if (!process.env.PAYMENTS_API_KEY) process.exit(1)\n${original}`)
    const broken = await commit('release G: needs PAYMENTS_API_KEY')
    let failed = 0
    let ok = 0
    const timer = setInterval(() => {
      fetch(`${swarmBase}/health/live`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => (r.ok ? ok++ : failed++),
        () => failed++,
      )
    }, 50)
    const result = await deploy([], { env: swarmEnv(), marks: { update: /rolling update/ } }).done
    clearInterval(timer)
    await Bun.sleep(500)
    const rollbackSeconds = result.seconds - (result.marks.update ?? Number.NaN)
    figures.swarmFailedUpdate = {
      detectAndRollbackSeconds: Number(rollbackSeconds.toFixed(1)),
      probe: { ok, failed },
    }
    console.log(
      `swarm failed update: rolled back ${rollbackSeconds.toFixed(1)} s after the update started; probe ok ${ok}, failed ${failed}`,
    )
    expect(result.code, result.stdout).not.toBe(0)
    expect(result.stderr).toContain('swarm rolled back')
    expect(result.stderr).toContain('what to do:')
    expect(await serviceImage()).toBe(`bakehouse:${swarmRelease}`)
    const body = (await (await fetch(`${swarmBase}/health/live`)).json()) as { release: string }
    expect(body.release).toBe(swarmRelease)
    expect(existsSync(join(swarmDir, 'deploy.lock'))).toBe(false)
    expect(broken).not.toBe(swarmRelease)
    await Bun.write(index, original)
  })
})
