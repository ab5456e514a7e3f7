import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { must, run, since } from '../containers/docker'
import { ensureOpenSsh, SSHD_POLICY } from './server'

// Separate Docker engines acting as servers: docker-in-docker containers built from Debian's docker.io, on a private
// network this file creates, each with sshd published on 127.0.0.1. Base images are loaded "as if pulled"; the app
// image never is, so a deploy has to bring it (over SSH or through the registry).

const NODE_IMAGE = 'bakehouse-test-node:latest'
const NODE_DIR = join(import.meta.dirname, 'node')

export interface Node {
  /** Container name on this engine, also the Host alias in the cluster's ssh_config. */
  name: string
  /** Its address on the private network (swarm advertise/join address). */
  ip: string
  /** Node port → 127.0.0.1 port on this machine (22 and the app ports asked for). */
  ports: Record<number, number>
  /** Runs a shell command inside the node (with its own Docker engine); throws on a non-zero exit. */
  sh(script: string): Promise<string>
}

export interface Cluster {
  nodes: Node[]
  sshConfig: string
  /** `127.0.0.1:<port>` of the registry, the same address from this machine and inside every node; '' without. */
  registry: string
  /** Seconds each step of `startCluster` took, for the report. */
  timings: Record<string, number>
  /** Removes the nodes, their volumes, the registry, the images pushed to it, the network; safe to call twice. */
  stop(): Promise<void>
}

/** Builds the node image (cached after the first run: a few seconds when nothing changed). */
export async function buildNodeImage(): Promise<void> {
  await must([
    'docker',
    'build',
    '--quiet',
    '--tag',
    NODE_IMAGE,
    '--file',
    join(NODE_DIR, 'node.Dockerfile'),
    NODE_DIR,
  ])
}

/** Settings for scripts/deploy.mjs to deploy to `node` through the cluster's registry, its proxy on port 80. */
export function deployEnv(cluster: Cluster, node: Node): Record<string, string> {
  return {
    DEPLOY_HOST: node.name,
    DEPLOY_SSH_CONFIG: cluster.sshConfig,
    DEPLOY_DIR: '/srv/bakehouse',
    DEPLOY_REGISTRY: cluster.registry,
    DEPLOY_PROXY_BIND: '0.0.0.0',
    DEPLOY_PROXY_PORT: '80',
    DEPLOY_HEALTH_URL: `http://127.0.0.1:${node.ports[80]}`,
    // The docker driver: its pushes go out from this machine, where the registry is on 127.0.0.1.
    BUILDX_BUILDER: 'default',
  }
}

/** `docker save IMAGES | docker exec -i NODE docker load`: base images present as if the node had pulled them. */
export async function loadImages(node: Node, images: string[]): Promise<void> {
  await must([
    'sh',
    '-c',
    `docker save ${images.join(' ')} | docker exec -i ${node.name} docker load --quiet`,
  ])
}

/**
 * Starts `count` nodes named `<prefix>-node<i>` on the network `<prefix>-net`; `publish` lists node ports (80, 443)
 * to publish on free 127.0.0.1 ports; `aliases` are network names of the first node; `registry` adds a registry:2 container reachable as 127.0.0.1:<port> everywhere.
 */
export async function startCluster(
  prefix: string,
  {
    count,
    publish = [],
    registry = false,
    aliases = [],
  }: { count: number; publish?: number[]; registry?: boolean; aliases?: string[] },
): Promise<Cluster> {
  const timings: Record<string, number> = {}
  const network = `${prefix}-net`
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-ssh-`))
  const names = Array.from({ length: count }, (_, i) => `${prefix}-node${i + 1}`)
  const started: string[] = []
  let stopped = false
  let registryPort = ''
  const stop = async () => {
    if (stopped) return
    stopped = true
    if (started.length) await run(['docker', 'rm', '--force', '--volumes', ...started])
    // What bake tagged here under the registry's name: its port is this run's own.
    const pushed = registryPort
      ? (
          await run([
            ...['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'],
            ...['--filter', `reference=127.0.0.1:${registryPort}/*`],
          ])
        ).stdout
          .split('\n')
          .filter(Boolean)
      : []
    if (pushed.length) await run(['docker', 'image', 'rm', ...pushed])
    await run(['docker', 'volume', 'rm', ...names.map((name) => `${name}-docker`)])
    await run(['docker', 'network', 'rm', network])
    // The next run rebuilds it from the build cache in a second or two.
    await run(['docker', 'image', 'rm', NODE_IMAGE])
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await ensureOpenSsh()
    let start = performance.now()
    await buildNodeImage()
    timings.nodeImageSeconds = Number(since(start))
    chmodSync(dir, 0o700)
    await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
    await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')])
    writeFileSync(join(dir, 'authorized_keys'), await Bun.file(join(dir, 'client_key.pub')).text())
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        'HostKey /etc/node-ssh/host_key',
        'AuthorizedKeysFile /etc/node-ssh/authorized_keys',
        ...SSHD_POLICY,
        '',
      ].join('\n'),
    )
    await must(['docker', 'network', 'create', '--label', `dev.bakehouse.test=${prefix}`, network])
    if (registry) {
      if ((await run(['docker', 'image', 'inspect', 'registry:2'])).code !== 0)
        throw new Error('expected the image registry:2, got none; run `docker pull registry:2`')
      const name = `${prefix}-registry`
      started.push(name)
      await must([
        ...['docker', 'run', '--detach', '--name', name, '--network', network, '--network-alias', 'registry'],
        ...['--publish', '127.0.0.1::5000', 'registry:2'],
      ])
      registryPort = (await must(['docker', 'port', name, '5000'])).trim().split(':').pop() as string
    }
    start = performance.now()
    await Promise.all(
      names.map(async (name) => {
        started.push(name)
        await must([
          ...['docker', 'run', '--detach', '--privileged', '--init', '--name', name, '--hostname', name],
          ...['--network', network, '--label', `dev.bakehouse.test=${prefix}`],
          // Names the first node answers to on the network, e.g. the domain an ACME CA validates.
          ...(name === names[0] ? aliases.flatMap((alias) => ['--network-alias', alias]) : []),
          // Empty at each start, as on a booting machine: a killed node's stale docker.pid would stop its dockerd.
          ...['--tmpfs', '/run'],
          // The nested engine's storage on a real file system: overlay2 cannot sit on the container's overlay root.
          ...['--mount', `type=volume,source=${name}-docker,target=/var/lib/docker`],
          ...['--volume', `${dir}:/etc/node-ssh:ro`, '--env', `REGISTRY_PORT=${registryPort}`],
          ...[22, ...publish].flatMap((port) => ['--publish', `127.0.0.1::${port}`]),
          NODE_IMAGE,
        ])
      }),
    )
    const nodes = await Promise.all(names.map((name) => describeNode(name, [22, ...publish])))
    const hostKey = (await Bun.file(join(dir, 'host_key.pub')).text()).trim()
    writeFileSync(
      join(dir, 'known_hosts'),
      nodes.map((node) => `[127.0.0.1]:${node.ports[22]} ${hostKey}\n`).join(''),
    )
    const sshConfig = join(dir, 'ssh_config')
    writeFileSync(
      sshConfig,
      nodes
        .map((node) =>
          [
            `Host ${node.name}`,
            '  HostName 127.0.0.1',
            `  Port ${node.ports[22]}`,
            '  User root',
            `  IdentityFile ${join(dir, 'client_key')}`,
            '  IdentitiesOnly yes',
            `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
            '  StrictHostKeyChecking yes',
            '',
          ].join('\n'),
        )
        .join(''),
    )
    await Promise.all(nodes.map((node) => waitForSshAndDocker(node, sshConfig)))
    timings.nodesStartSeconds = Number(since(start))
    return { nodes, sshConfig, registry: registryPort && `127.0.0.1:${registryPort}`, timings, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function describeNode(name: string, ports: number[]): Promise<Node> {
  const ip = (
    await must([
      'docker',
      'inspect',
      '--format',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      name,
    ])
  ).trim()
  const published: Record<number, number> = {}
  for (const port of ports)
    published[port] = Number((await must(['docker', 'port', name, String(port)])).trim().split(':').pop())
  return { name, ip, ports: published, sh: (script) => must(['docker', 'exec', name, 'sh', '-c', script]) }
}

/** Until `ssh NODE docker version` answers, as the deploy will ask it; 30 s at most. */
async function waitForSshAndDocker(node: Node, sshConfig: string): Promise<void> {
  const deadline = performance.now() + 30_000
  for (;;) {
    const probe = await run([
      'ssh',
      '-F',
      sshConfig,
      '-o',
      'BatchMode=yes',
      node.name,
      'docker version --format ok',
    ])
    if (probe.code === 0 && probe.stdout.trim() === 'ok') return
    if (performance.now() > deadline) {
      const logs = await run(['docker', 'logs', '--tail', '20', node.name])
      throw new Error(
        `expected ssh ${node.name} (127.0.0.1:${node.ports[22]}) to reach its docker within 30 s, got ${probe.stderr}\n${logs.stderr}`,
      )
    }
    await Bun.sleep(200)
  }
}
