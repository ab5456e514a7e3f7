import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { expect } from 'vitest'
import { freePort } from '../ports'

export const root = join(import.meta.dirname, '../..')

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string
  packageManager: string
}
export const version = pkg.version
/** The Bun version everything must agree on, from "packageManager": "bun@x.y.z". */
export const bunVersion = pkg.packageManager.replace(/^bun@/, '')

export interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Settings that would change what bake and compose resolve; tests pass their own. */
const OVERRIDABLE = [
  'BUN_VERSION',
  'IMAGE',
  'REGISTRY',
  'TAG',
  'GIT_SHA',
  'VERSION',
  'SOURCE',
  'CREATED',
  'API_PORT',
  'API_BIND',
]
export const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !OVERRIDABLE.includes(key)),
)

/** For commands that run a nested vitest in a copy: it must neither write this run's JSON report nor act as its worker. */
export const nestedEnv = Object.fromEntries(
  Object.entries(baseEnv).filter(([key]) => !key.startsWith('VITEST') && key !== 'TEST'),
) as Record<string, string>

/** Runs a command to completion and returns its output; never throws on a non-zero exit. */
export async function run(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string>; base?: Record<string, string | undefined> } = {},
): Promise<Result> {
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd ?? root,
    env: { ...(options.base ?? baseEnv), ...options.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, stdout, stderr }
}

/** Like run, but a non-zero exit fails the test with the command and its output. */
export async function must(cmd: string[], options: Parameters<typeof run>[1] = {}): Promise<string> {
  const result = await run(cmd, options)
  if (result.code !== 0) {
    throw new Error(
      `expected \`${cmd.join(' ')}\` to exit 0, got ${result.code}\n${result.stderr}\n${result.stdout}`,
    )
  }
  return result.stdout
}

/** Seconds since `start`, for the timings printed next to the results. */
export const since = (start: number) => ((performance.now() - start) / 1000).toFixed(1)

export const gitSha = (await run(['git', 'rev-parse', '--short', 'HEAD'])).stdout.trim() || 'local'

/** What the tests pass to bake: fixed values, so the labels and tags can be checked exactly. */
export const bakeEnv = {
  GIT_SHA: gitSha,
  SOURCE: 'https://example.com/bakehouse.git',
  CREATED: '2026-01-01T00:00:00Z',
}

export const prodImage = `bakehouse:${gitSha}`

/**
 * Builds targets on the current builder as users do, with no flags to work around the driver; --load only matters on
 * a docker-container builder (GitHub Actions), the docker driver loads anyway.
 */
export async function bake(targets: string[]): Promise<void> {
  const start = performance.now()
  await must(['docker', 'buildx', 'bake', '--load', ...targets], {
    env: bakeEnv,
  })
  console.log(`bake ${targets.join(' ')}: ${since(start)} s`)
}

/** Runs a Bun one-liner inside `image` (distroless: no shell), offline, and returns what it printed. */
export async function bunInImage(image: string, script: string): Promise<string> {
  return (
    await must([
      'docker',
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      '/usr/local/bin/bun',
      image,
      '-e',
      script,
    ])
  ).trim()
}

/** The parts of `docker inspect` these tests read. */
export interface Inspected {
  image: {
    Size: number
    Config: {
      User: string
      Entrypoint: string[] | null
      Cmd: string[] | null
      Env: string[]
      StopSignal?: string
      Labels: Record<string, string>
      Healthcheck: { Test: string[] }
    }
  }
  container: {
    Config: { User: string }
    State: {
      ExitCode: number
      OOMKilled: boolean
      StartedAt: string
      FinishedAt: string
      Health: { Status: string; Log: { ExitCode: number; End: string }[] }
    }
    HostConfig: {
      ReadonlyRootfs: boolean
      CapAdd: string[] | null
      CapDrop: string[] | null
      SecurityOpt: string[] | null
      Init: boolean | null
      Memory: number
      NanoCpus: number
      PidsLimit: number | null
      RestartPolicy: { Name: string }
      LogConfig: { Config: Record<string, string> }
      Tmpfs: Record<string, string> | null
    }
    NetworkSettings: {
      Ports: Record<string, { HostIp: string; HostPort: string }[] | null>
      Networks: Record<string, unknown>
    }
  }
  network: { Internal: boolean }
}

export async function inspect<K extends keyof Inspected>(kind: K, name: string): Promise<Inspected[K]> {
  const [info] = JSON.parse(await must(['docker', kind, 'inspect', name])) as Inspected[K][]
  if (!info) throw new Error(`expected docker ${kind} inspect to describe ${name}, got nothing`)
  return info
}

/** A compose project name no other run shares, so parallel runs and leftovers never collide. */
export const projectName = (purpose: string) =>
  `bakehouse-test-${purpose}-${process.pid}-${Date.now().toString(36)}`

/** Everything a compose project made (containers, networks, volumes), by its label. */
export async function leftovers(project: string): Promise<string[]> {
  const filter = `label=com.docker.compose.project=${project}`
  const lists = await Promise.all([
    must(['docker', 'ps', '--all', '--quiet', '--filter', filter]),
    must(['docker', 'network', 'ls', '--quiet', '--filter', filter]),
    must(['docker', 'volume', 'ls', '--quiet', '--filter', filter]),
  ])
  return lists.flatMap((list) => list.split('\n').filter(Boolean))
}

/** A copy of the work tree (tracked and untracked, minus ignored files) that a test may edit freely. */
export async function copyWorkTree(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-tree-'))
  const files = await must(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'])
  for (const file of files.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    try {
      cpSync(join(root, file), join(dir, file))
    } catch (error) {
      // Deleted in the work tree but still in the index: the copy mirrors the work tree.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Retries `check` until it stops throwing or `seconds` pass; bounded, so a broken stack fails instead of hanging. */
export async function eventually<T>(check: () => Promise<T>, seconds = 60): Promise<T> {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (performance.now() > deadline) throw error
      await Bun.sleep(500)
    }
  }
}

interface Note {
  id: string
  title: string
  body: string
  version: number
}

/** Create → read → list → update → delete over real HTTP, asserting each answer. Returns nothing: it cleans up. */
export async function exerciseNotes(base: string): Promise<void> {
  const title = `note ${crypto.randomUUID()}`
  const created = await fetch(`${base}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, body: 'flour, water, salt' }),
  })
  expect(created.status).toBe(201)
  const note = (await created.json()) as Note
  expect(note).toMatchObject({ title, body: 'flour, water, salt', version: 1 })
  expect(created.headers.get('etag')).toBe('"1"')

  const read = await fetch(`${base}/notes/${note.id}`)
  expect(read.status).toBe(200)
  expect(await read.json()).toMatchObject({ id: note.id, title })

  const list = await fetch(`${base}/notes?q=${encodeURIComponent(title)}&limit=10`)
  expect(list.status).toBe(200)
  const page = (await list.json()) as { items: Note[] }
  expect(page.items.map((item) => item.id)).toEqual([note.id])

  const updated = await fetch(`${base}/notes/${note.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', 'if-match': '"1"' },
    body: JSON.stringify({ body: 'flour, water, salt, yeast' }),
  })
  expect(updated.status).toBe(200)
  expect(await updated.json()).toMatchObject({ body: 'flour, water, salt, yeast', version: 2 })

  const stale = await fetch(`${base}/notes/${note.id}`, { method: 'DELETE', headers: { 'if-match': '"1"' } })
  expect(stale.status).toBe(412)
  const deleted = await fetch(`${base}/notes/${note.id}`, {
    method: 'DELETE',
    headers: { 'if-match': '"2"' },
  })
  expect(deleted.status).toBe(204)
  expect((await fetch(`${base}/notes/${note.id}`)).status).toBe(404)
}

/** Creates a note and returns its id, for checks that span restarts. */
export async function createNote(base: string, title: string): Promise<string> {
  const response = await fetch(`${base}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, body: '' }),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as Note).id
}

/**
 * A compose.prod.yaml stack under its own project name: a free loopback port and a fresh database password file
 * (mode 0644, read by uid 999 and 65532). Call `remove()` after `down` to delete the secret.
 */
export async function prodStack(purpose: string) {
  const project = projectName(purpose)
  const secrets = mkdtempSync(join(tmpdir(), `bakehouse-${purpose}-secrets-`))
  const passwordFile = join(secrets, 'db_password')
  writeFileSync(passwordFile, `${crypto.randomUUID()}\n`)
  chmodSync(passwordFile, 0o644)
  const port = await freePort()
  const env = { IMAGE: prodImage, DATABASE_PASSWORD_FILE: passwordFile, API_PORT: String(port) }
  const composeArgs = ['docker', 'compose', '--file', 'compose.prod.yaml', '--project-name', project]
  const compose = (...args: string[]) => must([...composeArgs, ...args], { env })
  return {
    project,
    passwordFile,
    port,
    base: `http://127.0.0.1:${port}`,
    env,
    composeArgs,
    compose,
    /** Container id of a service, running or not. */
    containerOf: async (service: string) => (await compose('ps', '--all', '--quiet', service)).trim(),
    remove: () => rmSync(secrets, { recursive: true, force: true }),
  }
}
