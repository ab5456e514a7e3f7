import { SQL } from 'bun'
import { inject } from 'vitest'
import { freePort } from '../ports'
import type { ContractTarget } from './target'

/**
 * The app started from source the way `bun run start` does (`bun src/index.ts`), on a fresh database owned by a
 * fresh login role that is not a superuser, migrated by `bun src/migrate.ts` as that role.
 */
export async function startFromSource(): Promise<ContractTarget & { stop(): Promise<void> }> {
  const admin = inject('adminDatabaseUrl')
  const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const database = { name: `contract_${suffix}`, role: `contract_${suffix}`, password: crypto.randomUUID() }
  const maintenance = new SQL(admin)
  await maintenance.unsafe(`create role "${database.role}" login password '${database.password}'`)
  await maintenance.unsafe(`create database "${database.name}" owner "${database.role}"`)
  const appUrl = new URL(admin)
  appUrl.username = database.role
  appUrl.password = database.password
  appUrl.pathname = `/${database.name}`
  const adminUrl = new URL(admin)
  adminUrl.pathname = `/${database.name}`
  const onApp = new SQL(adminUrl.toString())

  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: appUrl.toString() }
  const migrate = Bun.spawn(['bun', 'src/migrate.ts'], { env, stdout: 'pipe', stderr: 'pipe' })
  if ((await migrate.exited) !== 0) {
    throw new Error(
      `expected bun src/migrate.ts to exit 0, got:\n${await new Response(migrate.stderr).text()}`,
    )
  }
  const port = await freePort()
  const server = Bun.spawn(['bun', 'src/index.ts'], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '2000' },
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

  return {
    name: 'source',
    baseUrl,
    database: { ...database, roleIsSuperuser: false },
    sql: async (query, { database: which = 'app' } = {}) =>
      [...(await (which === 'app' ? onApp : maintenance).unsafe(query))] as never[],
    logs: async () => [...lines],
    async stop() {
      server.kill('SIGTERM')
      await server.exited
      await reading
      await onApp.close()
      await maintenance.unsafe(`drop database if exists "${database.name}" with (force)`)
      await maintenance.unsafe(`drop role if exists "${database.role}"`)
      await maintenance.close()
    },
  }
}
