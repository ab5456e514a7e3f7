import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres } from '../src/embedded-postgres'
import { createLogger } from '../src/log'
import { freePort } from './ports'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server where tests may create and drop their own databases. */
    adminDatabaseUrl: string
    /** Where that server also listens, when it is the embedded one: a socket directory, and ::1 if this machine has it. */
    embeddedListen: { socketDir: string; ipv6: string | null } | null
  }
}

/** DATABASE_URL when set (tests then create and drop their own databases on it), else a throwaway embedded server. */
export default async function setup(project: TestProject) {
  const external = process.env.DATABASE_URL
  if (external) {
    project.provide('adminDatabaseUrl', external)
    project.provide('embeddedListen', null)
    return
  }
  const dir = join(tmpdir(), `bakehouse-test-pg-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  const socketDir = mkdtempSync(join(tmpdir(), 'bakehouse-test-pg-socket-'))
  // As root the server runs as the postgres system user, which must be able to create its socket here.
  chmodSync(socketDir, 0o777)
  const ipv6 = Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((a) => a.address === '::1'),
  )
    ? '::1'
    : null
  const pg = await startEmbeddedPostgres({
    dir,
    port: await freePort(),
    persistent: false,
    log: createLogger('warn'),
    // Stated, not left to the defaults, so the process tests can connect each way.
    settings: {
      listen_addresses: ['127.0.0.1', ...(ipv6 ? [ipv6] : [])].join(','),
      unix_socket_directories: socketDir,
    },
  })
  project.provide('adminDatabaseUrl', pg.url)
  project.provide('embeddedListen', { socketDir, ipv6 })
  return async () => {
    await pg.stop()
    rmSync(socketDir, { recursive: true, force: true })
  }
}
