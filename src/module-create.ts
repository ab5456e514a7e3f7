import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { childEnv, loadConfig } from './config'
import { startEmbeddedPostgres } from './embedded-postgres'
import { createLogger } from './log'
import { type ModuleNames, moduleNames } from './module-create/names'
import { appendToList, insertBeforeCall } from './module-create/register'
import { FILES, identifierClashes, identifiersIn, ROOT, readTemplate, render } from './module-create/template'
import { freePort } from './ports'

// `bun run module:create <name>`: a feature module like notes, its migration and contract tests, registered (ADR 0041).
const USAGE = `usage: bun run module:create <name> [--singular <name>]
  <name>       the resource in the plural, lower-case, words joined by - (widgets, line-items): it becomes the
               path /<name>, the folder src/modules/<name>, the table and the identifiers (LineItem, lineItems)
  --singular   the singular, when the English rules guess it wrong (cookies --singular cookie)`

const MIGRATIONS = 'src/migrations'
// Written by the commands this one runs: restored, with every file written here, if a step fails.
const REWRITTEN = [`${MIGRATIONS}/index.ts`, 'docs/api/openapi.json', 'test/contract/api.d.ts']

const path = (file: string) => join(ROOT, file)
const read = (file: string) => readFileSync(path(file), 'utf8')

/** The shared lists a module joins, and what it adds to each. */
function registrations({ plural, singular }: ModuleNames) {
  return [
    {
      file: 'src/modules/index.ts',
      adds: plural.camel,
      edit: (text: string) =>
        appendToList(
          'src/modules/index.ts',
          text,
          'modules',
          `{ tag: { name: '${plural.kebab}', description: '${plural.sentence}' }, routes: ${plural.camel} }`,
          `import { ${plural.camel} } from './${plural.kebab}'`,
        ),
    },
    {
      file: 'src/modules/entities.ts',
      adds: singular.pascal,
      edit: (text: string) =>
        appendToList(
          'src/modules/entities.ts',
          text,
          'entities',
          singular.pascal,
          `import { ${singular.pascal} } from './${plural.kebab}/entity'`,
        ),
    },
    {
      file: 'test/contract/index.ts',
      adds: `${plural.camel}Contract`,
      edit: (text: string) =>
        insertBeforeCall(
          'test/contract/index.ts',
          text,
          'describeContract',
          'coverageContract',
          `describe('${plural.kebab}', () => ${plural.camel}Contract(api))`,
          `import { ${plural.camel}Contract } from './${plural.kebab}'`,
        ),
    },
  ]
}

/** Tables the existing entities declare, and the migrator's own. */
function tablesInUse(): Set<string> {
  const tables = new Set(['mikro_orm_migrations'])
  for (const module of readdirSync(path('src/modules'))) {
    const entity = path(`src/modules/${module}/entity.ts`)
    if (!existsSync(entity)) continue
    for (const [, table] of readFileSync(entity, 'utf8').matchAll(/tableName:\s*['"]([^'"]+)['"]/g))
      tables.add(table as string)
  }
  return tables
}

/** Why a module with these names cannot be added to this tree; empty when it can. */
function conflicts(names: ModuleNames): string[] {
  const { plural } = names
  const problems: string[] = []
  for (const file of [
    `src/modules/${plural.kebab}`,
    `src/modules/${plural.kebab}.ts`,
    `test/contract/${plural.kebab}.ts`,
    `test/contract/${plural.kebab}.d.ts`,
  ])
    if (existsSync(path(file))) problems.push(`${file} already exists`)
  if (tablesInUse().has(plural.snake)) problems.push(`the table ${plural.snake} is already used`)
  const served = Object.keys(JSON.parse(read('docs/api/openapi.json')).paths ?? {})
  if (served.some((route) => route === `/${plural.kebab}` || route.startsWith(`/${plural.kebab}/`)))
    problems.push(`the API already has routes under /${plural.kebab} (docs/api/openapi.json)`)
  for (const { file, adds } of registrations(names))
    if (identifiersIn(file, read(file)).has(adds)) problems.push(`${file} already uses the name "${adds}"`)
  problems.push(...identifierClashes(names))
  // `bun run init` finds the project by its name in every spelling: a module spelled like it would be renamed too.
  const project: string = JSON.parse(read('package.json')).name
  const squash = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '')
  if ([plural.kebab, names.singular.kebab].some((name) => squash(name).includes(squash(project))))
    problems.push(
      `the name contains the project's name (${project}), which \`bun run init\` would rename inside it`,
    )
  return problems
}

/** Every file to write, with its new content: the module, its contract tests, the three lists. */
function plan(names: ModuleNames): Map<string, string> {
  const files = new Map<string, string>()
  for (const { template, target } of FILES) files.set(target(names), render(readTemplate(template), names))
  for (const { file, edit } of registrations(names)) files.set(file, edit(read(file)))
  return files
}

/** Runs a command in the project; a failure throws with its output. */
async function run(cmd: string[], env = childEnv({})): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`\`${cmd.join(' ')}\` failed (exit ${code}):\n${stderr}${stdout}`.trim())
  return stdout
}

/**
 * The migration for the new entity, diffed as `bun run migration:create` does against a database that has every
 * existing migration applied: a throwaway embedded Postgres, never the configured database, whose schema may differ.
 */
async function createMigration(names: ModuleNames): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-module-create-'))
  // As root, Postgres runs as its own system user, which must reach the data directory.
  chmodSync(dir, 0o755)
  const postgres = await startEmbeddedPostgres({
    dir,
    port: await freePort(),
    persistent: false,
    log: createLogger('warn'),
  })
  try {
    // Only the throwaway database: DATABASE_* settings (a URL file among them) would conflict with its URL.
    const env = childEnv({ DATABASE_URL: postgres.url, LOG_LEVEL: 'warn' }, /^DATABASE_/)
    await run(['bun', 'src/migrate.ts'], env)
    await run(['bun', 'src/migration-create.ts', names.plural.snake], env)
  } finally {
    await postgres.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function fail(message: string): never {
  console.error(message)
  process.exit(1)
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: { singular: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    })
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`)
  }
})()
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
if (positionals.length !== 1)
  fail(`expected one name, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n${USAGE}`)
const name = positionals[0] as string
const derived = moduleNames(name, values.singular)
const problems = derived.names ? conflicts(derived.names) : derived.problems
if (!derived.names || problems.length > 0)
  fail(
    `cannot create module "${name}":\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
      'Nothing was written. Choose another name (a more specific one often works: web-pages, support-cases) ' +
      'or pass --singular; `bun run module:create --help` says what a name may be.',
  )
const names = derived.names
const files = (() => {
  try {
    return plan(names)
  } catch (error) {
    return fail(`${(error as Error).message}\nNothing was written.`)
  }
})()

// Every file this run writes or rewrites, with what it held before (undefined: it did not exist).
const before = new Map<string, string | undefined>()
for (const file of [...files.keys(), ...REWRITTEN])
  before.set(file, existsSync(path(file)) ? read(file) : undefined)
const migrationsBefore = new Set(readdirSync(path(MIGRATIONS)))
const newMigrations = () => readdirSync(path(MIGRATIONS)).filter((file) => !migrationsBefore.has(file))

try {
  for (const [file, text] of files) {
    mkdirSync(dirname(path(file)), { recursive: true })
    writeFileSync(path(file), text)
  }
  // Renaming changes line lengths and import order: Biome puts them back the project's way.
  await run(['bunx', 'biome', 'check', '--write', ...files.keys()])
  if (loadConfig().databaseUrl !== undefined)
    console.log('The configured database is not used: the migration is diffed against a throwaway one.')
  await createMigration(names)
  if (newMigrations().length === 0)
    throw new Error(`expected a migration creating the table ${names.plural.snake}, got none`)
  await run(['bun', 'run', 'openapi'])
} catch (error) {
  for (const [file, text] of before) {
    if (text === undefined) rmSync(path(file), { force: true })
    else writeFileSync(path(file), text)
  }
  rmSync(path(`src/modules/${names.plural.kebab}`), { recursive: true, force: true })
  for (const file of newMigrations()) rmSync(path(`${MIGRATIONS}/${file}`), { force: true })
  fail(`${(error as Error).message}\n\nmodule:create stopped and put every file back as it was.`)
}

const { plural, singular } = names
console.log(`Created the ${plural.kebab} module: routes /${plural.kebab}, entity ${singular.pascal}, table ${plural.snake}.
${[...FILES.map(({ target }) => target(names)), ...newMigrations().map((file) => `${MIGRATIONS}/${file}`)]
  .sort()
  .map((file) => `  ${file}`)
  .join('\n')}
Registered in ${registrations(names)
  .map(({ file }) => file)
  .join(', ')}; rewrote docs/api/openapi.json and test/contract/api.d.ts.

Next:
  bun run check && bun run test   the new routes pass their contract tests as generated
  Then give ${plural.words} their real fields (entity.ts, model.ts, the service, test/contract/${plural.kebab}.ts) and
  run \`bun run migration:create\` while \`bun run dev\` runs: it writes the change as a further migration.`)
