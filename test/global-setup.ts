import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres } from '../src/embedded-postgres'
import { createLogger } from '../src/log'
import { freePort } from './ports'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server where tests may create and drop their own databases. */
    adminDatabaseUrl: string
  }
}

/** DATABASE_URL when set (tests then create and drop their own databases on it), else a throwaway embedded server. */
export default async function setup(project: TestProject) {
  const external = process.env.DATABASE_URL
  if (external) {
    project.provide('adminDatabaseUrl', external)
    return
  }
  const dir = join(tmpdir(), `bakehouse-test-pg-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  const pg = await startEmbeddedPostgres({
    dir,
    port: await freePort(),
    persistent: false,
    log: createLogger('warn'),
  })
  project.provide('adminDatabaseUrl', pg.url)
  return () => pg.stop()
}
