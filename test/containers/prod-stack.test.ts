import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bake,
  createNote,
  exerciseNotes,
  inspect,
  leftovers,
  must,
  prodImage,
  prodStack,
  run,
  since,
} from './docker'

const { project, passwordFile, port, base, env, composeArgs, compose, containerOf, remove } =
  await prodStack('prod')

/** A client on the database's network holding the one password there is: what a compromised api could try. */
const asClient = (user: string, query: string, database = 'bakehouse') =>
  run(
    [
      ...['docker', 'run', '--rm', '--network', `${project}_backend`, '--entrypoint', 'psql'],
      ...['--env', `PGPASSWORD=${readFileSync(passwordFile, 'utf8').trim()}`, 'postgres:17'],
      ...['--host=db', `--username=${user}`, `--dbname=${database}`, '-At', '-c', query],
    ],
    { env },
  )

/** SQL as the cluster's superuser, over the db container's own socket. */
const sql = (query: string) =>
  compose('exec', '-T', 'db', 'psql', '--username=bakehouse', '--dbname=bakehouse', '-At', '-c', query)

async function up(): Promise<void> {
  const start = performance.now()
  await compose('up', '--detach', '--wait')
  console.log(`prod stack: compose up --wait ${since(start)} s`)
}

beforeAll(async () => {
  await bake(['prod'])
})

afterAll(async () => {
  await run([...composeArgs, 'down', '--volumes', '--remove-orphans'], { env })
  remove()
})

describe('compose.prod.yaml', () => {
  it('fails fast, naming the setting, when IMAGE or DATABASE_PASSWORD_FILE is missing', async () => {
    const noImage = await run([...composeArgs, 'config'], { env: { DATABASE_PASSWORD_FILE: passwordFile } })
    expect(noImage.code).not.toBe(0)
    expect(noImage.stderr).toContain('set IMAGE')
    const noSecret = await run([...composeArgs, 'config'], { env: { IMAGE: prodImage } })
    expect(noSecret.code).not.toBe(0)
    expect(noSecret.stderr).toContain('set DATABASE_PASSWORD_FILE')
  })

  it('one `up -d --wait` migrates first and returns once /health/ready is 200', async () => {
    await up()
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(200)
    // The one-shot ran to exit 0 before the api started.
    const migrate = await inspect('container', await containerOf('migrate'))
    const api = await inspect('container', await containerOf('api'))
    expect(migrate.State.ExitCode).toBe(0)
    expect(Date.parse(migrate.State.FinishedAt)).toBeLessThanOrEqual(Date.parse(api.State.StartedAt))
    expect(api.State.Health.Status).toBe('healthy')
  })

  it('keeps a serving api healthy while the database is down: its probe has moved on to /health/live', async () => {
    await compose('stop', 'db')
    try {
      expect((await fetch(`${base}/health/ready`)).status).toBe(503)
      // The image's own HEALTHCHECK command, run by hand rather than waiting 15 s for Docker's next probe.
      const healthcheck = (await inspect('image', prodImage)).Config.Healthcheck.Test.slice(1)
      const probe = await run(['docker', 'exec', await containerOf('api'), ...healthcheck])
      expect(probe.code, probe.stderr).toBe(0)
    } finally {
      await compose('start', 'db')
    }
  })

  it('runs every container hardened: read-only, no capabilities, no new privileges, limits, rotated logs', async () => {
    for (const service of ['api', 'db']) {
      const { HostConfig, Config } = await inspect('container', await containerOf(service))
      expect(HostConfig.ReadonlyRootfs, service).toBe(true)
      expect(HostConfig.CapDrop, service).toEqual(['ALL'])
      expect(HostConfig.CapAdd ?? [], service).toEqual([])
      expect(HostConfig.SecurityOpt, service).toContain('no-new-privileges:true')
      expect(HostConfig.Init, service).toBe(true)
      expect(HostConfig.Memory, service).toBeGreaterThan(0)
      expect(HostConfig.NanoCpus, service).toBeGreaterThan(0)
      expect(HostConfig.PidsLimit, service).toBeGreaterThan(0)
      expect(HostConfig.RestartPolicy.Name, service).toBe('unless-stopped')
      expect(HostConfig.LogConfig.Config, service).toMatchObject({ 'max-size': '10m', 'max-file': '3' })
      expect(Object.keys(HostConfig.Tmpfs ?? {}), service).toContain('/tmp')
      expect(Config.User, service).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/)
    }
  })

  it('keeps the database on an internal network and unpublished', async () => {
    const db = await inspect('container', await containerOf('db'))
    expect(
      Object.values(db.NetworkSettings.Ports ?? {})
        .flat()
        .filter(Boolean),
    ).toEqual([])
    const networks = Object.keys(db.NetworkSettings.Networks)
    expect(networks).toEqual([`${project}_backend`])
    expect((await inspect('network', `${project}_backend`)).Internal).toBe(true)
    const api = await inspect('container', await containerOf('api'))
    expect(api.NetworkSettings.Ports['3000/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }])
  })

  it('connects the api as the owner of its database, never a superuser; the superuser has no network login', async () => {
    // A query, so the pool holds a connection to look at (the db restarted in an earlier case).
    expect((await fetch(`${base}/notes`)).status).toBe(200)
    expect(
      await sql(`select distinct a.usename || ' ' || r.rolsuper from pg_stat_activity a join pg_roles r
        on r.rolname = a.usename where a.application_name = 'bakehouse'`),
    ).toBe('bakehouse_app false\n')
    expect(await sql("select pg_get_userbyid(datdba) from pg_database where datname = 'bakehouse'")).toBe(
      'bakehouse_app\n',
    )
    const superuser = await asClient('bakehouse', 'select 1')
    expect(superuser.stderr).toContain('password authentication failed for user "bakehouse"')
    const program = await asClient('bakehouse_app', "copy (select 1) to program 'id'")
    expect(program.stderr).toContain('permission denied to COPY to or from an external program')
    expect((await asClient('bakehouse_app', 'alter role bakehouse_app superuser')).stderr).toContain(
      'permission denied',
    )
    expect((await asClient('bakehouse_app', 'select 1', 'postgres')).stderr).toContain(
      'permission denied for database "postgres"',
    )
  })

  it('gives the app role what the superuser made before it existed, and running roles.sh again changes nothing', async () => {
    // A cluster from before roles.sh: the superuser owned the database and every table.
    await sql('create table legacy (id serial primary key); alter database bakehouse owner to bakehouse')
    const owners = `select string_agg(relname || ' ' || pg_get_userbyid(relowner), ',' order by relname) from pg_class
      where relnamespace = 'public'::regnamespace and relname like 'legacy%'`
    expect(await sql(owners)).toBe('legacy bakehouse,legacy_id_seq bakehouse,legacy_pkey bakehouse\n')
    for (let run = 0; run < 2; run++)
      await compose('exec', '-T', 'db', 'sh', '/docker-entrypoint-initdb.d/roles.sh')
    expect(await sql(owners)).toBe(
      'legacy bakehouse_app,legacy_id_seq bakehouse_app,legacy_pkey bakehouse_app\n',
    )
    expect(await sql("select pg_get_userbyid(datdba) from pg_database where datname = 'bakehouse'")).toBe(
      'bakehouse_app\n',
    )
    await sql('drop table legacy')
  })

  it("gives roles.sh's superuser session none of the app's names or settings: they cannot hijack or lock it out", async () => {
    // The app owns its database, so it may set the database's search_path; views named like the catalog's would
    // then run its function with the rights of whoever reads them. Other settings would lock roles.sh (read-only)
    // or the app itself (MD5 passwords the server's SCRAM rule refuses) out.
    const attack = await asClient(
      'bakehouse_app',
      `create schema evil;
       create function evil.pwn() returns boolean language plpgsql as $$ begin
         if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
           execute 'alter role bakehouse_app superuser'; end if; return true; end $$;
       create view evil.pg_roles as select * from pg_catalog.pg_roles where evil.pwn();
       create view evil.pg_class as select * from pg_catalog.pg_class where evil.pwn();
       alter database bakehouse set search_path = evil, pg_catalog, public;
       alter database bakehouse set password_encryption = 'md5';
       alter database bakehouse set default_transaction_read_only = on`,
    )
    expect(attack.code, attack.stderr).toBe(0)
    try {
      await compose('exec', '-T', 'db', 'sh', '/docker-entrypoint-initdb.d/roles.sh')
      expect(await sql("select rolsuper from pg_catalog.pg_roles where rolname = 'bakehouse_app'")).toBe(
        'f\n',
      )
      // The database's settings are gone, so the app logs in again, with a SCRAM password.
      expect(
        await sql(`select count(*) from pg_catalog.pg_db_role_setting s join pg_catalog.pg_database d
          on d.oid = s.setdatabase where d.datname = 'bakehouse' and s.setrole = 0`),
      ).toBe('0\n')
      expect(
        await sql("select left(rolpassword, 13) from pg_catalog.pg_authid where rolname = 'bakehouse_app'"),
      ).toBe('SCRAM-SHA-256\n')
      expect((await asClient('bakehouse_app', 'select 1')).stdout).toBe('1\n')
    } finally {
      await asClient('bakehouse_app', 'alter database bakehouse reset all; drop schema evil cascade')
    }
  })

  it('refuses to make the superuser the app role, naming the settings', async () => {
    const same = await run(
      [
        ...composeArgs,
        'exec',
        '-T',
        '-e',
        'DATABASE_APP_USER=bakehouse',
        'db',
        'sh',
        '/docker-entrypoint-initdb.d/roles.sh',
      ],
      { env },
    )
    expect(same.code).toBe(1)
    expect(same.stderr).toContain('set DATABASE_APP_USER (not the superuser POSTGRES_USER)')
  })

  it('serves notes CRUD on http://127.0.0.1', async () => {
    await exerciseNotes(base)
  })

  it('keeps the data across compose down and up', async () => {
    const id = await createNote(base, 'survives a restart')
    await compose('down', '--timeout', '20')
    await up()
    const read = await fetch(`${base}/notes/${id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ id, title: 'survives a restart' })
  })

  it('stops `up` when a migration fails: the api never starts and `logs migrate` shows the error', async () => {
    // A table in the migration's way, as a hand-made change on a server would be.
    const broken = await prodStack('prod-broken')
    try {
      await broken.compose('up', '--detach', '--wait', 'db')
      await broken.compose(
        'exec',
        '-T',
        'db',
        'psql',
        '--username=bakehouse',
        '--dbname=bakehouse',
        '-c',
        'create table notes (x int)',
      )
      const result = await run([...broken.composeArgs, 'up', '--detach', '--wait'], { env: broken.env })
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('service "migrate" didn\'t complete successfully: exit 1')
      // Created, never started.
      const api = await must([
        'docker',
        'inspect',
        '--format',
        '{{.State.Status}}',
        await broken.containerOf('api'),
      ])
      expect(api.trim()).toBe('created')
      expect(await broken.compose('logs', 'migrate')).toContain('relation \\"notes\\" already exists')
    } finally {
      await run([...broken.composeArgs, 'down', '--volumes', '--timeout', '5'], { env: broken.env })
      broken.remove()
    }
  })

  it('stops the api on docker stop with exit code 0', async () => {
    const id = await containerOf('api')
    const start = performance.now()
    await must(['docker', 'stop', id])
    console.log(`prod stack: docker stop api ${since(start)} s`)
    const { State } = await inspect('container', id)
    expect(State.ExitCode).toBe(0)
    expect(State.OOMKilled).toBe(false)
  })

  it('is gone after compose down --volumes: no containers, networks or volumes left', async () => {
    await compose('down', '--volumes', '--remove-orphans', '--timeout', '20')
    expect(await leftovers(project)).toEqual([])
  })
})
