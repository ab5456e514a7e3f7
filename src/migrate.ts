import { loadConfig } from './config'
import { connect, createOrm, describeUrl, migrate } from './db'
import { createLogger } from './log'

const config = loadConfig()
const log = createLogger(config.logLevel)

if (!config.databaseUrl) {
  log.error(
    'no database configured: set DATABASE_URL (or DATABASE_HOST and friends); `bun run dev` migrates its embedded database itself',
  )
  process.exit(1)
}

const orm = await createOrm({ url: config.databaseUrl, poolMax: 2, log })
try {
  await connect(orm, config.databaseConnectTimeoutMs, log)
  const applied = await migrate(orm)
  log.info(applied.length ? 'migrations applied' : 'schema already up to date', {
    database: describeUrl(config.databaseUrl),
    applied,
  })
} catch (error) {
  log.error('migration failed; nothing after the failing migration was applied', {
    error: (error as Error).message,
  })
  process.exitCode = 1
} finally {
  await orm.close()
}
