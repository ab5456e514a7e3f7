import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must, since } from '../containers/docker'
import { commit, deployed, setUpTree, tree } from './harness'
import { keepAliveClients } from './keepalive'
import { type Cluster, loadImages, type Node, startCluster } from './nodes'
import { buildPebbleImage, type Pebble, startPebble } from './pebble'

// HTTPS by default with a domain: a server (a docker-in-docker node) named app.test and www.app.test on a network
// where Pebble, Let's Encrypt's test CA, validates it over port 80; deploys, a rollback and a forced renewal under
// load over HTTPS, every answer verified against Pebble's root.

const prefix = `bkhttps${process.pid}`
const pebbleImage = 'bakehouse-test-pebble:latest'
const domains = ['app.test', 'www.app.test']
const figures: Record<string, unknown> = {}
const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
const acmeCaFile = join(dir, 'pebble-listener.pem')
const rootFile = join(dir, 'pebble-root.pem')
let cluster: Cluster
let node: Node
let pebble: Pebble
let root = ''
let httpsBase = ''
let httpBase = ''
const releases: string[] = []

const env = () => ({
  DEPLOY_HOST: node.name,
  DEPLOY_SSH_CONFIG: cluster.sshConfig,
  DEPLOY_DIR: '/srv/bakehouse',
  DEPLOY_PROJECT: 'bakehouse',
  DEPLOY_PROXY_BIND: '0.0.0.0',
  DEPLOY_PROXY_PORT: '80',
  DEPLOY_PROXY_HTTPS_PORT: '443',
  DEPLOY_DOMAIN: domains.join(' '),
  DEPLOY_ACME_EMAIL: 'ops@app.test',
  DEPLOY_ACME_CA: pebble.directory,
  DEPLOY_ACME_CA_ROOT: acmeCaFile,
  DEPLOY_HEALTH_URL: httpsBase,
  // The public check verifies the certificate against Pebble's root, reaching app.test on this machine's port.
  DEPLOY_HEALTH_CA: rootFile,
  DEPLOY_HEALTH_RESOLVE: 'app.test:127.0.0.1',
})

/** Clients over HTTPS to app.test at the node's published port, trusting Pebble's root only. */
const clients = (options: Parameters<typeof keepAliveClients>[1]) =>
  keepAliveClients(httpsBase.replace('app.test', '127.0.0.1'), {
    ca: root,
    servername: 'app.test',
    ...options,
  })

/** The certificate app.test presents now. */
function certificate(): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: node.ports[443], servername: 'app.test', ca: root },
      () => {
        resolve(socket.getPeerCertificate())
        socket.end()
      },
    )
    socket.on('error', reject)
  })
}

const acme = (script: string) =>
  node.sh(`docker exec "$(docker ps -q --filter label=com.docker.compose.service=acme)" ${script}`)

beforeAll(async () => {
  let start = performance.now()
  // The server answers to the domains on the cluster's network, where Pebble validates them over port 80.
  cluster = await startCluster(prefix, { count: 1, publish: [80, 443], aliases: domains })
  node = cluster.nodes[0] as Node
  httpsBase = `https://app.test:${node.ports[443]}`
  httpBase = `http://127.0.0.1:${node.ports[80]}`
  await loadImages(node, ['postgres:17'])
  figures.nodeSeconds = Number(since(start))
  start = performance.now()
  await buildPebbleImage(pebbleImage)
  // A dotted name: Docker's DNS does not forward single-label names, so the server's containers could not find 'pebble'.
  pebble = await startPebble({
    name: `${prefix}-pebble`,
    network: `${prefix}-net`,
    alias: 'acme.test',
    image: pebbleImage,
  })
  writeFileSync(acmeCaFile, pebble.caPem)
  root = await pebble.root()
  writeFileSync(rootFile, root)
  figures.pebbleSeconds = Number(since(start))
  await setUpTree()
  releases.push(await commit('release A'))
})

afterAll(async () => {
  await pebble?.stop()
  await cluster?.stop()
  tree.remove()
  rmSync(dir, { recursive: true, force: true })
  console.log(`https figures: ${JSON.stringify(figures)}`)
})

describe('deploy with DEPLOY_DOMAIN: HTTPS from an ACME CA (Pebble)', () => {
  it('the first deploy gets a certificate for both names and serves the release over verified HTTPS', async () => {
    const result = await deployed([], { env: env() })
    figures.firstDeploySeconds = Number(result.seconds.toFixed(1))
    expect(result.stdout).toMatch(/certificate for app\.test, www\.app\.test \(expires .+\), HTTPS ready/)
    const cert = await certificate()
    expect(cert.subjectaltname).toBe('DNS:app.test, DNS:www.app.test')
    const seen = await clients({ clients: 1, intervalMs: 10, reuse: false })
    await Bun.sleep(300)
    const answers = await seen.stop()
    expect(answers.failed, answers.errors.join('\n')).toBe(0)
    expect(answers.releases).toEqual([releases[0]])
  })

  it('plain HTTP redirects to HTTPS on the name asked for, except the ACME challenge path; HTTPS sends HSTS', async () => {
    const redirect = await fetch(`${httpBase}/notes?limit=1`, {
      redirect: 'manual',
      headers: { host: 'www.app.test' },
    })
    expect(redirect.status).toBe(308)
    expect(redirect.headers.get('location')).toBe('https://www.app.test/notes?limit=1')
    const other = await fetch(`${httpBase}/`, { redirect: 'manual', headers: { host: 'elsewhere.example' } })
    expect(other.headers.get('location')).toBe('https://app.test/')
    const challenge = await fetch(`${httpBase}/.well-known/acme-challenge/unknown-token`, {
      redirect: 'manual',
    })
    expect(challenge.status).toBe(404)
    const hsts = await node.sh(
      `curl --silent --insecure --include --resolve app.test:443:127.0.0.1 https://app.test/health/live | tr -d '\\r' | grep -i '^strict-transport-security'`,
    )
    expect(hsts.trim()).toBe('strict-transport-security: max-age=63072000')
  })

  it('runs the proxy and the certificate client hardened like the rest of compose.prod.yaml', async () => {
    for (const service of ['proxy', 'acme']) {
      const inspected = JSON.parse(
        await node.sh(
          `docker inspect "$(docker ps -q --filter label=com.docker.compose.service=${service})" --format '{{json .}}'`,
        ),
      ) as {
        Config: { User: string }
        HostConfig: {
          ReadonlyRootfs: boolean
          CapDrop: string[]
          CapAdd: string[] | null
          SecurityOpt: string[]
          Memory: number
          PidsLimit: number
        }
      }
      const { HostConfig: host } = inspected
      expect({
        service,
        user: inspected.Config.User,
        readOnly: host.ReadonlyRootfs,
        capDrop: host.CapDrop,
        capAdd: host.CapAdd ?? [],
        noNewPrivileges: host.SecurityOpt.includes('no-new-privileges:true'),
        memoryLimited: host.Memory > 0,
        pidsLimited: host.PidsLimit > 0,
      }).toEqual({
        service,
        user: '101:101',
        readOnly: true,
        capDrop: ['ALL'],
        capAdd: [],
        noNewPrivileges: true,
        memoryLimited: true,
        pidsLimited: true,
      })
    }
  })

  it('offers TLS 1.2 and 1.3 only', async () => {
    const handshake = (maxVersion: tls.SecureVersion) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port: node.ports[443],
            servername: 'app.test',
            ca: root,
            minVersion: 'TLSv1',
            maxVersion,
          },
          () => {
            resolve(socket.getProtocol() ?? '')
            socket.end()
          },
        )
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(`refused: ${error.code}`))
      })
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3')
    expect(await handshake('TLSv1.2')).toBe('TLSv1.2')
    expect(await handshake('TLSv1.1')).toMatch(/^refused/)
  })

  it('a deploy, a forced renewal and a rollback under load over HTTPS fail no request', async () => {
    releases.push(await commit('release B'))
    const before = await certificate()
    const probe = clients({ clients: 1, intervalMs: 50, reuse: false })
    // 20 requests/s on new connections and 20 on one kept connection: under the edge's default 50/s per client.
    const pooled = clients({ clients: 1, intervalMs: 50 })
    const deploy = await deployed([], { env: env() })
    const renewStart = performance.now()
    await acme('/etc/edge/acme.sh renew --force')
    figures.forcedRenewalSeconds = Number(since(renewStart))
    const renewed = await certificate()
    const rollback = await deployed(['--rollback'], { env: env() })
    await Bun.sleep(500)
    const fresh = await probe.stop()
    const kept = await pooled.stop()
    Object.assign(figures, {
      deploySeconds: Number(deploy.seconds.toFixed(1)),
      rollbackSeconds: Number(rollback.seconds.toFixed(1)),
      newConnectionEachRequest: fresh,
      keepAlive: kept,
    })
    console.log(`https load: ${JSON.stringify({ fresh, kept })}`)
    expect(renewed.serialNumber).not.toBe(before.serialNumber)
    expect(fresh.failed, fresh.errors.join('\n')).toBe(0)
    expect(kept.failed, kept.errors.join('\n')).toBe(0)
    expect(kept.reconnects).toBe(0)
    expect(fresh.releases).toEqual([releases[0], releases[1], releases[0]])
    expect(fresh.ok).toBeGreaterThan(200)
  })

  it('health.mjs checks the HTTPS URL against the CA and reports the days left on the certificate', async () => {
    const health = await must(
      [
        join(tree.dir, 'node_modules/.bin/zx'),
        'scripts/health.mjs',
        '--ca',
        rootFile,
        '--resolve',
        'app.test:127.0.0.1',
        httpsBase,
      ],
      { cwd: tree.dir },
    )
    const days = Math.floor((Date.parse((await certificate()).valid_to) - Date.now()) / 86_400_000)
    expect(health).toMatch(new RegExp(`${httpsBase}\\s+200\\s+200\\s+${releases[0]}\\s+${days}d\\s`))
  })
})
