import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyWorkTree, nestedEnv, type Result, run, since } from '../containers/docker'
import { freePort } from '../ports'

// `bun run module:create widgets` on a copy of this work tree, then what its user runs next: check, test, dev.
const started = performance.now()
const tree = await copyWorkTree()
const cwd = tree.dir
const scratch = mkdtempSync(join(tmpdir(), 'module-create-test-'))
// As root, the dev server's Postgres runs as its own system user, which must reach its data directory here.
chmodSync(scratch, 0o755)

/** Runs a command in the copy, in a nested-vitest-safe environment plus `env`, without colours; never throws. */
async function inCopy(cmd: string[], env: Record<string, string> = {}): Promise<Result> {
  const result = await run(cmd, { cwd, env, base: nestedEnv })
  return { ...result, stdout: Bun.stripANSI(result.stdout), stderr: Bun.stripANSI(result.stderr) }
}

async function ok(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await inCopy(cmd, env)
  expect(result.code, `${cmd.join(' ')}\n${result.stderr}\n${result.stdout}`.slice(-6000)).toBe(0)
  return result.stdout
}

/** `ok`, printing how long the step took. */
async function step(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const start = performance.now()
  const stdout = await ok(cmd, env)
  console.log(`${cmd.join(' ')} in the copy: ${since(start)} s`)
  return stdout
}

const git = (...args: string[]) =>
  ok(['git', '-c', 'user.name=module test', '-c', 'user.email=module@example.com', ...args])
/** Changed and new files, as `git status` lists them (`M path`, `?? path`). */
const changes = async () =>
  (await git('status', '--porcelain', '--untracked-files=all')).split('\n').filter(Boolean).sort()
const moduleCreate = (...args: string[]) => inCopy(['bun', 'run', 'module:create', ...args])

beforeAll(async () => {
  await step(['bun', 'install', '--frozen-lockfile'])
  await git('init', '--quiet')
  await git('add', '--all')
  await git('commit', '--quiet', '--message', 'before module:create')
}, 120_000)

afterAll(() => {
  tree.remove()
  rmSync(scratch, { recursive: true, force: true })
  console.log(`module:create test, all steps: ${since(started)} s`)
})

const project: string = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).name

describe('bun run module:create', () => {
  it('refuses an invalid or taken name, saying why, and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [[], /expected one name, got none/],
      [['Widgets'], /contains "W"; only lower-case a-z, 0-9 and -/],
      [['line_items'], /contains "_"/],
      [['widget'], /"widget" looks singular; name the collection, e.g. "widgets"/],
      [['openapi'], /reserved: the app serves \/openapi/],
      [['notes'], /src\/modules\/notes already exists/],
      [['pages'], /"Page", which src\/module-create\/templates\/service\.ts already uses/],
      // A later `bun run init` would rename the project's name inside the module's.
      [[`${project}s`], /contains the project's name/],
      [['widgets', '--plural', 'x'], /Unknown option '--plural'/],
    ]
    for (const [args, reason] of cases) {
      const result = await moduleCreate(...args)
      expect([args, result.code, result.stderr]).toEqual([args, 1, expect.stringMatching(reason)])
    }
    expect(await changes()).toEqual([])
  })

  it('puts every file back when a step fails', async () => {
    writeFileSync(
      join(cwd, 'src/migration-create.ts'),
      "console.error('no migration today')\nprocess.exit(1)\n",
    )
    const failed = await moduleCreate('widgets')
    expect([failed.code, failed.stderr]).toEqual([1, expect.stringContaining('no migration today')])
    expect(failed.stderr).toContain('module:create stopped and put every file back as it was')
    expect(await changes()).toEqual([' M src/migration-create.ts'])
    await git('checkout', '--', 'src/migration-create.ts')
  }, 60_000)

  it('writes the module, its migration and contract tests, and registers them in the shared lists', async () => {
    const output = await step(['bun', 'run', 'module:create', 'widgets'])
    const [migration] = readdirSync(join(cwd, 'src/migrations')).filter((file) => /_widgets\.ts$/.test(file))
    expect(migration).toMatch(/^Migration\d{14}_widgets\.ts$/)
    const created = [
      'src/modules/widgets/entity.ts',
      'src/modules/widgets/index.ts',
      'src/modules/widgets/model.ts',
      'src/modules/widgets/service.ts',
      'test/contract/widgets.ts',
      `src/migrations/${migration}`,
    ]
    const edited = [
      'docs/api/openapi.json',
      'src/migrations/index.ts',
      'src/modules/entities.ts',
      'src/modules/index.ts',
      'test/contract/api.d.ts',
      'test/contract/index.ts',
    ]
    expect(await changes()).toEqual(
      [...created.map((file) => `?? ${file}`), ...edited.map((file) => ` M ${file}`)].sort(),
    )
    for (const file of created) expect(output).toContain(file)
    expect(output).toContain('bun run check && bun run test')
    const read = (file: string) => readFileSync(join(cwd, file), 'utf8')
    expect(read(`src/migrations/${migration}`)).toContain(
      'create table "widgets" ("id" uuid not null, "name" varchar(200)',
    )
    expect(read('src/modules/entities.ts')).toContain('export const entities = [Note, Widget]')
    expect(read('src/modules/index.ts')).toContain(
      "{ tag: { name: 'widgets', description: 'Widgets' }, routes: widgets },\n]",
    )
    expect(read('test/contract/index.ts')).toContain(
      "  describe('widgets', () => widgetsContract(api))\n  coverageContract(api)",
    )
    await git('add', '--all')
    await git('commit', '--quiet', '--message', 'module:create widgets')
  }, 120_000)

  it('refuses to create the same module again, changing nothing', async () => {
    const again = await moduleCreate('widgets')
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('src/modules/widgets already exists')
    expect(again.stderr).toContain('Nothing was written')
    expect(await changes()).toEqual([])
  })

  it('leaves a tree that passes bun run check', async () => {
    await step(['bun', 'run', 'check'])
  }, 120_000)

  it('documents the five widget operations in docs/api/openapi.json', () => {
    const document = JSON.parse(readFileSync(join(cwd, 'docs/api/openapi.json'), 'utf8')) as {
      tags: { name: string }[]
      paths: Record<string, Record<string, { operationId: string; tags: string[] }>>
    }
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/widgets'))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) =>
          [method, path, op.operationId, op.tags.join()].join(' '),
        ),
      )
    expect(operations.sort()).toEqual([
      'delete /widgets/{id} deleteWidget widgets',
      'get /widgets listWidgets widgets',
      'get /widgets/{id} getWidget widgets',
      'patch /widgets/{id} updateWidget widgets',
      'post /widgets createWidget widgets',
    ])
    expect(document.tags.map((tag) => tag.name)).toContain('widgets')
  })

  it('leaves a tree whose bun run test passes, the widgets contract included', async () => {
    const report = join(scratch, 'report.json')
    await step(['bun', 'run', 'test'], { VITEST_JSON_REPORT: report })
    const { testResults } = JSON.parse(readFileSync(report, 'utf8')) as {
      testResults: { assertionResults: { ancestorTitles: string[]; status: string }[] }[]
    }
    const widgets = testResults
      .flatMap((file) => file.assertionResults)
      .filter((test) => test.ancestorTitles.includes('widgets'))
    expect(widgets.length).toBeGreaterThan(15)
    expect(widgets.filter((test) => test.status !== 'passed')).toEqual([])
  }, 300_000)

  it('serves CRUD on /widgets from bun run dev, which applies the new migration', async () => {
    const port = await freePort()
    const dev = Bun.spawn(['bun', 'src/dev.ts'], {
      cwd,
      env: {
        // Its own embedded Postgres, never a configured server: dev migrates whatever database it is given.
        ...Object.fromEntries(Object.entries(nestedEnv).filter(([key]) => !key.startsWith('DATABASE_'))),
        PORT: String(port),
        HOST: '127.0.0.1',
        EMBEDDED_DATABASE_PORT: String(await freePort()),
        EMBEDDED_DATABASE_DIR: join(scratch, 'postgres'),
        LOG_LEVEL: 'warn',
      },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    const base = `http://127.0.0.1:${port}`
    const send = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { ...(init.json !== undefined && { 'content-type': 'application/json' }), ...init.headers },
        ...(init.json !== undefined && { body: JSON.stringify(init.json) }),
      })
    try {
      const deadline = performance.now() + 60_000
      while (
        (await send('/health/ready').then(
          (r) => r.status,
          () => 0,
        )) !== 200
      ) {
        if (performance.now() > deadline || dev.exitCode !== null)
          throw new Error(`expected bun run dev to serve, got:\n${await new Response(dev.stderr).text()}`)
        await Bun.sleep(200)
      }
      const created = await send('/widgets', { method: 'POST', json: { name: 'Sprocket' } })
      expect([created.status, created.headers.get('etag')]).toEqual([201, '"1"'])
      const widget = (await created.json()) as { id: string }
      expect(widget).toMatchObject({ name: 'Sprocket', description: '', version: 1 })
      expect(await (await send(`/widgets/${widget.id}`)).json()).toEqual(widget)
      expect(((await (await send('/widgets?q=Sprocket')).json()) as { items: unknown[] }).items).toEqual([
        widget,
      ])
      const updated = await send(`/widgets/${widget.id}`, {
        method: 'PATCH',
        headers: { 'if-match': '"1"' },
        json: { description: 'toothed' },
      })
      expect([updated.status, await updated.json()]).toEqual([
        200,
        expect.objectContaining({ description: 'toothed', version: 2 }),
      ])
      expect(
        (await send(`/widgets/${widget.id}`, { method: 'DELETE', headers: { 'if-match': '"1"' } })).status,
      ).toBe(412)
      expect(
        (await send(`/widgets/${widget.id}`, { method: 'DELETE', headers: { 'if-match': '"2"' } })).status,
      ).toBe(204)
      expect((await send(`/widgets/${widget.id}`)).status).toBe(404)
    } finally {
      dev.kill('SIGINT')
      await dev.exited
    }
  }, 120_000)
})
