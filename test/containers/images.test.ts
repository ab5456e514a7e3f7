import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../ports'
import {
  bake,
  bakeEnv,
  copyWorkTree,
  eventually,
  inspect,
  must,
  prodImage,
  run,
  since,
  version,
} from './docker'

/** Budget on the base images this suite runs with; override where the bases differ. */
const maxProdMb = Number(process.env.PROD_IMAGE_MAX_MB ?? 125)
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10

/** Paths inside an image, from a throwaway container's exported filesystem (works without a shell in the image). */
async function listFiles(image: string): Promise<string[]> {
  const id = (await must(['docker', 'create', image])).trim()
  try {
    const exported = Bun.spawn(['docker', 'export', id], { stdout: 'pipe', stderr: 'ignore' })
    const tar = Bun.spawn(['tar', '-t'], { stdin: exported.stdout, stdout: 'pipe' })
    const list = await new Response(tar.stdout).text()
    expect(await tar.exited).toBe(0)
    return list.split('\n').filter(Boolean)
  } finally {
    await must(['docker', 'rm', id])
  }
}

beforeAll(async () => {
  await bake(['dev', 'prod'])
})

describe('prod image', () => {
  it(`is at most ${maxProdMb} MB`, async () => {
    const { Size } = await inspect('image', prodImage)
    console.log(`prod image ${prodImage}: ${mb(Size)} MB`)
    expect(mb(Size)).toBeLessThanOrEqual(maxProdMb)
  })

  it('runs as a numeric non-root user with an exec-form command, SIGTERM and a curl-free healthcheck in Bun', async () => {
    const { Config } = await inspect('image', prodImage)
    expect(Config.User).toMatch(/^[1-9]\d*:[1-9]\d*$/)
    expect(Config.Entrypoint).toEqual(['/usr/local/bin/bun', '--no-install'])
    expect(Config.Cmd).toEqual(['index.js'])
    expect(Config.StopSignal).toBe('SIGTERM')
    expect(Config.Healthcheck.Test).toEqual([
      'CMD',
      '/usr/local/bin/bun',
      '--no-install',
      '/app/healthcheck.js',
    ])
    expect(Config.Env).toContain('NODE_ENV=production')
  })

  it('carries the OCI labels passed in by bake', async () => {
    const { Config } = await inspect('image', prodImage)
    expect(Config.Labels).toMatchObject({
      'org.opencontainers.image.source': bakeEnv.SOURCE,
      'org.opencontainers.image.revision': bakeEnv.GIT_SHA,
      'org.opencontainers.image.created': bakeEnv.CREATED,
      'org.opencontainers.image.version': version,
    })
  })

  it('holds the bundle only: no sources, tests, node_modules, Bun cache, shell or curl', async () => {
    const files = await listFiles(prodImage)
    const app = files.filter((file) => file.startsWith('app/') && !file.endsWith('/'))
    expect(app).toContain('app/index.js')
    expect(app).toContain('app/migrate.js')
    expect(app).toContain('app/healthcheck.js')
    expect(app.filter((file) => !file.endsWith('.js'))).toEqual([])
    const forbidden =
      /(^|\/)(node_modules|\.bun)\/|^(app|home|root)\/.*(src|test)\/|\.ts$|^(usr\/)?bin\/(sh|bash|curl|wget)$/
    expect(files.filter((file) => forbidden.test(file))).toEqual([])
  })

  describe('started on its own with no database', () => {
    let id = ''
    let port = 0

    beforeAll(async () => {
      port = await freePort()
      id = (
        await must([
          'docker',
          'run',
          '--detach',
          '--read-only',
          '--publish',
          `127.0.0.1:${port}:3000`,
          // Nothing listens there: the database is unreachable on purpose, liveness must not care.
          '--env',
          'DATABASE_URL=postgres://nobody:x@127.0.0.1:1/none',
          prodImage,
        ])
      ).trim()
    })

    afterAll(async () => {
      await run(['docker', 'rm', '--force', id])
    })

    it('answers /health/live, but its HEALTHCHECK waits for /health/ready and never passes', async () => {
      const live = await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/health/live`)
        if (response.status !== 200) throw new Error(`expected 200, got ${response.status}`)
        return response
      }, 30)
      expect(await live.json()).toMatchObject({ status: 'ok' })
      // Probed every 0.5 s while starting: four probes, all failing on readiness, the container never healthy.
      const { State } = await eventually(async () => {
        const container = await inspect('container', id)
        if (container.State.Health.Log.length < 4)
          throw new Error(`expected 4 probes, got ${container.State.Health.Log.length}`)
        return container
      }, 30)
      expect(State.Health.Log.map((probe) => probe.ExitCode)).not.toContain(0)
      expect(State.Health.Status).toBe('starting')
    })

    it('stops on docker stop with exit code 0', async () => {
      const start = performance.now()
      await must(['docker', 'stop', '--time', '10', id])
      console.log(`prod container stopped in ${since(start)} s`)
      const { State } = await inspect('container', id)
      expect(State.ExitCode).toBe(0)
    })
  })
})

describe('dev image', () => {
  it('runs the dev script as the non-root user bun', async () => {
    const { Config, Size } = await inspect('image', 'bakehouse:dev')
    console.log(`dev image bakehouse:dev: ${mb(Size)} MB`)
    expect(Config.User).toBe('bun')
    expect(Config.Cmd).toEqual(['bun', 'run', 'dev'])
  })

  it('is built from a context without local state: .git, node_modules, .env files, .data', async () => {
    const tree = await copyWorkTree()
    const tag = `bakehouse-test-context:${process.pid}`
    try {
      const planted = [
        '.git/HEAD',
        'node_modules/planted/index.js',
        '.env',
        '.env.local',
        '.data/postgres/PG_VERSION',
      ]
      for (const file of planted) {
        mkdirSync(dirname(join(tree.dir, file)), { recursive: true })
        writeFileSync(join(tree.dir, file), 'planted\n')
      }
      await must(['docker', 'buildx', 'bake', '--load', '--set', `dev.tags=${tag}`, 'dev'], { cwd: tree.dir })
      const listing = await must([
        'docker',
        'run',
        '--rm',
        '--network',
        'none',
        tag,
        'sh',
        '-c',
        `for f in ${planted.join(' ')} src/index.ts; do [ -e "$f" ] && echo "$f"; done; true`,
      ])
      expect(listing.trim().split('\n')).toEqual(['src/index.ts'])
    } finally {
      await run(['docker', 'rmi', tag])
      tree.remove()
    }
  })

  it('has git, the docker CLI, buildx bake and compose v2', async () => {
    const out = await must([
      'docker',
      'run',
      '--rm',
      '--network',
      'none',
      'bakehouse:dev',
      'sh',
      '-c',
      'id -un && git --version && docker --version && docker buildx bake --help >/dev/null && docker compose version',
    ])
    const [user, git, docker, compose] = out.trim().split('\n')
    expect(user).toBe('bun')
    expect(git).toMatch(/^git version 2\./)
    expect(docker).toMatch(/^Docker version/)
    expect(compose).toMatch(/^Docker Compose version v?2\./)
  })
})
