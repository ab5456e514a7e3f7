import { withOrm } from './cli'
import { childEnv, loadConfig } from './config'
import { describeUrl, migrate } from './db'
import { startEmbeddedPostgres } from './embedded-postgres'
import { createLogger } from './log'

// Dev supervisor: make sure a migrated database exists, then run the server with reload on save.
const config = loadConfig()
const log = createLogger(config.logLevel)

const embedded = config.databaseUrl
  ? undefined
  : await startEmbeddedPostgres({
      dir: config.embeddedDatabaseDir,
      port: config.embeddedDatabasePort,
      persistent: true,
      log,
    })
const databaseUrl = config.databaseUrl ?? (embedded?.url as string)

await withOrm(databaseUrl, { log, connectTimeoutMs: config.databaseConnectTimeoutMs }, async (orm) => {
  const applied = await migrate(orm)
  log.info('dev database ready', { database: describeUrl(databaseUrl), applied, url: embedded?.url })
})

// `bun run dev --inspect=…`: the debugger belongs on the server, not on this supervisor.
const inspect = process.argv.slice(2).filter((arg) => /^--inspect(-wait|-brk)?(=|$)/.test(arg))
const server = Bun.spawn(['bun', ...inspect, '--watch', 'src/index.ts'], {
  // Only the embedded database needs passing on; otherwise the server reads the same settings as we did.
  env: childEnv(embedded ? { DATABASE_URL: embedded.url } : {}),
  stdio: ['inherit', 'inherit', 'inherit'],
})

// Signals go to the server, which drains and exits; the database stops once it has.
// (With the embedded database, its own exit hook may also end this process, with 128 + the signal.)
process.on('SIGINT', () => server.kill('SIGINT'))
process.on('SIGTERM', () => server.kill('SIGTERM'))

const code = await server.exited
await embedded?.stop()
process.exit(code)
