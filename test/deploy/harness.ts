import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { copyWorkTree, must, root, run } from '../containers/docker'
import { freePort } from '../ports'
import { type Cluster, loadImages, type Node, startCluster } from './nodes'

// The deploy target and what the scenarios drive it with: a server of its own (a docker-in-docker node with the
// base images but not the app's), a temp repository, the deploy script, a probe. The "repository" is a temp copy of
// the work tree with its own commits, so each release has its own sha.

let cluster: Cluster | undefined
let node: Node | undefined
/** The temp copy of the work tree that deploys run from; filled in by `setUp`. */
export const tree: { dir: string; remove(): void } = { dir: '', remove: () => {} }
export const serverDir = '/srv/bakehouse'
export const project = 'bakehouse'
// A port nothing listens on, for HEALTH_URLS the deploy must ignore.
const deadPort = await freePort()
/** The server's port 80 (the edge), published on this machine; set by `setUp`. */
export let base = ''
export const READY_TIMEOUT = 20
const builtImages: string[] = []

export const git = (...args: string[]) =>
  must(['git', '-c', 'user.name=Release Bot', '-c', 'user.email=release@example.com', ...args], {
    cwd: tree.dir,
  })

/** Commits the temp tree and returns the short sha, which is also the release id and image tag. */
export async function commit(message: string): Promise<string> {
  await git('add', '--all')
  await git('commit', '--quiet', '--allow-empty', '--message', message)
  const sha = (await git('rev-parse', '--short', 'HEAD')).trim()
  builtImages.push(`bakehouse:${sha}`)
  return sha
}

export interface DeployRun {
  code: number
  stdout: string
  stderr: string
  seconds: number
  /** Seconds from start until the first output line matching each mark. */
  marks: Record<string, number>
  pid: number
}

function deployEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    // The node when `setUp` started one; tests with servers of their own pass theirs.
    ...(node && cluster ? { DEPLOY_HOST: node.name, DEPLOY_SSH_CONFIG: cluster.sshConfig } : {}),
    DEPLOY_DIR: serverDir,
    DEPLOY_PROJECT: project,
    DEPLOY_PROXY_BIND: '0.0.0.0',
    DEPLOY_PROXY_PORT: '80',
    DEPLOY_HEALTH_URL: base,
    DEPLOY_READY_TIMEOUT: String(READY_TIMEOUT),
    DEPLOY_MIN_FREE_MB: '512',
    // An operator's own health settings, none of which would pass: the deploy's verify step must check only its URL,
    // as its own settings say (a missing CA file and a malformed address fail health.mjs at once).
    HEALTH_URLS: `http://127.0.0.1:${deadPort}`,
    HEALTH_CA_FILE: '/nonexistent/ca.pem',
    HEALTH_RESOLVE: 'not-a-host-address-pair',
    FORCE_COLOR: '0',
    ...extra,
  }
}

/** Runs `zx scripts/deploy.mjs ARGS` in the temp tree, timestamping output lines that match `marks`. */
export function deploy(
  args: string[],
  { env = {}, marks = {} }: { env?: Record<string, string>; marks?: Record<string, RegExp> } = {},
): { pid: number; done: Promise<DeployRun> } {
  const start = performance.now()
  const proc = Bun.spawn([join(tree.dir, 'node_modules/.bin/zx'), 'scripts/deploy.mjs', ...args], {
    cwd: tree.dir,
    env: { ...process.env, ...deployEnv(env) },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const seen: Record<string, number> = {}
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      const part = decoder.decode(chunk)
      text += part
      for (const [name, pattern] of Object.entries(marks)) {
        if (seen[name] === undefined && pattern.test(text)) seen[name] = (performance.now() - start) / 1000
      }
    }
    return text
  }
  const done = Promise.all([collect(proc.stdout), collect(proc.stderr), proc.exited]).then(
    ([stdout, stderr, code]) => ({
      code,
      stdout,
      stderr,
      seconds: (performance.now() - start) / 1000,
      marks: seen,
      pid: proc.pid,
    }),
  )
  return { pid: proc.pid, done }
}

export async function deployed(args: string[], options?: Parameters<typeof deploy>[1]): Promise<DeployRun> {
  const result = await deploy(args, options).done
  if (result.code !== 0) {
    throw new Error(
      `expected deploy ${args.join(' ')} to exit 0, got ${result.code}\n${result.stdout}\n${result.stderr}`,
    )
  }
  return result
}

/** 20 requests a second to /health/live through the proxy: failures, which releases answered, the slowest answer. */
export function probe(path = '/health/live', url = base) {
  let ok = 0
  let failed = 0
  let slowestMs = 0
  const releases: string[] = []
  const errors: string[] = []
  const pending = new Set<Promise<void>>()
  const timer = setInterval(() => {
    const sent = performance.now()
    const request = fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) })
      .then(async (response) => {
        const body = (await response.json()) as { release?: string }
        if (response.status !== 200) throw new Error(`status ${response.status}`)
        ok++
        slowestMs = Math.max(slowestMs, Math.round(performance.now() - sent))
        if (body.release && releases.at(-1) !== body.release) releases.push(body.release)
      })
      .catch((error: Error) => {
        failed++
        errors.push(error.message)
      })
    pending.add(request)
    request.finally(() => pending.delete(request))
  }, 50)
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all(pending)
      return { ok, failed, releases, slowestMs, errors: errors.slice(0, 5) }
    },
  }
}

export async function live(): Promise<{ release: string }> {
  const response = await fetch(`${base}/health/live`)
  expect(response.status).toBe(200)
  return (await response.json()) as { release: string }
}

/** Runs a shell script on the server (the node), as root. */
export function onNode(script: string): Promise<string> {
  if (!node) throw new Error('expected a server node, got none: call setUp() first')
  return node.sh(script)
}

/** Runs a shell script in the server directory, with the live release's compose file as `compose`. */
export function onServer(script: string): Promise<string> {
  const prelude = [
    `cd ${serverDir}`,
    'export IMAGE=$(cat releases/$(cat current)/image) EDGE_IMAGE=$(cat edge-image) RELEASE=$(cat current)',
    `compose() { docker compose --project-name ${project} --project-directory . --file releases/$RELEASE/compose.prod.yaml "$@"; }`,
  ]
  return onNode(`${prelude.join('\n')}\n${script}`)
}

/** A file of the server directory, or undefined when there is none. */
export async function serverFile(path: string): Promise<string | undefined> {
  const out = await onNode(`cat ${serverDir}/${path} 2>/dev/null || printf '\\001missing'`)
  return out === '\u0001missing' ? undefined : out
}

/** The address the proxy sends traffic to, asked of the proxy itself. */
export const proxyUpstream = async () =>
  (
    await onServer('docker exec "$(compose ps --quiet proxy)" curl --silent http://127.0.0.1:8081/upstream')
  ).trim()

/** Sets the server's edge limits in its env file and restarts the proxy with them. */
export async function setEdgeLimits(limits: Record<string, string>): Promise<void> {
  const lines = Object.entries(limits).map(([key, value]) => `${key}=${value}`)
  await onServer(
    `grep -v '^EDGE_' .env > .env.next; printf '%s\\n' ${lines.map((line) => `'${line}'`).join(' ')} >> .env.next; cat .env.next > .env; rm .env.next
     compose --profile proxy up --detach --wait --no-deps proxy 2>&1`,
  )
}

export const dockerPs = async (filter: string) =>
  (await onNode(`docker ps --all --filter '${filter}' --format '{{.Names}} {{.Image}} {{.State}}'`))
    .split('\n')
    .filter(Boolean)

export const history = async () =>
  ((await serverFile('history.tsv')) ?? '')
    .trim()
    .split('\n')
    .map((line) => line.split('\t'))

/** Starts the server node, with postgres:17 loaded as if pulled, and the temp repository. */
export async function setUp(): Promise<Record<string, number>> {
  const start = performance.now()
  cluster = await startCluster(`bkdeploy${process.pid}`, { count: 1, publish: [80] })
  node = cluster.nodes[0] as Node
  base = `http://127.0.0.1:${node.ports[80]}`
  await loadImages(node, ['postgres:17'])
  const serverSeconds = Number(((performance.now() - start) / 1000).toFixed(1))
  await setUpTree()
  return { ...cluster.timings, serverSeconds }
}

/** The temp repository alone, for tests that bring their own servers. */
export async function setUpTree(): Promise<void> {
  Object.assign(tree, await copyWorkTree())
  // The scripts import zx from the project's dependencies; the build context leaves node_modules out.
  symlinkSync(join(root, 'node_modules'), join(tree.dir, 'node_modules'))
  await git('init', '--quiet', '--initial-branch=main')
}

/** Removes the server node (and with it everything the deploys made there), the temp tree and the images built. */
export async function cleanUp(): Promise<void> {
  await cluster?.stop()
  // The edge images the deploys tagged (by release and by content); the bake's own `latest` stays.
  const edgeTags = (
    await must(['docker', 'images', '--format', '{{.Repository}}:{{.Tag}}', 'bakehouse-edge'])
  )
    .split('\n')
    .filter((tag) => tag && tag !== 'bakehouse-edge:latest')
  await run(['docker', 'image', 'rm', ...new Set(builtImages), ...edgeTags])
  tree.remove()
}
