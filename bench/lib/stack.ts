import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import { eventually, must, run } from '../../test/containers/docker'
import { freePort, runOnHost } from './procs'

/** Tags of everything the harness builds; never the project's own `bakehouse:*` tags, which other suites use. */
export const images = {
  prod: 'bakehouse-bench:bench',
  naive: 'bakehouse-bench-naive:bench',
  fastapi: 'bakehouse-bench-fastapi:bench',
  twin: 'bakehouse-bench-twin:bench',
}

/** Environment for `docker buildx bake` in the copied tree: bench tags, fixed labels so a no-op build stays one. */
export const bakeVars = {
  IMAGE: 'bakehouse-bench',
  GIT_SHA: 'bench',
  TAG: 'bench',
  CREATED: '2026-01-01T00:00:00Z',
}

const LIVE_ROUTE = 'src/modules/health/index.ts'
const RELEASE_FIELD = /\brelease: config\.release \}\)/

/**
 * A one-line edit with a visible effect: /health/live reports `marker` as its release. G5 rebuilds after it,
 * G6 waits for the dev stack to answer with it. Returns the function that restores the file.
 */
export function editLiveRoute(dir: string, marker: string): () => void {
  const file = join(dir, LIVE_ROUTE)
  const original = readFileSync(file, 'utf8')
  if (original.match(new RegExp(RELEASE_FIELD, 'g'))?.length !== 1) {
    throw new Error(
      `expected one \`release: config.release })\` in ${LIVE_ROUTE} to edit, got none or several: update bench/lib/stack.ts`,
    )
  }
  writeFileSync(file, original.replace(RELEASE_FIELD, `release: '${marker}' })`))
  return () => writeFileSync(file, original)
}

/** Copies /app out of the prod image, so the server runs from exactly the shipped bundle. */
export async function extractBundle(image: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-bench-bundle-'))
  const id = (await must(['docker', 'create', image])).trim()
  try {
    await must(['docker', 'cp', `${id}:/app/.`, dir])
  } finally {
    await run(['docker', 'rm', '-f', id])
  }
  return dir
}

export interface Database {
  url: string
  /** Ids of the seeded notes, one a line, for wrk's script. */
  idsFile: string
  ids: string[]
  stop(): Promise<void>
}

/**
 * Postgres 17 on the host network (no docker-proxy between servers and database), migrated by the prod bundle's
 * migrate.js and seeded with `count` notes that every contender reads.
 */
export async function startDatabase(bundleDir: string, count: number): Promise<Database> {
  const port = freePort()
  const id = await runOnHost({ POSTGRES_USER: 'bench', POSTGRES_PASSWORD: 'bench', POSTGRES_DB: 'bench' }, [
    'postgres:17',
    'postgres',
    '-c',
    `port=${port}`,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ])
  const stop = async () => void (await run(['docker', 'rm', '-f', '-v', id]))
  const url = `postgres://bench:bench@127.0.0.1:${port}/bench`
  try {
    await eventually(
      () =>
        must(['docker', 'exec', id, 'pg_isready', '--host=127.0.0.1', `--port=${port}`, '--username=bench']),
      60,
    )
    await must(['bun', '--no-install', 'migrate.js'], {
      cwd: bundleDir,
      env: { DATABASE_URL: url, LOG_LEVEL: 'warn' },
    })
    const sql = new SQL({ url, max: 1 })
    const ids = Array.from({ length: count }, () => Bun.randomUUIDv7())
    const rows = ids.map((noteId, i) => ({
      id: noteId,
      title: `note ${i}`,
      body: 'flour, water, salt, '.repeat(1 + (i % 20)),
      version: 1 + (i % 3),
      created_at: new Date(),
      updated_at: new Date(),
    }))
    await sql`insert into notes ${sql(rows)}`
    await sql`analyze notes`
    await sql.close()
    const idsFile = join(bundleDir, 'ids.txt')
    writeFileSync(idsFile, `${ids.join('\n')}\n`)
    return { url, idsFile, ids, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
