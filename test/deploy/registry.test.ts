import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { since } from '../containers/docker'
import { commit, deployed, probe, setUpTree, tree } from './harness'
import { type Cluster, deployEnv, loadImages, type Node, startCluster } from './nodes'

// Shipping through a registry: bake pushes to a registry:2 on the test network, a separate Docker engine (a
// docker-in-docker node that has the base images but never the app image) pulls, and rollback pulls again.

const prefix = `bkreg${process.pid}`
const figures: Record<string, unknown> = {}
let cluster: Cluster
let node: Node
let base = ''
const releases: string[] = []

const env = () => ({
  ...deployEnv(cluster, node),
  DEPLOY_PROJECT: 'bakehouse',
})
const imageOf = (release: string) => `${cluster.registry}/bakehouse:${release}`
const nodeImages = async () =>
  (await node.sh(`docker image ls --format '{{.Repository}}:{{.Tag}}'`)).split('\n')

beforeAll(async () => {
  cluster = await startCluster(prefix, { count: 1, publish: [80], registry: true })
  node = cluster.nodes[0] as Node
  base = `http://127.0.0.1:${node.ports[80]}`
  const start = performance.now()
  await loadImages(node, ['postgres:17'])
  figures.loadBaseImagesSeconds = Number(since(start))
  Object.assign(figures, cluster.timings)
  await setUpTree()
  releases.push(await commit('release A'))
})

afterAll(async () => {
  await cluster?.stop()
  tree.remove()
  console.log(`registry figures: ${JSON.stringify(figures)}`)
})

describe('deploy with DEPLOY_REGISTRY to a separate engine', () => {
  it('the first deploy pushes the release to the registry and the server pulls it', async () => {
    const [releaseA] = releases as [string]
    expect((await nodeImages()).filter((image) => image.includes('bakehouse'))).toEqual([])
    const result = await deployed([], { env: env() })
    figures.firstDeploySeconds = Number(result.seconds.toFixed(1))
    expect(result.stdout).toContain('pushes prod without SBOM and provenance')
    const tags = await fetch(`http://${cluster.registry}/v2/bakehouse/tags/list`)
    expect(((await tags.json()) as { tags: string[] }).tags).toContain(releaseA)
    expect(await nodeImages()).toContain(imageOf(releaseA))
    const live = (await (await fetch(`${base}/health/live`)).json()) as { release: string }
    expect(live.release).toBe(releaseA)
  })

  it('a second release is pushed, pulled and switched to under 20 requests/s without a failed request', async () => {
    await Bun.write(`${tree.dir}/CHANGELOG.md`, '# release B\n')
    releases.push(await commit('release B'))
    const [releaseA, releaseB] = releases as [string, string]
    const traffic = probe('/health/live', base)
    const result = await deployed([], { env: env() })
    await Bun.sleep(500)
    const seen = await traffic.stop()
    figures.secondDeploy = { seconds: Number(result.seconds.toFixed(1)), probe: seen }
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.releases).toEqual([releaseA, releaseB])
    expect(await nodeImages()).toContain(imageOf(releaseB))
  })

  it('--rollback pulls the previous release again when the server no longer has it', async () => {
    const [releaseA, releaseB] = releases as [string, string]
    await node.sh(`docker image rm ${imageOf(releaseA)}`)
    expect(await nodeImages()).not.toContain(imageOf(releaseA))
    const traffic = probe('/health/live', base)
    const result = await deployed(['--rollback'], { env: env() })
    await Bun.sleep(500)
    const seen = await traffic.stop()
    figures.rollback = { seconds: Number(result.seconds.toFixed(1)), probe: seen }
    expect(result.stdout).toContain(`pulled ${imageOf(releaseA)} from ${cluster.registry}`)
    expect(seen.failed, seen.errors.join('\n')).toBe(0)
    expect(seen.releases).toEqual([releaseB, releaseA])
  })
})
