import { childEnv, loadConfig } from './config'
import { connect, createOrm, describeUrl, migrate } from './db'
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres'
import { createLogger } from './log'

// Dev supervisor: make sure a migrated database exists, then run the server with reload on save.
const config = loadConfig()
const log = createLogger(config.logLevel)

let embedded: EmbeddedPostgresHandle | undefined
if (!config.databaseUrl) {
  embedded = await startEmbeddedPostgres({
    dir: config.embeddedDatabaseDir,
    port: config.embeddedDatabasePort,
    persistent: true,
    log,
  })
}
const databaseUrl = config.databaseUrl ?? (embedded as EmbeddedPostgresHandle).url

const orm = await createOrm({ url: databaseUrl, poolMax: 2, log })
await connect(orm, config.databaseConnectTimeoutMs, log)
const applied = await migrate(orm)
await orm.close()
log.info('dev database ready', {
  database: describeUrl(databaseUrl),
  applied,
  url: embedded ? databaseUrl : undefined,
})

const server = Bun.spawn(['bun', '--watch', 'src/index.ts'], {
  env: childEnv({ DATABASE_URL: databaseUrl }),
  stdio: ['inherit', 'inherit', 'inherit'],
})

async function stop(signal: NodeJS.Signals): Promise<void> {
  server.kill(signal)
  await server.exited
  await embedded?.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))

const code = await server.exited
await embedded?.stop()
process.exit(code)
