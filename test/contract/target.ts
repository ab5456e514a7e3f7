import createClient from 'openapi-fetch'
import type { paths } from './api'

/**
 * Where the contract suite runs: a server it reaches only over HTTP (the app from source, the prod image, the dev
 * stack), plus superuser SQL on that server's database to assert what was stored and to inject database faults.
 * Nothing here imports the application: the same suite proves the source and the built artifact.
 */
export interface ContractTarget {
  /** Shown in test names: `source`, `prod image`, `dev stack`. */
  name: string
  baseUrl: string
  /** SQL as a superuser on the app's database (`database: 'postgres'` for the maintenance database). */
  sql<Row = Record<string, unknown>>(
    query: string,
    options?: { database?: 'app' | 'postgres' },
  ): Promise<Row[]>
  /** The app's database, the role it logs in as and that role's password (fault tests change and restore them). */
  database: { name: string; role: string; password: string; roleIsSuperuser: boolean }
  /** Every line the server has written to stdout so far (one JSON object per request or event). */
  logs(): Promise<string[]>
}

/** The typed client generated from the served OpenAPI document (`bun run openapi`). */
export const clientFor = (target: ContractTarget) => createClient<paths>({ baseUrl: target.baseUrl })

export const PROBLEM = 'application/problem+json'
