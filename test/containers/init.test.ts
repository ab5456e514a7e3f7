import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { SQL } from 'bun'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/embedded-postgres'
import { createLogger } from '../../src/log'
import { freePort } from '../ports'
import { copyWorkTree, nestedEnv, type Result, root, run, since } from './docker'

// `bun run init` on a copy of this work tree, then what a user runs next: check, test, bake, compose, dev container.
const started = performance.now()
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const original: string = manifest.name
// Spelled in pieces: init refuses a name that already appears in the tree, and this file is part of the tree.
const [target, later] = ['orders', 'billing', 'shipping']
  .map((word) => ['acme', word].join('-'))
  .filter((name) => name !== original) as [string, string]

const tree = await copyWorkTree()
const cwd = tree.dir
const scratch = mkdtempSync(join(tmpdir(), 'init-test-'))
let postgres: EmbeddedPostgresHandle | undefined

/** Runs a command in the copy, in a nested-vitest-safe environment plus `env`, without colours; never throws. */
async function inCopy(cmd: string[], env: Record<string, string> = {}): Promise<Result> {
  const result = await run(cmd, { cwd, env, base: nestedEnv })
  return { ...result, stdout: Bun.stripANSI(result.stdout), stderr: Bun.stripANSI(result.stderr) }
}

async function ok(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await inCopy(cmd, env)
  expect(result.code, `${cmd.join(' ')}\n${result.stderr}\n${result.stdout}`.slice(-4000)).toBe(0)
  return result.stdout
}

const init = (...args: string[]) => inCopy(['bun', 'run', 'init', ...args])
const git = (...args: string[]) =>
  ok(['git', '-c', 'user.name=init test', '-c', 'user.email=init@example.com', ...args])

/** Everything a change to the work tree would show: status, the diff, and the untracked files' contents. */
async function snapshot(): Promise<string> {
  const untracked = (await git('ls-files', '--others', '--exclude-standard')).split('\n').filter(Boolean)
  const contents = untracked.map((file) => `${file}\n${readFileSync(join(cwd, file), 'utf8')}`)
  return [await git('status', '--porcelain', '--untracked-files=all'), await git('diff'), ...contents].join(
    '\n',
  )
}

/** `file:line` of every line git grep finds for `pattern`, case-insensitively. */
async function grep(...patterns: string[]): Promise<string[]> {
  const found = await inCopy(['git', 'grep', '-n', '-I', '-i', ...patterns.flatMap((p) => ['-e', p])])
  return found.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':').slice(0, 2).join(':'))
}

/** The `file:line` entries init printed under "kept on purpose". */
function keptIn(output: string): string[] {
  const lines = output.split('\n')
  const from = lines.findIndex((line) => line.startsWith('kept on purpose'))
  if (from < 0) return []
  const rest = lines.slice(from + 1)
  const end = rest.findIndex((line) => !line.startsWith('  '))
  return rest.slice(0, end < 0 ? undefined : end).map((line) => line.trim().split(':').slice(0, 2).join(':'))
}

const trackedFiles = async () => (await git('ls-files')).split('\n').filter(Boolean)
const readJson = (file: string) => JSON.parse(readFileSync(join(cwd, file), 'utf8'))

let renamed: Result

beforeAll(async () => {
  await git('init', '--quiet')
  await git('add', '--all')
  await git('commit', '--quiet', '--message', 'template')
  const start = performance.now()
  await ok(['bun', 'install', '--frozen-lockfile'])
  console.log(`bun install --frozen-lockfile in the copy: ${since(start)} s`)
})

afterAll(async () => {
  await postgres?.stop()
  tree.remove()
  rmSync(scratch, { recursive: true, force: true })
  console.log(`init test, all steps: ${since(started)} s`)
})

describe('bun run init <name>', () => {
  it('refuses a name that is not a DNS label and an npm name, or that the project already uses, saying why', async () => {
    const before = await snapshot()
    const cases: [string, RegExp][] = [
      ['Acme', /capital letters/],
      ['-x', /unknown option -x; as a name .*starts with a letter/],
      ['a_b', /contains "_"; only a-z, 0-9 and -/],
      ['x'.repeat(64), /64 characters; at most 40/],
      ['node_modules', /npm: node_modules is not a valid package name/],
      ['http', /npm: http is a core module name/],
      ['bun', /bun already appears in the project, where it stands for something else/],
    ]
    for (const [name, reason] of cases) {
      const result = await init(name)
      expect(result.code, `${name}: ${result.stderr}`).toBe(2)
      expect(result.stderr, name).toMatch(reason)
    }
    expect((await init()).stderr).toMatch(/expected one name, got none/)
    expect(await snapshot()).toBe(before)
  })

  it('refuses a tree with uncommitted changes unless --force; --dry-run writes nothing', async () => {
    writeFileSync(join(cwd, 'scratch.txt'), `${original} scratch\n`)
    const before = await snapshot()
    const refused = await init(target)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/uncommitted changes .*scratch\.txt[\s\S]*--force/)
    const dry = await init(target, '--dry-run')
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`init: ${original} → ${target} (dry run: nothing is written)`)
    expect(dry.stdout).toMatch(/^ {2}package\.json +.*version 0\.1\.0/m)
    // The name the README suggests must be one init accepts.
    const suggested = /`bun run init ([a-z0-9-]+)`/.exec(readFileSync(join(cwd, 'README.md'), 'utf8'))?.[1]
    expect((await init(suggested ?? 'none suggested', '--dry-run')).code).toBe(0)
    expect(await snapshot()).toBe(before)
  })

  it('renames with --force, uncommitted files included, and a second run changes nothing', async () => {
    const start = performance.now()
    renamed = await init(target, '--force')
    console.log(`init ${target}: ${since(start)} s\n${renamed.stdout}`)
    expect(renamed.code, renamed.stderr).toBe(0)
    expect(readFileSync(join(cwd, 'scratch.txt'), 'utf8')).toBe(`${target} scratch\n`)
    rmSync(join(cwd, 'scratch.txt'))
    await git('add', '--all')
    await git('commit', '--quiet', '--message', `init ${target}`)
    const again = await init(target)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to change')
    expect(await git('status', '--porcelain', '--untracked-files=all')).toBe('')
  })

  it('leaves the old name only on the lines it lists as kept on purpose', async () => {
    const kept = keptIn(renamed.stdout)
    expect(kept.length).toBeGreaterThan(0)
    expect(await grep(original)).toEqual(kept)
    expect(renamed.stdout).not.toContain('not renamed')
    expect(renamed.stdout).not.toContain('biome')
  })

  it("resets the version and drops the template's own parts, leaving no marker and no broken link", async () => {
    const pkg = readJson('package.json')
    expect(pkg).toMatchObject({ name: target, version: '0.1.0' })
    expect(pkg.template).toBeUndefined()
    for (const file of manifest.template?.remove ?? []) expect(existsSync(join(cwd, file)), file).toBe(false)
    expect(readFileSync(join(cwd, 'README.md'), 'utf8').split('\n')[0]).toBe(`# ${target}`)
    const broken: string[] = []
    for (const file of await trackedFiles()) {
      const text = readFileSync(join(cwd, file), 'utf8')
      const markers = text
        .split('\n')
        .filter((line) => /^<!-- template:(start|end|init)( -->)?$/.test(line.trim()))
      expect(markers, file).toEqual([])
      if (!file.endsWith('.md')) continue
      for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = (link as string).split('#')[0] as string
        if (!path || /^[a-z]+:/i.test(path)) continue
        if (!existsSync(join(cwd, dirname(file), path))) broken.push(`${file} → ${link}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('keeps bun.lock in step with package.json and passes bun run check', async () => {
    await ok(['bun', 'install', '--frozen-lockfile'])
    await ok(['bun', 'run', 'check'])
  })

  it('names both compose stacks, their database and the dev container mount after the project', async () => {
    const dev = JSON.parse(await ok(['docker', 'compose', 'config', '--format', 'json']))
    expect(dev.name).toBe(target)
    expect(dev.services.db.environment).toMatchObject({ POSTGRES_USER: target, POSTGRES_DB: target })
    expect(dev.services.api.image).toBe(`${target}:dev`)
    expect(dev.services.api.environment.DATABASE_URL).toBe(`postgres://${target}:${target}@db:5432/${target}`)

    const passwordFile = join(scratch, 'db_password')
    writeFileSync(passwordFile, 'secret\n')
    chmodSync(passwordFile, 0o644)
    const prodEnv = { IMAGE: `${target}:latest`, DATABASE_PASSWORD_FILE: passwordFile }
    const prod = JSON.parse(
      await ok(['docker', 'compose', '-f', 'compose.prod.yaml', 'config', '--format', 'json'], prodEnv),
    )
    expect(prod.name).toBe(`${target}-prod`)
    // The app's own role (deploy/db/roles.sh) in snake case, as the name is beside an underscore.
    const appRole = `${target.replaceAll('-', '_')}_app`
    expect(prod.services.db.environment).toMatchObject({
      POSTGRES_USER: target,
      POSTGRES_DB: target,
      DATABASE_APP_USER: appRole,
    })
    expect(prod.services.api.environment).toMatchObject({ DATABASE_USER: appRole, DATABASE_NAME: target })

    const devcontainer = ['-f', 'compose.yaml', '-f', '.devcontainer/compose.devcontainer.yaml']
    const attached = JSON.parse(
      await ok(['docker', 'compose', ...devcontainer, 'config', '--format', 'json']),
    )
    expect(attached.services.api.volumes.map((volume: { target: string }) => volume.target)).toContain(
      `/workspaces/${target}`,
    )
    expect(attached.services.api.entrypoint[0]).toBe(`/workspaces/${target}/.devcontainer/entrypoint.sh`)
  })

  it('reads the dev container configuration with the new name and workspace folder', async () => {
    const cli = join(cwd, 'node_modules/.bin/devcontainer')
    const { configuration } = JSON.parse(await ok([cli, 'read-configuration', '--workspace-folder', cwd]))
    expect(configuration).toMatchObject({ name: target, workspaceFolder: `/workspaces/${target}` })
  })

  it('tags and labels the images after the project in docker buildx bake --print', async () => {
    const env = { GIT_SHA: 'abc1234', CACHE_FROM: '', CACHE_TO: '' }
    const plan = JSON.parse(await ok(['docker', 'buildx', 'bake', '--print', 'dev', 'prod'], env))
    expect(plan.target.dev.tags).toEqual([`${target}:dev`])
    expect(plan.target.prod.tags).toEqual([`${target}:abc1234`, `${target}:latest`])
    expect(plan.target.prod.labels['org.opencontainers.image.title']).toBe(target)
  })

  it('passes bun run test against a Postgres role and database named after the project', async () => {
    const dev = JSON.parse(await ok(['docker', 'compose', 'config', '--format', 'json']))
    const url = new URL(dev.services.api.environment.DATABASE_URL)
    const port = await freePort()
    postgres = await startEmbeddedPostgres({
      dir: join(scratch, 'postgres'),
      port,
      persistent: false,
      log: createLogger('warn'),
    })
    const admin = new SQL(postgres.url)
    const [role, password, database] = [url.username, url.password, url.pathname.slice(1)].map(
      decodeURIComponent,
    )
    // Quoted as identifiers, as the postgres image's entrypoint does: the name may hold a -.
    // A superuser, as `bun run test` expects of DATABASE_URL: the contract suite makes roles and breaks the database.
    await admin.unsafe(`create role "${role}" login superuser password '${password?.replaceAll("'", "''")}'`)
    await admin.unsafe(`create database "${database}" owner "${role}"`)
    await admin.close()
    url.hostname = '127.0.0.1'
    url.port = String(port)
    const start = performance.now()
    const output = await ok(['bun', 'run', 'test'], { DATABASE_URL: url.toString(), NO_COLOR: '1' })
    console.log(
      `bun run test in the renamed copy: ${since(start)} s, ${/Tests\s+\d+ passed/.exec(output)?.[0]}`,
    )
  })

  it('renames again, from the new name to another, leaving none of the first', async () => {
    const kept = await grep(original)
    const result = await init(later)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`init: ${target} → ${later}`)
    expect(await grep(target, target.replace('-', '_'), target.replace('-', ''))).toEqual([])
    expect(await grep(original)).toEqual(kept)
    expect(readJson('package.json').name).toBe(later)
    await ok(['bun', 'run', 'check'])
  })
})
