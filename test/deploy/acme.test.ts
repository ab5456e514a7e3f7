import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must, root, run, since } from '../containers/docker'
import { buildPebbleImage, type Pebble, startPebble } from './pebble'

// deploy/edge/acme.sh against Pebble on a private network: a stand-in web server (nginx serving the shared webroot on
// port 80 under the test domains' aliases) and acme.sh in the edge image, as uid 101 on a read-only root.

const prefix = `bakehouse-acme-${process.pid}`
const network = `${prefix}-net`
const images = { pebble: `${prefix}-pebble:test`, web: `${prefix}-web:test` }
// The client is the edge image that ships (`docker buildx bake edge`): lego and acme.sh, run as `acme ARGS`.
const edge = 'bakehouse-edge:latest'
const volumes = { webroot: `${prefix}-webroot`, state: `${prefix}-state`, certs: `${prefix}-certs` }
const domains = ['app.acme.test', 'www.acme.test']
const figures: Record<string, string> = {}
let pebble: Pebble

// The stand-in web server: Debian's nginx answering the http-01 challenge from the webroot acme.sh writes.
const WEB_DOCKERFILE = `FROM debian:trixie-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx >/dev/null && rm -rf /var/lib/apt/lists/*
RUN mkdir /webroot && chown 101:101 /webroot
RUN printf '%s\\n' 'daemon off; pid /tmp/nginx.pid; error_log stderr warn; events {}' \\
  'http { access_log off; server { listen 80; location /.well-known/acme-challenge/ { root /webroot; default_type text/plain; } location / { return 404; } } }' \\
  > /etc/nginx/nginx.conf
CMD ["nginx"]
`

async function build(tag: string, dockerfile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  try {
    writeFileSync(join(dir, 'Dockerfile'), dockerfile)
    await must(['docker', 'build', '--quiet', '--tag', tag, dir])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `docker run` options of the edge's hardening: uid 101, read-only root, no capabilities. */
const hardened = ['--user', '101', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges']

function acmeEnv(extra: Record<string, string> = {}): string[] {
  const env = {
    EDGE_DOMAINS: domains.join(' '),
    ACME_EMAIL: 'ops@acme.test',
    ACME_CA: pebble.directory,
    ACME_CA_ROOT: '/pebble-ca/cert.pem',
    ACME_WEBROOT: '/webroot',
    ...extra,
  }
  return Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`])
}

/** The mounts of the real setup: state and certificates in volumes, the webroot shared with the edge. */
const mounts = () => [
  ...['--volume', `${volumes.state}:/acme`, '--volume', `${volumes.certs}:/certs`],
  ...['--volume', `${volumes.webroot}:/webroot`, '--volume', `${pebble.caVolume}:/pebble-ca:ro`],
]

/** Empty state and certificates on tmpfs, for runs that must not touch the shared certificate. */
const scratchMounts = () => [
  ...['--tmpfs', '/acme:uid=101', '--tmpfs', '/certs:uid=101'],
  ...['--volume', `${volumes.webroot}:/webroot`, '--volume', `${pebble.caVolume}:/pebble-ca:ro`],
]

type AcmeOptions = { env?: Record<string, string>; scratch?: boolean }

/** `docker run` options and command for acme.sh ARGS, on the shared volumes or, with `scratch`, on empty ones. */
const acmeContainer = (args: string[], { env = {}, scratch = false }: AcmeOptions = {}) => [
  ...hardened,
  ...['--network', network],
  ...(scratch ? scratchMounts() : mounts()),
  ...acmeEnv(env),
  ...[edge, 'acme', ...args],
]

/** acme.sh ARGS in a throwaway container. */
const acme = (args: string[], options?: AcmeOptions) =>
  run(['docker', 'run', '--rm', ...acmeContainer(args, options)])

/** acme.sh's renewal loop, detached as `name`. */
const startAcmeLoop = (name: string, options: AcmeOptions) =>
  must(['docker', 'run', '--detach', '--name', name, ...acmeContainer([], options)])

/** Options and command for a shell SCRIPT that reads the certificates as the edge does (uid 101, read-only). */
const certReader = (script: string) => [
  ...hardened,
  ...['--volume', `${volumes.certs}:/certs:ro`],
  ...['--entrypoint', 'sh', edge, '-c', script],
]

/** The published PEM, read as the edge reads it (uid 101): leaf, intermediate and key, with mode, owner and inode. */
async function published() {
  const out = await must([
    ...['docker', 'run', '--rm'],
    ...certReader('stat -c "%a %u %i" /certs/edge.pem && ls -A /certs && cat /certs/edge.pem'),
  ])
  const [stat = '', listing] = out.split('\n')
  const [mode, owner, inode] = stat.split(' ')
  const blocks = out.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g) ?? []
  const [leaf, intermediate, ...more] = blocks
    .filter((block) => block.includes('CERTIFICATE'))
    .map((pem) => new X509Certificate(pem))
  const [key, ...otherKeys] = blocks
    .filter((block) => block.includes('PRIVATE KEY'))
    .map((pem) => createPrivateKey(pem))
  if (!leaf || !intermediate || !key || more.length || otherKeys.length)
    throw new Error(`expected /certs/edge.pem to hold a leaf, its issuer and a key, got:\n${out}`)
  return { mode, owner, inode, listing, leaf, intermediate, key, text: out.slice(out.indexOf('-----BEGIN')) }
}

beforeAll(async () => {
  const start = performance.now()
  await Promise.all([
    buildPebbleImage(images.pebble),
    build(images.web, WEB_DOCKERFILE),
    must(['docker', 'buildx', 'bake', 'edge'], { cwd: root }),
  ])
  figures.images = `${since(start)} s`
  await must(['docker', 'network', 'create', network])
  // Two days: lego counts one whole day left, so ACME_RENEW_DAYS=0 skips renewal and 1 makes it due.
  pebble = await startPebble({
    name: `${prefix}-pebble`,
    network,
    image: images.pebble,
    validitySeconds: 2 * 86_400,
  })
  // Containers first whose folders belong to uid 101, so the new volumes take that owner: the edge image has /acme
  // and /certs, the web server /webroot.
  await must([
    'docker',
    'run',
    '--rm',
    '--volume',
    `${volumes.webroot}:/webroot`,
    '--entrypoint',
    'true',
    images.web,
  ])
  await must(['docker', 'run', '--rm', ...mounts(), '--entrypoint', 'true', edge])
  const aliases = domains.flatMap((domain) => ['--network-alias', domain])
  await must([
    'docker',
    'run',
    '--detach',
    '--name',
    `${prefix}-web`,
    '--network',
    network,
    ...aliases,
    '--volume',
    `${volumes.webroot}:/webroot:ro`,
    images.web,
  ])
})

afterAll(async () => {
  const containers = (await run(['docker', 'ps', '--all', '--quiet', '--filter', `name=^${prefix}-`])).stdout
  const ids = containers.split('\n').filter(Boolean)
  if (ids.length) await run(['docker', 'rm', '--force', ...ids])
  await pebble?.stop()
  await run(['docker', 'volume', 'rm', ...Object.values(volumes)])
  await run(['docker', 'network', 'rm', network])
  await run(['docker', 'image', 'rm', ...Object.values(images)])
  console.log(`acme figures: ${JSON.stringify(figures)}`)
})

describe('deploy/edge/acme.sh', () => {
  let first: Awaited<ReturnType<typeof published>>

  it('once: gets a certificate for every domain from the CA and publishes chain + key as one 0600 file', async () => {
    const start = performance.now()
    const result = await acme(['once'])
    figures.issue = `${since(start)} s`
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`acme: published /certs/edge.pem for ${domains.join(', ')}, expires `)
    first = await published()
    expect([first.mode, first.owner]).toEqual(['600', '101'])
    // Only the published file: the temporary one was renamed, not left behind.
    expect(first.listing).toBe('edge.pem')
    const { leaf, intermediate } = first
    expect(leaf.checkPrivateKey(first.key)).toBe(true)
    for (const domain of domains) expect(leaf.checkHost(domain)).toBe(domain)
    // The chain leads to the root Pebble issues from, which nothing else could have signed with.
    const pebbleRoot = new X509Certificate(await pebble.root())
    expect(leaf.checkIssued(intermediate)).toBe(true)
    expect(leaf.verify(intermediate.publicKey)).toBe(true)
    expect(intermediate.verify(pebbleRoot.publicKey)).toBe(true)
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now() + 86_400_000)
  })

  it('once: leaves a certificate that is not due alone (same file, same serial)', async () => {
    const result = await acme(['once'], { env: { ACME_RENEW_DAYS: '0' } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('no renewal')
    expect(result.stderr).not.toContain('published')
    const again = await published()
    expect(again.inode).toBe(first.inode)
    expect(again.leaf.serialNumber).toBe(first.leaf.serialNumber)
  })

  it('run: renews a certificate that is due; renew --force replaces it atomically while the loop keeps running', async () => {
    const name = `${prefix}-loop`
    // A reader as the edge's uid: a hash of the file every 10 ms, printed when it changes.
    const reader = `${prefix}-reader`
    await must([
      ...['docker', 'run', '--detach', '--name', reader],
      ...certReader(
        'last=; while :; do h=$(sha256sum < /certs/edge.pem); [ "$h" = "$last" ] || echo "$h"; last=$h; sleep 0.01; done',
      ),
    ])
    await startAcmeLoop(name, { env: { ACME_RENEW_DAYS: '1', ACME_CHECK_INTERVAL: '3600' } })
    const logs = async () => (await run(['docker', 'logs', name])).stderr
    const waitFor = async (text: string, count: number) => {
      const deadline = performance.now() + 60_000
      while ((await logs()).split(text).length - 1 < count) {
        if (performance.now() > deadline)
          throw new Error(`expected ${count}× "${text}" in the log, got:\n${await logs()}`)
        await Bun.sleep(250)
      }
    }
    await waitFor('acme: published', 1)
    const renewed = await published()
    expect(renewed.leaf.serialNumber).not.toBe(first.leaf.serialNumber)
    const loopLog = await logs()
    expect(loopLog).toContain('checks every 3600s, renews within 1 days of expiry')
    // A renewal of the kept certificate, not a new order.
    expect(loopLog).toContain('acme: Trying renewal')
    expect(loopLog).not.toContain('ordering a certificate')

    const start = performance.now()
    const forced = await run(['docker', 'exec', name, '/etc/edge/acme.sh', 'renew', '--force'])
    figures.forcedRenewal = `${since(start)} s`
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.stderr).toContain('acme: published /certs/edge.pem')
    const replaced = await published()
    expect(replaced.leaf.serialNumber).not.toBe(renewed.leaf.serialNumber)
    expect(replaced.leaf.checkPrivateKey(replaced.key)).toBe(true)
    // Renewals keep the key, so nginx reading chain and key in two opens across the rename still gets a pair.
    const der = (key: typeof replaced.key) => key.export({ type: 'pkcs8', format: 'der' }).toString('base64')
    expect([der(renewed.key), der(replaced.key)]).toEqual([der(first.key), der(first.key)])
    // A rename gives the path a new inode; rewriting in place would keep it.
    expect(replaced.inode).not.toBe(renewed.inode)
    expect(replaced.listing).toBe('edge.pem')

    // Every version the reader saw was a whole published file, never a partial one.
    const hash = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')
    const seen = (await must(['docker', 'logs', reader]))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0])
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.at(-1)).toBe(hash(replaced.text))
    for (const version of seen)
      expect([hash(first.text), hash(renewed.text), hash(replaced.text)]).toContain(version)

    const stopping = performance.now()
    await must(['docker', 'stop', name])
    figures.stop = `${since(stopping)} s`
    const state = (await must(['docker', 'inspect', '--format', '{{.State.ExitCode}}', name])).trim()
    expect(state).toBe('0')
  })

  it('once: orders a new certificate when the names change, even when the old one is not due', async () => {
    const domain = 'app.acme.test'
    const result = await acme(['once'], { env: { EDGE_DOMAINS: domain, ACME_RENEW_DAYS: '0' } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`acme: ordering a certificate for ${domain} from ${pebble.directory}`)
    const leaf = (await published()).leaf
    expect(leaf.subjectAltName).toBe(`DNS:${domain}`)
  })
})

describe('deploy/edge/acme.sh failures', () => {
  it('a name whose DNS does not point at the edge fails with what to check', async () => {
    const result = await acme(['once'], { scratch: true, env: { EDGE_DOMAINS: 'elsewhere.acme.test' } })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('urn:ietf:params:acme:error:connection')
    expect(result.stderr).toContain(
      "FAILED: the CA could not fetch http://<name>/.well-known/acme-challenge/ for elsewhere.acme.test; make sure each name's DNS points at this server and port 80 is reachable from the internet",
    )
  })

  it('an unreachable CA fails naming ACME_CA; an untrusted one asks for ACME_CA_ROOT', async () => {
    const unreachable = await acme(['once'], {
      scratch: true,
      env: { ACME_CA: 'https://nowhere.acme.test/dir' },
    })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain(
      'FAILED: could not reach the ACME CA at https://nowhere.acme.test/dir; check ACME_CA',
    )
    const untrusted = await acme(['once'], { scratch: true, env: { ACME_CA_ROOT: '' } })
    expect(untrusted.code).toBe(1)
    expect(untrusted.stderr).toContain('does not trust; for a private CA set ACME_CA_ROOT')
  })

  it('bad settings are listed together and exit 2 before lego runs', async () => {
    const result = await acme(['once'], {
      scratch: true,
      env: {
        EDGE_DOMAINS: '*.acme.test,localhost',
        ACME_EMAIL: '',
        ACME_CHECK_INTERVAL: '0',
        ACME_CA: 'http://ca',
      },
    })
    expect(result.code).toBe(2)
    for (const problem of [
      'EDGE_DOMAINS: expected a DNS name (http-01 cannot issue wildcards), got *.acme.test',
      'EDGE_DOMAINS: expected a fully qualified name such as app.example.com, got localhost',
      "ACME_EMAIL: expected an email address for the ACME account, got ''",
      'ACME_CHECK_INTERVAL: expected at least 1 second, got 0',
      "ACME_CA: expected the https:// URL of an ACME directory, got 'http://ca'",
    ])
      expect(result.stderr).toContain(problem)
    expect(result.stderr).not.toContain('lego:')
    const usage = await acme(['renew'], { scratch: true })
    expect([usage.code, usage.stderr.trim()]).toEqual([
      2,
      "acme: renew: expected --force (the loop renews on its own), got ''",
    ])
  })

  it('run: keeps retrying after a failure instead of exiting', async () => {
    const name = `${prefix}-retry`
    await startAcmeLoop(name, {
      scratch: true,
      env: { ACME_CA: 'https://nowhere.acme.test/dir', ACME_RETRY_INTERVAL: '1', ACME_CA_ROOT: '' },
    })
    const deadline = performance.now() + 30_000
    let log = ''
    while ((log.match(/retrying in 1s/g) ?? []).length < 2 && performance.now() < deadline) {
      await Bun.sleep(250)
      log = (await run(['docker', 'logs', name])).stderr
    }
    expect((log.match(/FAILED: could not reach the ACME CA/g) ?? []).length).toBeGreaterThanOrEqual(2)
    expect((await must(['docker', 'inspect', '--format', '{{.State.Running}}', name])).trim()).toBe('true')
  })
})
