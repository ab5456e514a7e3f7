import { readFileSync } from 'node:fs'
import { isIPv6 } from 'node:net'
import { type Static, Type as T } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

type Env = Record<string, string | undefined>

const Port = T.Integer({ minimum: 1, maximum: 65535 })

// Raw environment shape; numbers arrive as strings and are converted before checking.
const EnvSchema = T.Object({
  // Libraries read it too (Elysia's production mode); checked here so a typo fails loudly instead of silently.
  NODE_ENV: T.Union([T.Literal('development'), T.Literal('production'), T.Literal('test')], {
    default: 'development',
  }),
  HOST: T.String({ minLength: 1, default: '0.0.0.0' }),
  PORT: T.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  LOG_LEVEL: T.Union([T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error')], {
    default: 'info',
  }),
  BODY_LIMIT_BYTES: T.Integer({ minimum: 1, maximum: 128 * 1024 * 1024, default: 1024 * 1024 }),
  SHUTDOWN_TIMEOUT_MS: T.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
  // Which build is running (the deploy sets the git sha); reported by /health/live.
  RELEASE: T.String({ minLength: 1, maxLength: 100, default: 'unknown' }),
  DATABASE_URL: T.Optional(T.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_HOST: T.Optional(T.String({ minLength: 1 })),
  DATABASE_PORT: T.Optional(Port),
  DATABASE_USER: T.Optional(T.String({ minLength: 1 })),
  DATABASE_PASSWORD: T.Optional(T.String()),
  DATABASE_NAME: T.Optional(T.String({ minLength: 1 })),
  DATABASE_POOL_MAX: T.Integer({ minimum: 1, maximum: 500, default: 10 }),
  DATABASE_CONNECT_TIMEOUT_MS: T.Integer({ minimum: 0, maximum: 600_000, default: 60_000 }),
  EMBEDDED_DATABASE_PORT: T.Integer({ minimum: 1, maximum: 65535, default: 54329 }),
  EMBEDDED_DATABASE_DIR: T.String({ minLength: 1, default: '.data/postgres' }),
})

type RawEnv = Static<typeof EnvSchema>

export type LogLevel = RawEnv['LOG_LEVEL']

export interface Config {
  env: RawEnv['NODE_ENV']
  host: string
  port: number
  logLevel: LogLevel
  bodyLimitBytes: number
  shutdownTimeoutMs: number
  release: string
  /** Undefined when nothing database-related is set: `bun run dev` then starts an embedded Postgres. */
  databaseUrl: string | undefined
  databasePoolMax: number
  databaseConnectTimeoutMs: number
  embeddedDatabasePort: number
  embeddedDatabaseDir: string
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const NUMERIC_KEYS = Object.entries(EnvSchema.properties)
  .filter(([, schema]) => schema.type === 'integer')
  .map(([key]) => key)

const SECRET_KEYS = ['DATABASE_URL', 'DATABASE_PASSWORD'] as const

/** Resolves `KEY_FILE` (Docker secrets) into `KEY`; setting both is ambiguous and rejected. */
function readSecretFiles(env: Env, problems: string[]): Env {
  const resolved: Env = { ...env }
  for (const key of SECRET_KEYS) {
    const file = env[`${key}_FILE`]
    if (!file) continue
    if (env[key] !== undefined) {
      problems.push(`${key} and ${key}_FILE: expected only one of them, got both`)
      continue
    }
    try {
      // ASCII whitespace only, as deploy/db/roles.sh trims the password it sets: a BOM or a no-break space stays.
      resolved[key] = readFileSync(file, 'utf8').replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, '')
    } catch (error) {
      problems.push(`${key}_FILE: expected a readable file, got ${file} (${(error as Error).message})`)
    }
  }
  return resolved
}

function pick(env: Env): Record<string, unknown> {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    if (value === undefined || value === '') continue
    raw[key] = NUMERIC_KEYS.includes(key) && /^-?\d+$/.test(value.trim()) ? Number(value) : value
  }
  return raw
}

function describeValue(key: string, value: unknown): string {
  if ((SECRET_KEYS as readonly string[]).includes(key)) return 'a value (hidden)'
  return JSON.stringify(value)
}

// DNS labels (underscores too, as Docker service names have them) or an IPv4 address.
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i

function databaseUrlFrom(env: RawEnv, problems: string[]): string | undefined {
  if (env.DATABASE_URL) {
    // Checked here, once, so a malformed URL is a listed problem (without its value, which holds a password).
    const url = URL.canParse(env.DATABASE_URL) ? new URL(env.DATABASE_URL) : undefined
    if (!url || (url.port !== '' && !/^\d+$/.test(url.port))) {
      problems.push(
        'DATABASE_URL: expected postgres://user:password@host:port/database, got a value (hidden) that is not one',
      )
      return undefined
    }
    return env.DATABASE_URL
  }
  const parts = [
    'DATABASE_HOST',
    'DATABASE_PORT',
    'DATABASE_USER',
    'DATABASE_PASSWORD',
    'DATABASE_NAME',
  ] as const
  if (parts.every((key) => env[key] === undefined)) return undefined
  const missing = (['DATABASE_HOST', 'DATABASE_USER', 'DATABASE_NAME'] as const).filter((key) => !env[key])
  if (missing.length > 0) {
    problems.push(
      `${missing.join(', ')}: expected when DATABASE_URL is not set and other DATABASE_* parts are`,
    )
    return undefined
  }
  const host = env.DATABASE_HOST as string
  const url = new URL('postgres://localhost')
  const refuse = (hint = '') => {
    problems.push(
      `DATABASE_HOST: expected a host name, an IP address or a socket directory (an absolute path), got ${JSON.stringify(host)}${hint}`,
    )
    return undefined
  }
  if (host.startsWith('/')) url.searchParams.set('host', host)
  else if (isIPv6(host)) {
    // A URL has no room for a zone id; refused rather than dropped. The URL may write the address shorter.
    if (host.includes('%')) return refuse('; IPv6 zone ids (%…) are not supported')
    url.hostname = `[${host}]`
  } else {
    // URL setters ignore what they cannot parse: the result is checked, never assumed.
    if (HOST_NAME.test(host)) url.hostname = host
    if (url.hostname.toLowerCase() !== host.toLowerCase())
      return refuse(/:\d+$/.test(host) ? '; put the port in DATABASE_PORT' : '')
  }
  url.port = String(env.DATABASE_PORT ?? 5432)
  url.username = encodeURIComponent(env.DATABASE_USER as string)
  url.password = encodeURIComponent(env.DATABASE_PASSWORD ?? '')
  url.pathname = `/${encodeURIComponent(env.DATABASE_NAME as string)}`
  return url.toString()
}

/** Parses the environment once; throws a ConfigError that lists every bad key. */
export function parseConfig(env: Env): Readonly<Config> {
  const problems: string[] = []
  const raw = pick(readSecretFiles(env, problems))
  const withDefaults = Value.Default(EnvSchema, raw) as Record<string, unknown>
  for (const error of Value.Errors(EnvSchema, withDefaults)) {
    const key = error.path.replace(/^\//, '')
    problems.push(`${key}: ${error.message.toLowerCase()}, got ${describeValue(key, error.value)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const parsed = withDefaults as RawEnv
  const databaseUrl = databaseUrlFrom(parsed, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({
    env: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    release: parsed.RELEASE,
    databaseUrl,
    databasePoolMax: parsed.DATABASE_POOL_MAX,
    databaseConnectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT_MS,
    embeddedDatabasePort: parsed.EMBEDDED_DATABASE_PORT,
    embeddedDatabaseDir: parsed.EMBEDDED_DATABASE_DIR,
  })
}

/** The process configuration; a bad environment prints every problem and exits non-zero. */
export function loadConfig(): Readonly<Config> {
  try {
    return parseConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`${error.message}\nFix these variables (see .env.example) and start again.`)
    process.exit(1)
  }
}

/** Environment for a child process: ours (less the keys `drop` matches) plus overrides, so nothing else touches process.env. */
export function childEnv(overrides: Env, drop?: RegExp): Env {
  const inherited = Object.entries(process.env).filter(([key]) => !drop?.test(key))
  return { ...Object.fromEntries(inherited), ...overrides }
}
