import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must, since } from '../containers/docker'
import { commit, deployed, probe, setUpTree, tree } from './harness'
import { type Cluster, deployEnv, loadImages, type Node, startCluster } from './nodes'

// A real three-node swarm: docker-in-docker nodes on a private network, one manager and two workers, deployed to with
// `scripts/deploy.mjs --mode swarm` through a registry. Steps match docs/deploy.md "From one server to several".

const prefix = `bkswn${process.pid}`
const stack = 'bakehouse'
const figures: Record<string, unknown> = {}
let cluster: Cluster
let manager: Node
let workers: Node[] = []
let base = ''
const releases: string[] = []

const env = () => ({
  ...deployEnv(cluster, manager),
  DEPLOY_MODE: 'swarm',
  DEPLOY_PROJECT: stack,
  // These nodes' kernel has no IPsec ESP (CONFIG_INET_ESP), so tasks on encrypted overlays never start across
  // nodes; the stack file's encryption is pinned in stack.test.ts.
  DEPLOY_OVERLAY_ENCRYPTION: 'off',
})

/** The nodes running tasks of a service, sorted, as the manager sees them. */
async function tasks(service: string): Promise<string[]> {
  const out = await manager.sh(
    `docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' ${stack}_${service}`,
  )
  return out
    .split('\n')
    .filter((line) => line.includes(' Running'))
    .map((line) => line.split(' ')[0] as string)
    .sort()
}

/** Polls until `check` holds, 250 ms apart, for at most `seconds`; returns the seconds it took. */
async function until(what: string, check: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > seconds * 1000) throw new Error(`expected ${what} within ${seconds} s`)
    await Bun.sleep(250)
  }
  return Number(since(start))
}

/**
 * One api replica per worker again, if they share one (as after a failover: swarm never moves running tasks back);
 * scaling down removes from the busiest node, so 1 then 2 spreads them. A deploy does the same by itself.
 */
async function spreadApi(): Promise<boolean> {
  const placed = await tasks('api')
  if (new Set(placed).size === placed.length) return false
  await manager.sh(
    `docker service scale --detach=false ${stack}_api=1 >/dev/null && docker service scale --detach=false ${stack}_api=2 >/dev/null`,
  )
  expect(await tasks('api')).toEqual(workers.map((worker) => worker.name).sort())
  return true
}

const liveRelease = async () =>
  ((await (await fetch(`${base}/health/live`)).json()) as { release: string }).release

beforeAll(async () => {
  cluster = await startCluster(prefix, { count: 3, publish: [80], registry: true })
  ;[manager, ...workers] = cluster.nodes as [Node, Node, Node]
  base = `http://127.0.0.1:${manager.ports[80]}`
  // Only the manager runs the database, so only it gets postgres; the app and the edge come from the registry.
  let start = performance.now()
  await loadImages(manager, ['postgres:17'])
  figures.loadBaseImagesSeconds = Number(since(start))
  Object.assign(figures, cluster.timings)
  start = performance.now()
  await manager.sh(`docker swarm init --advertise-addr ${manager.ip}`)
  const token = (await manager.sh('docker swarm join-token --quiet worker')).trim()
  await Promise.all(
    workers.map((worker) => worker.sh(`docker swarm join --token ${token} ${manager.ip}:2377`)),
  )
  figures.swarmFormSeconds = Number(since(start))
  await setUpTree()
  releases.push(await commit('release A'))
})

afterAll(async () => {
  await cluster?.stop()
  tree.remove()
  console.log(`swarm nodes figures: ${JSON.stringify(figures)}`)
})

describe('a three-node swarm (1 manager, 2 workers) deployed to with --mode swarm and a registry', () => {
  it('the swarm has one manager and two ready workers', async () => {
    const nodes = await manager.sh(`docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'`)
    const lines = nodes
      .trim()
      .split('\n')
      .map((line) => line.trim())
    expect(lines.sort()).toEqual(
      [`${manager.name} Ready Leader`, ...workers.map((worker) => `${worker.name} Ready`)].sort(),
    )
  })

  it('the first deploy spreads the api over the workers and pins the db and the proxy to the manager', async () => {
    const [releaseA] = releases as [string]
    const result = await deployed([], { env: env() })
    figures.firstDeploySeconds = Number(result.seconds.toFixed(1))
    expect(await liveRelease()).toBe(releaseA)
    expect((await fetch(`${base}/health/ready`)).status).toBe(200)
    expect(await tasks('api')).toEqual(workers.map((worker) => worker.name).sort())
    expect(await tasks('db')).toEqual([manager.name])
    expect(await tasks('proxy')).toEqual([manager.name])
    // The database's volume lives on the manager; the workers pulled the app and never had postgres.
    expect(await manager.sh('docker volume ls --quiet')).toContain(`${stack}_db-data`)
    for (const worker of workers) {
      // One container per worker: its api task, from the image the worker pulled.
      expect((await worker.sh(`docker ps --format '{{.Image}}'`)).trim()).toBe(
        `${cluster.registry}/bakehouse:${releaseA}`,
      )
      expect(await worker.sh(`docker image ls --format '{{.Repository}}'`)).not.toContain('postgres')
    }
    // The api on a worker logs in as the app's role, not the superuser: the deploy ran deploy/db/roles.sh.
    const logins = await manager.sh(
      `docker exec $(docker ps -q --filter label=com.docker.swarm.service.name=${stack}_db) psql --username=bakehouse --dbname=bakehouse -At -c 'select distinct usename from pg_stat_activity where datname = current_database() and usename <> current_user'`,
    )
    expect(logins.trim()).toBe('bakehouse_app')
  })

  it('a rolling update to the next release under 20 requests/s fails no request', async () => {
    await Bun.write(`${tree.dir}/CHANGELOG.md`, '# release B\n')
    releases.push(await commit('release B'))
    const [releaseA, releaseB] = releases as [string, string]
    const traffic = probe('/health/live', base)
    const result = await deployed([], { env: env() })
    await Bun.sleep(500)
    const seen = await traffic.stop()
    figures.rollingUpdate = { seconds: Number(result.seconds.toFixed(1)), probe: seen }
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    // One task at a time: both releases answer while the update rolls, then only the new one.
    expect([seen.releases[0], seen.releases.at(-1)]).toEqual([releaseA, releaseB])
    expect(new Set(seen.releases)).toEqual(new Set([releaseA, releaseB]))
    expect(await liveRelease()).toBe(releaseB)
    // One on each worker: the deploy spreads the replicas again when the update left them on one.
    expect(await tasks('api')).toEqual(workers.map((worker) => worker.name).sort())
    figures.respreadByDeploy = /replicas spread again/.test(result.stdout)
  })

  it('a worker killed without warning under 20 requests/s fails no request; its replica moves to the other', async () => {
    const [lost, other] = workers as [Node, Node]
    expect(await spreadApi()).toBe(false)
    const traffic = probe('/health/live', base)
    await Bun.sleep(2_000)
    await must(['docker', 'kill', lost.name])
    const start = performance.now()
    const rescheduledSeconds = await until(
      `both api replicas running on ${other.name}`,
      async () => (await tasks('api')).join(' ') === `${other.name} ${other.name}`,
      90,
    )
    const during = await traffic.stop()
    const after = probe('/health/live', base)
    await Bun.sleep(3_000)
    const settled = await after.stop()
    figures.nodeLoss = { killToRescheduledSeconds: rescheduledSeconds, probe: during, afterProbe: settled }
    console.log(`node loss: ${JSON.stringify(figures.nodeLoss)} (${since(start)} s)`)
    // The proxy retries a dead task's address on the live one (2 s connect timeout): slow, but not failed.
    expect(during.failed, during.errors.join('\n')).toBe(0)
    expect(settled.failed, settled.errors.join('\n')).toBe(0)
    expect(settled.ok).toBeGreaterThan(30)
    // The node comes back with its engine's swarm state and rejoins; it gets new tasks again.
    await must(['docker', 'start', lost.name])
    await until(
      `${lost.name} to rejoin`,
      async () =>
        (await manager.sh(`docker node inspect --format '{{.Status.State}}' ${lost.name}`)).trim() ===
        'ready',
      60,
    )
  })

  it('a worker drained and then killed under 20 requests/s fails no request; its replicas move to the other', async () => {
    // Taken out now: the worker that stayed up through the loss above; the one that rejoined takes its replica.
    const [remaining, gone] = workers as [Node, Node]
    expect(await spreadApi()).toBe(true)
    const traffic = probe('/health/live', base)
    await Bun.sleep(2_000)
    await manager.sh(`docker node update --availability drain ${gone.name}`)
    const failoverSeconds = await until(
      `both api replicas running on ${remaining.name}`,
      async () => (await tasks('api')).join(' ') === `${remaining.name} ${remaining.name}`,
      90,
    )
    await must(['docker', 'kill', gone.name])
    const downSeconds = await until(
      `the manager to see ${gone.name} down`,
      async () =>
        (await manager.sh(`docker node inspect --format '{{.Status.State}}' ${gone.name}`)).trim() === 'down',
      60,
    )
    await Bun.sleep(2_000)
    const seen = await traffic.stop()
    figures.failover = {
      drainToRescheduledSeconds: failoverSeconds,
      killToNodeDownSeconds: downSeconds,
      probe: seen,
    }
    console.log(`failover: ${JSON.stringify(figures.failover)}`)
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.ok).toBeGreaterThan(50)
    expect(await tasks('api')).toEqual([remaining.name, remaining.name])
  })

  it('--rollback returns to the previous release on the remaining worker without failing a request', async () => {
    const [releaseA, releaseB] = releases as [string, string]
    const [remaining] = workers as [Node, Node]
    const traffic = probe('/health/live', base)
    const result = await deployed(['--rollback'], { env: env() })
    await Bun.sleep(500)
    const seen = await traffic.stop()
    figures.rollback = { seconds: Number(result.seconds.toFixed(1)), probe: seen }
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect([seen.releases[0], seen.releases.at(-1)]).toEqual([releaseB, releaseA])
    expect(new Set(seen.releases)).toEqual(new Set([releaseA, releaseB]))
    expect(await liveRelease()).toBe(releaseA)
    expect(await tasks('api')).toEqual([remaining.name, remaining.name])
  })
})
