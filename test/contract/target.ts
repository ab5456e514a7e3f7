import createClient from 'openapi-fetch'
import type { paths } from './api'

/**
 * Where the contract suite runs: a server it reaches only over HTTP (the app from source, the prod image, the dev
 * stack), plus superuser SQL on that server's database to assert what was stored and to inject database faults.
 * Nothing here imports the application: the same suite proves the source and the built artifact.
 */
export interface ContractTarget {
  /** Shown in test names: `source`, `prod stack`, `dev stack`. */
  name: string
  baseUrl: string
  /**
   * SQL as a superuser on the app's database (`database: 'postgres'` for the maintenance database). Rows come back
   * as JSON decodes them (see `asJsonRows`), so every target answers alike; other statements return no rows.
   */
  sql<Row = Record<string, unknown>>(
    query: string,
    options?: { database?: 'app' | 'postgres' },
  ): Promise<Row[]>
  /** The app's database, the role it logs in as and that role's password (fault tests change and restore them). */
  database: { name: string; role: string; password: string; roleIsSuperuser: boolean }
  /** Every line the server has written to stdout so far (one JSON object per request or event). */
  logs(): Promise<string[]>
  /** BODY_LIMIT_BYTES the server runs with. */
  bodyLimitBytes: number
  /** RELEASE the server runs with, as /health/live reports it. */
  release: string
}

/** The typed client generated from the served OpenAPI document (`bun run openapi`). */
export const clientFor = (target: ContractTarget, fetch?: (request: Request) => Promise<Response>) =>
  createClient<paths>({ baseUrl: target.baseUrl, ...(fetch && { fetch }) })

export type Client = ReturnType<typeof clientFor>

export const PROBLEM = 'application/problem+json'

/**
 * A query that yields rows, rewritten to yield them as one JSON text value (integers as numbers, timestamps as
 * strings); undefined for statements that yield none (DDL, DO blocks, writes without RETURNING).
 */
export function asJsonRows(query: string): string | undefined {
  const trimmed = query.trim().replace(/;$/, '')
  if (!/^(select|with|values|table)\b/i.test(trimmed) && !/\breturning\b/i.test(trimmed)) return undefined
  return `with contract_rows as (${trimmed}) select coalesce(json_agg(contract_rows), '[]')::text as rows from contract_rows`
}

/** A string as an SQL literal. */
export const literal = (value: string) => `'${value.replaceAll("'", "''")}'`

/** A role or database name as an SQL identifier. */
export const identifier = (value: string) => `"${value.replaceAll('"', '""')}"`
