import { asJsonRows, type ContractTarget } from '../contract/target'
import { eventually, must } from './docker'

// BODY_LIMIT_BYTES when neither compose file sets it: the app's default.
const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

interface Stack {
  name: string
  baseUrl: string
  /** Container ids of the running services. */
  api: string
  db: string
  /** The app's login, and the superuser the SQL runs as over the db container's socket. */
  database: { name: string; role: string; password: string; superuser: string }
  release: string
}

/**
 * A compose stack as a contract target: SQL through `psql` inside the db container (the database is never
 * published; the image's local socket trusts its own superuser), logs from `docker logs` of the api container.
 */
export async function stackTarget(stack: Stack): Promise<ContractTarget> {
  const sql = async <Row>(query: string, { database = 'app' }: { database?: 'app' | 'postgres' } = {}) => {
    const json = asJsonRows(query)
    const output = await must([
      'docker',
      'exec',
      stack.db,
      'psql',
      // No ~/.psqlrc, stop at the first error, unaligned tuples only: the JSON text is the whole output.
      '--no-psqlrc',
      '--set=ON_ERROR_STOP=1',
      '--tuples-only',
      '--no-align',
      '--quiet',
      `--username=${stack.database.superuser}`,
      `--dbname=${database === 'app' ? stack.database.name : 'postgres'}`,
      `--command=${json ?? query}`,
    ])
    return json ? (JSON.parse(output) as Row[]) : []
  }
  const [role] = await sql<{ rolsuper: boolean }>(
    `select rolsuper from pg_roles where rolname = '${stack.database.role}'`,
  )
  await eventually(async () => {
    const ready = await fetch(`${stack.baseUrl}/health/ready`)
    if (ready.status !== 200) throw new Error(`expected ${stack.name} to be ready, got ${ready.status}`)
  }, 60)
  const { superuser: _superuser, ...database } = stack.database
  return {
    name: stack.name,
    baseUrl: stack.baseUrl,
    database: { ...database, roleIsSuperuser: role?.rolsuper === true },
    bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
    release: stack.release,
    sql,
    logs: async () => (await must(['docker', 'logs', stack.api])).split('\n').filter(Boolean),
  }
}
