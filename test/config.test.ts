import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'
import { connectionOptions } from '../src/db'

const problemsOf = (env: Record<string, string>) => {
  try {
    parseConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('parseConfig', () => {
  it('accepts .env.example as it is', async () => {
    const env = Object.fromEntries(
      (await Bun.file('.env.example').text())
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    )
    expect(Object.keys(env).length).toBeGreaterThan(5)
    expect(parseConfig(env)).toMatchObject({ port: 3000, databaseUrl: undefined })
  })

  it('applies the documented defaults and freezes the result', () => {
    const config = parseConfig({})
    expect(config).toMatchObject({
      env: 'development',
      host: '0.0.0.0',
      port: 3000,
      logLevel: 'info',
      bodyLimitBytes: 1024 * 1024,
      shutdownTimeoutMs: 10_000,
      databaseUrl: undefined,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('converts numbers and keeps DATABASE_URL as given', () => {
    const config = parseConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      LOG_LEVEL: 'debug',
    })
    expect(config).toMatchObject({ port: 8080, databaseUrl: 'postgres://u:p@db:5432/app', logLevel: 'debug' })
  })

  it('lists every bad key with what was expected, in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      BODY_LIMIT_BYTES: '0',
      DATABASE_URL: 'mysql://x',
    })
    expect(problems).toHaveLength(4)
    expect(problems.join('\n')).toMatch(/PORT: .*integer.*"eighty"/)
    expect(problems.join('\n')).toMatch(/LOG_LEVEL: .*"loud"/)
    expect(problems.join('\n')).toMatch(/BODY_LIMIT_BYTES: .*greater or equal to 1/)
    expect(problems.join('\n')).toMatch(/DATABASE_URL: .*hidden/)
  })

  it('never prints a bad secret value', () => {
    const problems = problemsOf({ DATABASE_URL: 'not-a-url-with-secret-hunter2' })
    expect(problems.join('\n')).not.toContain('hunter2')
  })

  it('refuses a DATABASE_URL that does not parse (a port that is not a number), without printing it', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://app:hunter2@db:notaport/app' })
    expect(problems).toEqual([expect.stringMatching(/^DATABASE_URL: expected postgres:\/\//)])
    expect(problems.join('\n')).not.toContain('hunter2')
  })

  it('builds the URL from DATABASE_* parts, escaping them', () => {
    const config = parseConfig({
      DATABASE_HOST: 'db',
      DATABASE_USER: 'app',
      DATABASE_PASSWORD: 'p@ss:w/rd',
      DATABASE_NAME: 'notes',
    })
    const url = new URL(config.databaseUrl as string)
    expect([url.hostname, url.port, decodeURIComponent(url.password), url.pathname]).toEqual([
      'db',
      '5432',
      'p@ss:w/rd',
      '/notes',
    ])
  })

  it('asks for the missing parts when only some are set', () => {
    expect(problemsOf({ DATABASE_HOST: 'db' }).join('\n')).toMatch(/DATABASE_USER, DATABASE_NAME/)
  })

  it('reads secrets from *_FILE (Docker secrets) and rejects setting both forms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bakehouse-config-'))
    const file = join(dir, 'password')
    writeFileSync(file, 's3cret\n')
    const config = parseConfig({
      DATABASE_HOST: 'db',
      DATABASE_USER: 'u',
      DATABASE_NAME: 'n',
      DATABASE_PASSWORD_FILE: file,
    })
    expect(new URL(config.databaseUrl as string).password).toBe('s3cret')
    // ASCII whitespace around it goes, as deploy/db/roles.sh trims what it sets; a no-break space is part of it.
    writeFileSync(file, '\t s3cret\u00a0\r\n')
    const spaced = parseConfig({
      DATABASE_HOST: 'db',
      DATABASE_USER: 'u',
      DATABASE_NAME: 'n',
      DATABASE_PASSWORD_FILE: file,
    })
    expect(decodeURIComponent(new URL(spaced.databaseUrl as string).password)).toBe('s3cret\u00a0')
    expect(problemsOf({ DATABASE_PASSWORD: 'a', DATABASE_PASSWORD_FILE: file }).join()).toMatch(
      /only one of them/,
    )
    expect(problemsOf({ DATABASE_URL_FILE: join(dir, 'missing') }).join()).toMatch(
      /DATABASE_URL_FILE: expected a readable file/,
    )
  })
})

describe('DATABASE_HOST', () => {
  const parts = { DATABASE_USER: 'app', DATABASE_PASSWORD: 'p@ss:w/rd', DATABASE_NAME: 'notes' }
  /** Where the app would connect, as the ORM is given it. */
  const target = (host: string) =>
    connectionOptions(
      parseConfig({ ...parts, DATABASE_HOST: host, DATABASE_PORT: '6432' }).databaseUrl as string,
    )
  const expected = (host: string) => ({
    host,
    port: 6432,
    user: 'app',
    password: 'p@ss:w/rd',
    dbName: 'notes',
  })

  it('takes a host name or an IPv4 address as it is', () => {
    for (const host of ['db', 'db_1', 'db.internal.example.com', 'localhost', '10.0.0.5'])
      expect(target(host)).toEqual(expected(host))
  })

  it('takes an IPv6 address, bracketed in the URL', () => {
    const config = parseConfig({ ...parts, DATABASE_HOST: '::1' })
    expect(new URL(config.databaseUrl as string).host).toBe('[::1]:5432')
    expect(target('::1')).toEqual(expected('::1'))
    expect(target('2001:DB8:0:0:0:0:0:5')).toEqual(expected('2001:db8::5'))
  })

  it('takes a socket directory (an absolute path), passed as ?host= the way libpq reads it', () => {
    for (const dir of ['/var/run/postgresql', '/tmp/my sockets']) {
      const url = new URL(parseConfig({ ...parts, DATABASE_HOST: dir }).databaseUrl as string)
      expect(url.searchParams.get('host')).toBe(dir)
      expect(target(dir)).toEqual(expected(dir))
    }
  })

  it('refuses anything else at start, naming the key and never substituting a host', () => {
    const cases: [string, RegExp][] = [
      ['db:5432', /; put the port in DATABASE_PORT$/],
      ['fe80::1%eth0', /; IPv6 zone ids \(%…\) are not supported$/],
      ['[::1]', /got "\[::1\]"$/],
      ['http://db', /got "http:\/\/db"$/],
      ['db/notes', /got "db\/notes"$/],
      ['user@db', /got "user@db"$/],
      ['relative/dir', /got "relative\/dir"$/],
      [' db', /got " db"$/],
      ['-db', /got "-db"$/],
    ]
    for (const [host, detail] of cases) {
      const problems = problemsOf({ ...parts, DATABASE_HOST: host })
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(/^DATABASE_HOST: expected a host name, an IP address or a socket directory/)
      expect(problems[0]).toMatch(detail)
    }
  })
})

describe('connectionOptions', () => {
  it('reads the host forms libpq and node-postgres read from a DATABASE_URL', () => {
    const forms: [string, string][] = [
      ['postgres://u:p@[::1]:5433/db', '::1'],
      ['postgres://u:p@localhost:5433/db?host=/var/run/postgresql', '/var/run/postgresql'],
      ['postgres://u:p@%2Fvar%2Frun%2Fpostgresql:5433/db', '/var/run/postgresql'],
    ]
    for (const [url, host] of forms)
      expect(connectionOptions(url)).toEqual({ host, port: 5433, user: 'u', password: 'p', dbName: 'db' })
  })
})
