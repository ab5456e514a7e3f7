import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run as runCommand } from './containers/docker'
import { createTestApp } from './helpers'
import { freePort } from './ports'

// The zx scripts as users start them: `zx scripts/….mjs …` and `bun run … -- …` (which runs zx), never `node …`.
const root = join(import.meta.dirname, '..')
const zx = join(root, 'node_modules/.bin/zx')

const ways = {
  health: {
    zx: (...args: string[]) => [zx, 'scripts/health.mjs', ...args],
    'bun run': (...args: string[]) => ['bun', 'run', 'health', '--', ...args],
  },
  deploy: {
    zx: (...args: string[]) => [zx, 'scripts/deploy.mjs', ...args],
    'bun run': (...args: string[]) => ['bun', 'run', 'deploy', '--', ...args],
  },
}

// The scripts' own settings from the environment would change what they do; each test passes its own.
const ambient = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(DEPLOY_.*|HEALTH_.*)$/.test(key)),
)

const run = (cmd: string[], env: Record<string, string> = {}) =>
  runCommand(cmd, { cwd: root, base: ambient, env: { FORCE_COLOR: '0', ...env } })

let server: ReturnType<typeof Bun.serve>
let tlsServer: ReturnType<typeof Bun.serve>
let base = ''
let tlsBase = ''
let nobody = ''
// A self-signed certificate for 127.0.0.1 that expires in 20 days; its PEM is also the CA file the script trusts.
const certDir = mkdtempSync(join(tmpdir(), 'bakehouse-health-tls-'))
const caFile = join(certDir, 'cert.pem')

beforeAll(async () => {
  const { app } = await createTestApp()
  server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.handle(request) })
  base = `http://127.0.0.1:${server.port}`
  nobody = `http://127.0.0.1:${await freePort()}`
  // biome-ignore format: one openssl command, grouped by option
  const made = await runCommand(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '20', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:app.test',
    '-keyout', join(certDir, 'key.pem'), '-out', caFile])
  if (made.code !== 0) throw new Error(`expected openssl to make a test certificate, got ${made.stderr}`)
  tlsServer = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    tls: { cert: Bun.file(caFile), key: Bun.file(join(certDir, 'key.pem')) },
    fetch: (request) => app.handle(request),
  })
  tlsBase = `https://127.0.0.1:${tlsServer.port}`
})

afterAll(() => {
  server?.stop(true)
  tlsServer?.stop(true)
  rmSync(certDir, { recursive: true, force: true })
})

for (const [way, health] of Object.entries(ways.health)) {
  describe(`scripts/health.mjs run with ${way}`, () => {
    it('exits 0 and prints the row when the URL is live and ready', async () => {
      const result = await run(health(base))
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`${base}\\s+200\\s+200`))
    })

    it('takes options before the URL: --wait with --deadline passes on a healthy URL', async () => {
      const result = await run(health('--wait', '--deadline', '5', '--quiet', base))
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe('')
    })

    it('prints what a server sends without terminal escapes or bidi controls, and capped', async () => {
      const hostile = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        fetch: (request) =>
          new URL(request.url).pathname === '/health/live'
            ? Response.json({ status: 'ok', release: `\u001b]0;owned\u0007\u001b[2J${'r'.repeat(500)}` })
            : Response.json({ detail: `\u001b[31mred\u202edesrever${'d'.repeat(500)}` }, { status: 503 }),
      })
      try {
        const result = await run(health('--retries', '0', `http://127.0.0.1:${hostile.port}`))
        expect(result.code).toBe(1)
        const printed = result.stdout + result.stderr
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about control characters.
        expect(printed).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/)
        expect(printed).not.toContain('r'.repeat(41))
        expect(printed).not.toContain('d'.repeat(81))
      } finally {
        hostile.stop(true)
      }
    })

    it('exits 1 with a table row when nothing answers', async () => {
      const result = await run(health('--timeout', '1', '--retries', '0', nobody))
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(/URL\s+LIVE\s+READY/)
      expect(result.stdout).toContain(nobody)
    })

    it('exits 2 naming the problem on bad usage; --help exits 0', async () => {
      const bad = await run(health('--nope', base))
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain('unknown option --nope')
      const notUrl = await run(health('example.com'))
      expect(notUrl.code).toBe(2)
      expect(notUrl.stderr).toContain('expected an http(s) URL, got example.com')
      for (const [options, message] of [
        [['--deadline'], '--deadline: expected a number from 0 to 3600, got no value'],
        [['--timeout', '0'], '--timeout: expected a number from 0.1 to 300, got 0'],
        [['--retries', '1.5'], '--retries: expected a whole number from 0 to 10, got 1.5'],
        [['--retries', '1e9'], '--retries: expected a whole number from 0 to 10, got 1e9'],
      ] as const) {
        const refused = await run(health(base, ...options))
        expect([options, refused.code]).toEqual([options, 2])
        expect(refused.stderr).toContain(message)
      }
      const help = await run(health('--help'))
      expect(help.code).toBe(0)
      expect(help.stdout).toContain('Usage: zx scripts/health.mjs')
    })
  })
}

describe('scripts/health.mjs on https URLs', () => {
  const health = ways.health.zx

  it('refuses a certificate from an unknown CA and says how to trust it', async () => {
    const result = await run(health('--retries', '0', tlsBase))
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('DEPTH_ZERO_SELF_SIGNED_CERT (a private CA? pass --ca FILE)')
  })

  it('with --ca or HEALTH_CA_FILE: passes and shows the days left on the certificate', async () => {
    for (const [options, env] of [
      [['--ca', caFile], {}],
      [[], { HEALTH_CA_FILE: caFile }],
    ] as const) {
      const result = await run(health(...options, tlsBase), env)
      expect(result.code, result.stdout + result.stderr).toBe(0)
      // Made with -days 20 moments ago: 19 whole days and some hours left.
      expect(result.stdout).toMatch(/URL\s+LIVE\s+READY\s+RELEASE\s+CERT/)
      expect(result.stdout).toMatch(new RegExp(`${tlsBase}\\s+200\\s+200\\s+\\S+\\s+19d\\s`))
    }
    const plain = await run(health(base))
    expect(plain.stdout).toMatch(new RegExp(`${base}\\s+200\\s+200\\s+\\S+\\s+-\\s`))
  })

  it('--min-cert-days fails a certificate that expires sooner, and passes one that does not', async () => {
    const soon = await run(health('--ca', caFile, '--min-cert-days', '30', tlsBase))
    expect(soon.code).toBe(1)
    expect(soon.stdout).toContain('cert: expires in 19 days, expected at least 30 (--min-cert-days)')
    const enough = await run(health('--ca', caFile, '--min-cert-days', '19', tlsBase))
    expect(enough.code, enough.stdout).toBe(0)
  })

  it('--resolve NAME:ADDRESS reaches a name no DNS knows, still checking its certificate', async () => {
    const byName = `https://app.test:${tlsServer.port}`
    const pinned = await run(health('--ca', caFile, '--resolve', 'app.test:127.0.0.1', byName))
    expect(pinned.code, pinned.stdout + pinned.stderr).toBe(0)
    const fromEnv = await run(health('--ca', caFile, byName), { HEALTH_RESOLVE: 'app.test:127.0.0.1' })
    expect(fromEnv.code, fromEnv.stdout + fromEnv.stderr).toBe(0)
    // The certificate names app.test, not another name pinned to the same address.
    const wrong = await run(
      health(
        '--ca',
        caFile,
        '--retries',
        '0',
        '--resolve',
        'other.test:127.0.0.1',
        `https://other.test:${tlsServer.port}`,
      ),
    )
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toContain('ERR_TLS_CERT_ALTNAME_INVALID')
    const bad = await run(health('--resolve', 'app.test', byName))
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--resolve: expected NAME:ADDRESS')])
  })

  it('exits 2 on a CA file that is missing or holds no certificate', async () => {
    const missing = await run(health('--ca', join(certDir, 'nope.pem'), tlsBase))
    expect([missing.code, missing.stderr]).toEqual([
      2,
      expect.stringContaining('--ca: expected a readable PEM file'),
    ])
    const notPem = await run(health(tlsBase), { HEALTH_CA_FILE: join(certDir, 'key.pem') })
    expect([notPem.code, notPem.stderr]).toEqual([
      2,
      expect.stringContaining(
        `HEALTH_CA_FILE: expected PEM certificates in ${join(certDir, 'key.pem')}, got none`,
      ),
    ])
  })
})

for (const [way, deploy] of Object.entries(ways.deploy)) {
  describe(`scripts/deploy.mjs run with ${way}`, () => {
    it('--status --dry-run --host names that host and changes nothing', async () => {
      const result = await run(deploy('--status', '--dry-run', '--host', 'deploy@server.test'))
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toContain('plan (dry run): status on deploy@server.test:/srv/bakehouse')
    })

    it('exits 2 on an unknown option or a stray argument; --help exits 0', async () => {
      const bad = await run(deploy('--nope'))
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain('unknown option --nope')
      const stray = await run(deploy('--dry-run', 'production'))
      expect(stray.code).toBe(2)
      expect(stray.stderr).toContain('unexpected argument production')
      const help = await run(deploy('--help'))
      expect(help.code).toBe(0)
      expect(help.stdout).toContain('--rollback [RELEASE]')
    })
  })
}
