import { loadConfig } from './config'
import { connect, createOrm, describeUrl } from './db'
import { InFlight } from './http'
import { createLogger } from './log'
import { createApp } from './server'

const config = loadConfig()
const log = createLogger(config.logLevel)

if (!config.databaseUrl) {
  log.error('no database configured: set DATABASE_URL (or DATABASE_HOST and friends), or use `bun run dev`')
  process.exit(1)
}

const orm = await createOrm({ url: config.databaseUrl, poolMax: config.databasePoolMax, log })
const inFlight = new InFlight()
const app = createApp({ config, orm, log, inFlight }).listen({ hostname: config.host, port: config.port })
log.info('listening', {
  url: `http://${config.host}:${app.server?.port}`,
  env: config.env,
  release: config.release,
  database: describeUrl(config.databaseUrl),
})

let stopping = false
// After a database crash the pool can hold a client that never comes back; close() must not wait for it forever.
const POOL_CLOSE_TIMEOUT_MS = 2_000

/** True when `work` settles within `ms`; false otherwise (the work itself goes on). */
const within = (ms: number, work: Promise<unknown>) =>
  Promise.race([work.then(() => true), Bun.sleep(ms).then(() => false)])

/** Stop accepting, let in-flight requests finish within the timeout, close the pool, exit 0. */
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log.info('shutting down', { signal, timeoutMs: config.shutdownTimeoutMs, inFlight: inFlight.count })
  if (
    !(await within(
      config.shutdownTimeoutMs,
      app.stop(false).then(() => inFlight.idle()),
    ))
  ) {
    log.warn('shutdown timeout reached; closing remaining connections', { inFlight: inFlight.count })
    await app.stop(true)
  }
  if (!(await within(POOL_CLOSE_TIMEOUT_MS, orm.close()))) {
    log.warn('database pool did not close in time; exiting anyway', { timeoutMs: POOL_CLOSE_TIMEOUT_MS })
  }
  log.info('stopped', { signal })
  process.exit(0)
}

process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))

// Listening first keeps /health/live answering while the database is still on its way.
try {
  await connect(orm, config.databaseConnectTimeoutMs, log)
} catch (error) {
  log.error('giving up on the database', { error: (error as Error).message })
  process.exit(1)
}
