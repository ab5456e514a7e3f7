import { loadConfig } from './config'
import { connect, createOrm, type Orm } from './db'
import { createLogger, type Logger } from './log'

/** Connects to `url` (with the usual backoff), runs `task`, and always closes the pool. */
export async function withOrm(
  url: string,
  { log, connectTimeoutMs }: { log: Logger; connectTimeoutMs: number },
  task: (orm: Orm) => Promise<void>,
): Promise<void> {
  const orm = await createOrm({ url, poolMax: 2, log })
  try {
    await connect(orm, connectTimeoutMs, log)
    await task(orm)
  } finally {
    await orm.close()
  }
}

/**
 * For command-line tools: runs `task` against the configured database. Without a database setting it exits 1,
 * saying `whatToDo`.
 */
export async function withDatabase(
  whatToDo: string,
  task: (orm: Orm, log: Logger, url: string) => Promise<void>,
): Promise<void> {
  const config = loadConfig()
  const log = createLogger(config.logLevel)
  const url = config.databaseUrl
  if (!url) {
    log.error(`no database configured: ${whatToDo}`)
    process.exit(1)
  }
  await withOrm(url, { log, connectTimeoutMs: config.databaseConnectTimeoutMs }, (orm) => task(orm, log, url))
}
