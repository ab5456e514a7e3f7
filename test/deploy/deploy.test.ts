import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNote } from '../containers/docker'
import {
  base,
  cleanUp,
  commit,
  deploy,
  deployed,
  dockerPs,
  history,
  live,
  onNode,
  onServer,
  probe,
  project,
  proxyUpstream,
  READY_TIMEOUT,
  serverDir,
  serverFile,
  setEdgeLimits,
  setUp,
  tree,
} from './harness'
import { keepAliveClients } from './keepalive'

// Deploys for real through scripts/deploy.mjs: over SSH to a server of its own, a docker-in-docker node that has the
// base images (as if pulled) but never the app's, so every release travels. Swarm on several nodes: swarm-nodes.test.ts.

const figures: Record<string, unknown> = {}
let releaseA = ''
let releaseB = ''

beforeAll(async () => {
  Object.assign(figures, await setUp())
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
    expect((await onNode(`test -e ${serverDir} && echo present || echo absent`)).trim()).toBe('absent')
  })

  it('--pull refreshes the base images: the build pulls, and the server pulls postgres before the backup', async () => {
    const result = await deployed(['--dry-run', '--pull'])
    expect(result.stdout).toMatch(/bake +docker buildx bake --pull prod/)
    expect(result.stdout).toMatch(/backup +compose pull db, then pg_dump/)
  })
})

/** SQL as the cluster's superuser over the db container's socket on the server. */
const db = '$(docker ps --quiet --filter label=com.docker.compose.service=db)'
const psql = (database: string, query: string) =>
  onNode(`docker exec ${db} psql --username=bakehouse --dbname=${database} -At -c '${query}'`)

describe('deploy (compose mode, behind the proxy)', () => {
  it('first deploy onto an empty server directory serves the release through the proxy', async () => {
    const result = await deployed([])
    figures.firstDeploySeconds = Number(result.seconds.toFixed(1))
    console.log(`first deploy: ${result.seconds.toFixed(1)} s`)
    expect((await live()).release).toBe(releaseA)
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(200)
    // The server generated its own secret and settings; the repository has none.
    expect(await serverFile('secrets/db_password')).toMatch(/^\w{32,}$/)
    expect(await serverFile('.env')).toContain('PROXY_PORT=80')
    // Private under the scripts' umask 077, but for what the edge (uid 101) reads: the proxy served the release.
    const modes = await onServer(
      "stat -c '%n %a' .env secrets deploy/upstream deploy/upstream/live history.tsv",
    )
    expect(modes.trim().split('\n')).toEqual([
      '.env 600',
      'secrets 700',
      'deploy/upstream 755',
      'deploy/upstream/live 644',
      'history.tsv 600',
    ])
    expect((await serverFile('current'))?.trim()).toBe(releaseA)
    expect((await history()).at(-1)?.slice(1, 3)).toEqual(['deploy', releaseA])
    expect(await serverFile('deploy.lock/holder')).toBeUndefined()
    // Behind the proxy only: the api publishes no host port.
    expect(
      (await onNode('docker port "$(docker ps -q --filter label=com.docker.compose.service=api)"')).trim(),
    ).toBe('')
    const api = await dockerPs(`label=com.docker.compose.service=api`)
    expect(api.filter((line) => line.includes(project))).toEqual([
      expect.stringMatching(new RegExp(`^${project}-api-\\d+ bakehouse:${releaseA} running$`)),
    ])
    // The api logs in as its database's owner (deploy/db/roles.sh), never as the superuser.
    const logins = `select distinct a.usename, r.rolsuper from pg_stat_activity a join pg_roles r on r.rolname = a.usename
      where a.datname = current_database() and a.usename <> current_user`
    expect(await psql('bakehouse', logins)).toBe('bakehouse_app|f\n')
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
    const deadline = performance.now() + 30_000
    while ((await serverFile('deploy.lock/holder')) === undefined && performance.now() < deadline)
      await Bun.sleep(100)
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
    expect(await serverFile('deploy.lock/holder')).toBeUndefined()
    expect((await history()).at(-1)?.slice(1, 3)).toEqual(['failed', releaseC])
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
    expect(await serverFile('deploy.lock/holder')).toBeUndefined()
    await Bun.write(index, original)
    await commit('release F: revert E')
  })

  it('--unlock removes a lock and names its holder', async () => {
    await onNode(
      `mkdir ${serverDir}/deploy.lock && echo 'someone@laptop pid 42, deploy abc1234' > ${serverDir}/deploy.lock/holder`,
    )
    const result = await deployed(['--unlock'])
    expect(result.stdout).toContain('removed the lock held by someone@laptop pid 42')
    expect(await serverFile('deploy.lock/holder')).toBeUndefined()
  })

  it('--rollback takes over a stale lock and returns to the previous release without failing a request', async () => {
    // A deploy that died two hours ago left its lock behind.
    await onNode(
      `mkdir ${serverDir}/deploy.lock && echo 'someone@laptop pid 42, deploy abc1234' > ${serverDir}/deploy.lock/holder && touch -d '2 hours ago' ${serverDir}/deploy.lock`,
    )
    const traffic = probe()
    const clients = keepAliveClients(base, { clients: 4, intervalMs: 50 })
    const result = await deployed(['--rollback'])
    expect(result.stdout).toContain('took over a stale lock (120 min old) held by someone@laptop pid 42')
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
    expect((await history()).at(-1)?.slice(1, 3)).toEqual(['rollback', releaseA])
  })

  it('--status names the live release; --logs shows the api', async () => {
    const status = await deployed(['--status'])
    expect(status.stdout).toContain(`current release: ${releaseA}`)
    expect(status.stdout).toContain('lock: free')
    const logs = await deployed(['--logs', '--lines', '5'])
    expect(logs.stdout).toContain('"msg":"request"')
  })

  it('the backup is a pg_dump that restores into a scratch database with the same rows', async () => {
    const backups = `${serverDir}/backups`
    const files = (await onNode(`ls ${backups}`)).split('\n').filter(Boolean)
    const dumps = files.filter((file) => file.endsWith('.dump'))
    expect(dumps.length).toBeGreaterThanOrEqual(3)
    // Private to the deploy user, and no partial dump left behind.
    expect((await onNode(`stat -c %a ${backups}`)).trim()).toBe('700')
    const modes = (await onNode(`cd ${backups} && stat -c '%n %a' *.dump`)).trim().split('\n')
    expect(modes).toEqual(dumps.map((dump) => `${dump} 600`))
    expect(files.filter((file) => file.endsWith('.part'))).toEqual([])
    const latest = `${backups}/${dumps.sort().at(-1)}`
    const rows = 'select id, title, body, version from notes order by id'
    await psql('bakehouse', 'drop database if exists restored')
    await psql('bakehouse', 'create database restored')
    await onNode(
      `docker exec -i ${db} pg_restore --username=bakehouse --dbname=restored --no-owner < ${latest}`,
    )
    const restored = await psql('restored', rows)
    expect(restored.trim().split('\n')).toHaveLength(3)
    expect(restored).toBe(await psql('bakehouse', rows))
    await psql('bakehouse', 'drop database restored')
  })
})
