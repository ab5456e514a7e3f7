import { SQL } from 'bun'
import { inject } from 'vitest'
import { freePort } from '../ports'
import { asJsonRows, type ContractTarget, identifier, literal } from './target'

// Not the default (1 MiB, as the prod stack runs), so the setting is shown to work; room for the largest valid note.
const BODY_LIMIT_BYTES = 512 * 1024
const RELEASE = 'contract-source'

/** Runs `query` and decodes its rows the way every target does (see asJsonRows). */
async function rowsOf<Row = never>(sql: SQL, query: string): Promise<Row[]> {
  const json = asJsonRows(query)
  if (!json) {
    await sql.unsafe(query)
    return []
  }
  const [result] = await sql.unsafe(json)
  return JSON.parse(result.rows)
}

/**
 * The app started from source the way `bun run start` does (`bun src/index.ts`), on a fresh database owned by a
 * fresh login role that is not a superuser, migrated by `bun src/migrate.ts` as that role.
 */
export async function startFromSource(): Promise<ContractTarget & { stop(): Promise<void> }> {
  const admin = inject('adminDatabaseUrl')
  const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const database = { name: `contract_${suffix}`, role: `contract_${suffix}`, password: crypto.randomUUID() }
  const maintenance = new SQL(admin)
  await maintenance.unsafe(
    `create role ${identifier(database.role)} login password ${literal(database.password)}`,
  )
  await maintenance.unsafe(`create database ${identifier(database.name)} owner ${identifier(database.role)}`)
  const appUrl = new URL(admin)
  appUrl.username = database.role
  appUrl.password = database.password
  appUrl.pathname = `/${database.name}`
  const adminUrl = new URL(admin)
  adminUrl.pathname = `/${database.name}`
  // Superuser sessions on the app's database; fault tests end them too, so each query opens its own.
  const onApp = async (query: string) => {
    const sql = new SQL(adminUrl.toString(), { max: 1 })
    try {
      return await rowsOf(sql, query)
    } finally {
      await sql.close()
    }
  }

  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: appUrl.toString() }
  const migrate = Bun.spawn(['bun', 'src/migrate.ts'], { env, stdout: 'pipe', stderr: 'pipe' })
  if ((await migrate.exited) !== 0) {
    throw new Error(
      `expected bun src/migrate.ts to exit 0, got:\n${await new Response(migrate.stderr).text()}`,
    )
  }
  const port = await freePort()
  const server = Bun.spawn(['bun', 'src/index.ts'], {
    env: {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '2000',
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      RELEASE,
    },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const lines: string[] = []
  const reading = (async () => {
    const decoder = new TextDecoder()
    let rest = ''
    for await (const chunk of server.stdout) {
      const text = rest + decoder.decode(chunk, { stream: true })
      const parts = text.split('\n')
      rest = parts.pop() ?? ''
      lines.push(...parts.filter(Boolean))
    }
  })()
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = performance.now() + 30_000
  while (
    (await fetch(`${baseUrl}/health/ready`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (performance.now() > deadline || server.exitCode !== null)
      throw new Error(`expected the server from source to turn ready, got:\n${lines.join('\n')}`)
    await Bun.sleep(100)
  }
  const [role] = await rowsOf<{ rolsuper: boolean }>(
    maintenance,
    `select rolsuper from pg_roles where rolname = ${literal(database.role)}`,
  )

  return {
    name: 'source',
    baseUrl,
    database: { ...database, roleIsSuperuser: role?.rolsuper === true },
    bodyLimitBytes: BODY_LIMIT_BYTES,
    release: RELEASE,
    sql: async (query, { database: which = 'app' } = {}) =>
      which === 'app' ? onApp(query) : rowsOf(maintenance, query),
    logs: async () => [...lines],
    async stop() {
      server.kill('SIGTERM')
      await server.exited
      await reading
      await maintenance.unsafe(`drop database if exists ${identifier(database.name)} with (force)`)
      await maintenance.unsafe(`drop role if exists ${identifier(database.role)}`)
      await maintenance.close()
    },
  }
}
