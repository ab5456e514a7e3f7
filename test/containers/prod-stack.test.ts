import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bake,
  createNote,
  exerciseNotes,
  inspect,
  leftovers,
  must,
  prodImage,
  prodStack,
  run,
  since,
} from './docker'

const { project, passwordFile, port, base, env, composeArgs, compose, containerOf, remove } =
  await prodStack('prod')

async function up(): Promise<void> {
  const start = performance.now()
  await compose('up', '--detach', '--wait')
  console.log(`prod stack: compose up --wait ${since(start)} s`)
}

beforeAll(async () => {
  await bake(['prod'])
})

afterAll(async () => {
  await run([...composeArgs, 'down', '--volumes', '--remove-orphans'], { env })
  remove()
})

describe('compose.prod.yaml', () => {
  it('fails fast, naming the setting, when IMAGE or DATABASE_PASSWORD_FILE is missing', async () => {
    const noImage = await run([...composeArgs, 'config'], { env: { DATABASE_PASSWORD_FILE: passwordFile } })
    expect(noImage.code).not.toBe(0)
    expect(noImage.stderr).toContain('set IMAGE')
    const noSecret = await run([...composeArgs, 'config'], { env: { IMAGE: prodImage } })
    expect(noSecret.code).not.toBe(0)
    expect(noSecret.stderr).toContain('set DATABASE_PASSWORD_FILE')
  })

  it('one `up -d --wait` migrates first and returns once /health/ready is 200', async () => {
    await up()
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(200)
    // The one-shot ran to exit 0 before the api started.
    const migrate = await inspect('container', await containerOf('migrate'))
    const api = await inspect('container', await containerOf('api'))
    expect(migrate.State.ExitCode).toBe(0)
    expect(Date.parse(migrate.State.FinishedAt)).toBeLessThanOrEqual(Date.parse(api.State.StartedAt))
    expect(api.State.Health.Status).toBe('healthy')
  })

  it('keeps a serving api healthy while the database is down: its probe has moved on to /health/live', async () => {
    await compose('stop', 'db')
    try {
      expect((await fetch(`${base}/health/ready`)).status).toBe(503)
      // The image's own HEALTHCHECK command, run by hand rather than waiting 15 s for Docker's next probe.
      const healthcheck = (await inspect('image', prodImage)).Config.Healthcheck.Test.slice(1)
      const probe = await run(['docker', 'exec', await containerOf('api'), ...healthcheck])
      expect(probe.code, probe.stderr).toBe(0)
    } finally {
      await compose('start', 'db')
    }
  })

  it('runs every container hardened: read-only, no capabilities, no new privileges, limits, rotated logs', async () => {
    for (const service of ['api', 'db']) {
      const { HostConfig, Config } = await inspect('container', await containerOf(service))
      expect(HostConfig.ReadonlyRootfs, service).toBe(true)
      expect(HostConfig.CapDrop, service).toEqual(['ALL'])
      expect(HostConfig.CapAdd ?? [], service).toEqual([])
      expect(HostConfig.SecurityOpt, service).toContain('no-new-privileges:true')
      expect(HostConfig.Init, service).toBe(true)
      expect(HostConfig.Memory, service).toBeGreaterThan(0)
      expect(HostConfig.NanoCpus, service).toBeGreaterThan(0)
      expect(HostConfig.PidsLimit, service).toBeGreaterThan(0)
      expect(HostConfig.RestartPolicy.Name, service).toBe('unless-stopped')
      expect(HostConfig.LogConfig.Config, service).toMatchObject({ 'max-size': '10m', 'max-file': '3' })
      expect(Object.keys(HostConfig.Tmpfs ?? {}), service).toContain('/tmp')
      expect(Config.User, service).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/)
    }
  })

  it('keeps the database on an internal network and unpublished', async () => {
    const db = await inspect('container', await containerOf('db'))
    expect(
      Object.values(db.NetworkSettings.Ports ?? {})
        .flat()
        .filter(Boolean),
    ).toEqual([])
    const networks = Object.keys(db.NetworkSettings.Networks)
    expect(networks).toEqual([`${project}_backend`])
    expect((await inspect('network', `${project}_backend`)).Internal).toBe(true)
    const api = await inspect('container', await containerOf('api'))
    expect(api.NetworkSettings.Ports['3000/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }])
  })

  it('serves notes CRUD on http://127.0.0.1', async () => {
    await exerciseNotes(base)
  })

  it('keeps the data across compose down and up', async () => {
    const id = await createNote(base, 'survives a restart')
    await compose('down', '--timeout', '20')
    await up()
    const read = await fetch(`${base}/notes/${id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ id, title: 'survives a restart' })
  })

  it('stops `up` when a migration fails: the api never starts and `logs migrate` shows the error', async () => {
    // A table in the migration's way, as a hand-made change on a server would be.
    const broken = await prodStack('prod-broken')
    try {
      await broken.compose('up', '--detach', '--wait', 'db')
      await broken.compose(
        'exec',
        '-T',
        'db',
        'psql',
        '--username=bakehouse',
        '--dbname=bakehouse',
        '-c',
        'create table notes (x int)',
      )
      const result = await run([...broken.composeArgs, 'up', '--detach', '--wait'], { env: broken.env })
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('service "migrate" didn\'t complete successfully: exit 1')
      // Created, never started.
      const api = await must([
        'docker',
        'inspect',
        '--format',
        '{{.State.Status}}',
        await broken.containerOf('api'),
      ])
      expect(api.trim()).toBe('created')
      expect(await broken.compose('logs', 'migrate')).toContain('relation \\"notes\\" already exists')
    } finally {
      await run([...broken.composeArgs, 'down', '--volumes', '--timeout', '5'], { env: broken.env })
      broken.remove()
    }
  })

  it('stops the api on docker stop with exit code 0', async () => {
    const id = await containerOf('api')
    const start = performance.now()
    await must(['docker', 'stop', id])
    console.log(`prod stack: docker stop api ${since(start)} s`)
    const { State } = await inspect('container', id)
    expect(State.ExitCode).toBe(0)
    expect(State.OOMKilled).toBe(false)
  })

  it('is gone after compose down --volumes: no containers, networks or volumes left', async () => {
    await compose('down', '--volumes', '--remove-orphans', '--timeout', '20')
    expect(await leftovers(project)).toEqual([])
  })
})
