import { loadConfig } from './config'
import { connect, createOrm, type Orm } from './db'
import { createLogger, type Logger } from './log'

/**
 * For command-line tools: connects to the configured database (with the usual backoff), runs `task`, and always
 * closes the pool. Without a database setting it exits 1, saying `whatToDo`.
 */
export async function withDatabase(
  whatToDo: string,
  task: (orm: Orm, log: Logger, url: string) => Promise<void>,
): Promise<void> {
  const config = loadConfig()
  const log = createLogger(config.logLevel)
  if (!config.databaseUrl) {
    log.error(`no database configured: ${whatToDo}`)
    process.exit(1)
  }
  const orm = await createOrm({ url: config.databaseUrl, poolMax: 2, log })
  try {
    await connect(orm, config.databaseConnectTimeoutMs, log)
    await task(orm, log, config.databaseUrl)
  } finally {
    await orm.close()
  }
}
