import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { must, run } from '../containers/docker'

// Pebble, Let's Encrypt's ACME test server (Debian's package, 2.6 on trixie), as the CA of the HTTPS tests.
// Debian ships no certificate for Pebble's own HTTPS listener (upstream keeps one in test/certs), so the container
// makes a self-signed one at start for its network alias and leaves it in a volume clients mount as their CA file.

export const PEBBLE_DOCKERFILE = `FROM debian:trixie-slim
RUN apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends pebble openssl curl ca-certificates >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
# Owned by nobody so a new volume mounted here is writable by Pebble and readable by every client.
RUN mkdir /pebble-ca && chown 65534:65534 /pebble-ca
USER 65534
WORKDIR /tmp
ENV PEBBLE_HOST=pebble
# A fresh key and certificate for the listener, the config from PEBBLE_CONFIG, then Pebble in the foreground.
CMD ["sh", "-c", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj \\"/CN=$PEBBLE_HOST\\" -addext \\"subjectAltName=DNS:$PEBBLE_HOST,DNS:localhost,IP:127.0.0.1\\" -keyout key.pem -out cert.pem 2>/dev/null && cp cert.pem /pebble-ca/cert.pem && printf %s \\"$PEBBLE_CONFIG\\" > config.json && exec pebble -config config.json"]
`

export interface PebbleOptions {
  /** Container name; also names the CA volume (`<name>-ca`). */
  name: string
  /** The Docker network to join; edges to validate must be on it too. */
  network: string
  /** The alias clients reach Pebble by (default `pebble`). */
  alias?: string
  /** Image tag to build and run. */
  image: string
  /**
   * The port http-01 validations go to (default 80, as Let's Encrypt's). Container to container there is no port
   * mapping, so the edge must listen on it inside; Docker lets any uid bind ports under 1024 in a container.
   */
  httpPort?: number
  /** Lifetime of issued certificates in seconds (Pebble's default is 5 years): short ones make renewal due. */
  validitySeconds?: number
}

export interface Pebble {
  /** The ACME directory URL, for ACME_CA. */
  directory: string
  /** PEM of Pebble's own HTTPS certificate, the CA file ACME clients must trust (ACME_CA_ROOT). */
  caPem: string
  /** A volume holding that PEM as `cert.pem`; mount it read-only into ACME clients. */
  caVolume: string
  /** Pebble's current issuing root (regenerated at every start), to verify issued chains against. */
  root(): Promise<string>
  logs(): Promise<string>
  stop(): Promise<void>
}

/** Builds the Pebble image from Debian's package; cached after the first run. */
export async function buildPebbleImage(tag: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-pebble-'))
  try {
    writeFileSync(join(dir, 'Dockerfile'), PEBBLE_DOCKERFILE)
    await must(['docker', 'build', '--quiet', '--tag', tag, dir])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Starts Pebble on `network` and waits until its directory answers over HTTPS. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const alias = options.alias ?? 'pebble'
  const caVolume = `${options.name}-ca`
  const config = {
    pebble: {
      listenAddress: '0.0.0.0:14000',
      managementListenAddress: '0.0.0.0:15000',
      certificate: '/tmp/cert.pem',
      privateKey: '/tmp/key.pem',
      httpPort: options.httpPort ?? 80,
      tlsPort: 443,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      // Retry-After hints for polling clients; Pebble's example uses 3 and 5 seconds.
      retryAfter: { authz: 1, order: 1 },
      certificateValidityPeriod: options.validitySeconds ?? 157_766_400,
    },
  }
  await must([
    'docker',
    'run',
    '--detach',
    '--name',
    options.name,
    '--network',
    options.network,
    '--network-alias',
    alias,
    '--volume',
    `${caVolume}:/pebble-ca`,
    '--env',
    `PEBBLE_HOST=${alias}`,
    '--env',
    `PEBBLE_CONFIG=${JSON.stringify(config)}`,
    // No random 0-15 s sleep before each validation.
    '--env',
    'PEBBLE_VA_NOSLEEP=1',
    // Pebble rejects 5% of good nonces by default to exercise client retries; tests want determinism.
    '--env',
    'PEBBLE_WFE_NONCEREJECT=0',
    // Every order validates again (default: reuse half the time), so each renewal exercises the webroot.
    '--env',
    'PEBBLE_AUTHZREUSE=0',
    options.image,
  ])
  const exec = (...cmd: string[]) => run(['docker', 'exec', options.name, ...cmd])
  const management = (path: string) =>
    exec(
      'curl',
      '--fail',
      '--silent',
      '--show-error',
      '--cacert',
      '/tmp/cert.pem',
      `https://localhost:15000${path}`,
    )
  const logs = async () => {
    const result = await run(['docker', 'logs', options.name])
    return result.stdout + result.stderr
  }
  const deadline = performance.now() + 30_000
  for (;;) {
    const answer = await exec(
      'curl',
      '--fail',
      '--silent',
      '--cacert',
      '/tmp/cert.pem',
      'https://localhost:14000/dir',
    )
    if (answer.code === 0) break
    if (performance.now() > deadline)
      throw new Error(`expected Pebble to answer on :14000 within 30 s, got:\n${await logs()}`)
    await Bun.sleep(200)
  }
  const caPem = await must(['docker', 'exec', options.name, 'cat', '/pebble-ca/cert.pem'])
  return {
    directory: `https://${alias}:14000/dir`,
    caPem,
    caVolume,
    async root() {
      const result = await management('/roots/0')
      if (result.code !== 0) throw new Error(`expected Pebble's root from /roots/0, got ${result.stderr}`)
      return result.stdout
    },
    logs,
    async stop() {
      await run(['docker', 'rm', '--force', '--volumes', options.name])
      await run(['docker', 'volume', 'rm', caVolume])
    },
  }
}
