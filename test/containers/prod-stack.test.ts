import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bake,
  createNote,
  eventually,
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
  await run([...composeArgs, '--profile', 'migrate', 'down', '--volumes', '--remove-orphans'], { env })
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

  it('comes up healthy but not ready until the one-off migrate service has run', async () => {
    await up()
    const before = await fetch(`${base}/health/ready`)
    expect(before.status).toBe(503)
    expect(before.headers.get('content-type')).toContain('application/problem+json')

    await compose('run', '--rm', 'migrate')
    const after = await eventually(async () => {
      const response = await fetch(`${base}/health/ready`)
      if (response.status !== 200) throw new Error(`expected 200 from /health/ready, got ${response.status}`)
      return response
    }, 15)
    expect(after.status).toBe(200)
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
    await compose('--profile', 'migrate', 'down', '--volumes', '--remove-orphans', '--timeout', '20')
    expect(await leftovers(project)).toEqual([])
  })
})
