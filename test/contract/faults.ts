import { describe, expect, it } from 'vitest'
import {
  type Contract,
  eventually,
  expectProblem,
  expectUnavailable,
  marker,
  type Note,
  UNAVAILABLE,
} from './harness'
import { identifier, literal } from './target'

const COLLIDED = 'the change collided with a concurrent one and was not applied; retry it'
const TOO_SLOW = 'the database did not answer in time; retry shortly'

/**
 * Database faults injected with superuser SQL: each answer must be 503 with Retry-After (or 500 for a response that
 * breaks its own schema), and each test puts the database back and waits until the API serves again.
 */
export function faultsContract(api: Contract) {
  const role = () => identifier(api.target.database.role)
  const roleName = () => literal(api.target.database.role)
  /** Every documented operation, on an existing note; none may change anything while the database is away. */
  function everyOperation(note: Note) {
    const id = { path: { id: note.id } }
    return [
      () => api.client.POST('/notes', { body: { title: 'never stored' } }),
      () => api.client.GET('/notes'),
      () => api.client.GET('/notes/{id}', { params: id }),
      () =>
        api.client.PATCH('/notes/{id}', {
          params: { ...id, header: { 'if-match': '"1"' } },
          body: { title: 'no' },
        }),
      () => api.client.DELETE('/notes/{id}', { params: { ...id, header: { 'if-match': '"1"' } } }),
    ]
  }

  describe('database unavailable', () => {
    it('wrong password (28P01): every operation answers 503 with Retry-After, live stays 200, nothing changes', async () => {
      const note = await api.createNote('survives')
      const before = await api.count()
      await api.withDatabaseUnavailable(async (wrong) => {
        for (const operation of everyOperation(note)) {
          const problem = await expectUnavailable(await operation(), '5', UNAVAILABLE)
          expect(JSON.stringify(problem)).not.toContain(wrong)
        }
        const ready = await api.client.GET('/health/ready')
        const problem = await expectUnavailable(ready, '5', 'the database is not reachable')
        expect(JSON.stringify(problem)).not.toContain(api.target.database.password)
        expect((await api.client.GET('/health/live')).response.status).toBe(200)
      })
      expect(await api.count()).toBe(before)
      expect(await api.stored(note.id)).toEqual([{ title: 'survives', body: '', version: 1 }])
    })

    it('database gone (3D000): 503 with Retry-After until it is back', async () => {
      const { name } = api.target.database
      const away = `${name}_away`
      /** ALTER DATABASE waits for no one: end every session on it first, and retry while the pool reconnects. */
      const rename = (from: string, to: string) =>
        eventually(async () => {
          await api.sql(
            `select count(pg_terminate_backend(pid, 5000)) from pg_stat_activity where datname = ${literal(from)} and pid <> pg_backend_pid()`,
            { database: 'postgres' },
          )
          await api.sql(`alter database ${identifier(from)} rename to ${identifier(to)}`, {
            database: 'postgres',
          })
        }, 10)
      await api.withFault(
        () => rename(name, away),
        () => rename(away, name),
        async () => {
          await expectUnavailable(await api.client.GET('/notes'), '5', UNAVAILABLE)
          await expectUnavailable(await api.client.GET('/health/ready'), '5', 'the database is not reachable')
          expect((await api.client.GET('/health/live')).response.status).toBe(200)
        },
      )
    })

    it('connection limit reached (53300): 503 with Retry-After', async ({ skip }) => {
      // Superusers may always connect, so the limit can only be shown where the app role is not one.
      skip(
        api.target.database.roleIsSuperuser,
        `${api.target.name}: the app role is a superuser, and connection limits do not apply to superusers`,
      )
      await api.withFault(
        async () => {
          await api.sql(`alter role ${role()} connection limit 0`)
          await api.terminateApp()
        },
        () => api.sql(`alter role ${role()} connection limit -1`),
        async () => {
          await expectUnavailable(await api.client.GET('/notes'), '5', UNAVAILABLE)
        },
      )
    })
  })

  describe('database too slow or in conflict', () => {
    it('statement cancelled (57014) while waiting for a lock: 503 with Retry-After', async () => {
      const lockHeld = () =>
        api.sql<{ n: number }>(
          "select count(*)::int as n from pg_locks where relation = 'notes'::regclass and mode = 'AccessExclusiveLock' and granted",
        )
      // One statement holds the lock until it sees the app's query wait for it, then cancels that query.
      const holder = api.sql(`do $$
        declare waiting int;
        begin
          lock table notes in access exclusive mode;
          for attempt in 1..300 loop
            perform pg_stat_clear_snapshot();
            select pid into waiting from pg_stat_activity
              where usename = ${roleName()} and wait_event_type = 'Lock' and pid <> pg_backend_pid() limit 1;
            exit when waiting is not null;
            perform pg_sleep(0.05);
          end loop;
          if waiting is null then raise exception 'no request waited for the lock within 15 s'; end if;
          perform pg_cancel_backend(waiting);
        end $$`)
      try {
        await eventually(async () => expect((await lockHeld())[0]?.n).toBe(1), 10)
        await expectUnavailable(
          await api.client.GET('/notes', { params: { query: { q: marker() } } }),
          '5',
          TOO_SLOW,
        )
      } finally {
        await holder
      }
      expect((await api.client.GET('/notes', { params: { query: { limit: 1 } } })).response.status).toBe(200)
    })

    it('deadlock (40P01) and serialization failure (40001): 503 with Retry-After 1, nothing changed', async () => {
      const note = await api.createNote('contended')
      const id = literal(note.id)
      await api.withFault(
        () =>
          api.sql(`do $$ begin
            create function contract_fault() returns trigger language plpgsql as $f$
              begin raise exception 'injected by the contract suite' using errcode = tg_argv[0]; end $f$;
            create trigger contract_fault_update before update on notes for each row
              when (old.id = ${id}) execute function contract_fault('40P01');
            create trigger contract_fault_delete before delete on notes for each row
              when (old.id = ${id}) execute function contract_fault('40001');
          end $$`),
        () =>
          api.sql(`do $$ begin
            drop trigger if exists contract_fault_update on notes;
            drop trigger if exists contract_fault_delete on notes;
            drop function if exists contract_fault();
          end $$`),
        async () => {
          const ifMatch = { path: { id: note.id }, header: { 'if-match': '"1"' } }
          await expectUnavailable(
            await api.client.PATCH('/notes/{id}', { params: ifMatch, body: { title: 'lost' } }),
            '1',
            COLLIDED,
          )
          await expectUnavailable(await api.client.DELETE('/notes/{id}', { params: ifMatch }), '1', COLLIDED)
          expect(await api.stored(note.id)).toEqual([{ title: 'contended', body: '', version: 1 }])
        },
      )
      const retried = await api.client.PATCH('/notes/{id}', {
        params: { path: { id: note.id }, header: { 'if-match': '"1"' } },
        body: { title: 'retried' },
      })
      expect(retried.response.status).toBe(200)
    })
  })

  describe('unexpected errors', () => {
    /** A 500 says nothing but the request id; the log line with that id says what failed. */
    async function expectInternalError(response: Response, requestId: string, path: string) {
      expect(await expectProblem(response, 500)).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: `unexpected error; quote request id ${requestId}`,
        instance: path,
        requestId,
      })
      return eventually(async () => {
        const lines = (await api.target.logs()).filter((line) => line.includes(requestId))
        const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
        expect(entries.map((entry) => [entry.level, entry.msg, entry.status])).toEqual([
          ['error', 'unhandled error', undefined],
          ['info', 'request', 500],
        ])
        expect(entries[0]?.path).toBe(path)
        return { line: lines[0] as string, error: entries[0]?.error as Record<string, unknown> }
      })
    }

    it('a stored row that breaks the response schema: 500, logged by field without the data', async () => {
      const title = marker()
      const requestId = `schema-${marker()}`
      // Valid for Postgres, not for the API's UUID format: the response fails its own schema.
      const id = '11111111-1111-1111-1111-111111111111'
      await api.sql(
        `insert into notes (id, title, body, version, created_at, updated_at) values ('${id}', '${title}', '', 1, now(), now())`,
      )
      try {
        const response = await api.fetch(`/notes?q=${title}`, { headers: { 'x-request-id': requestId } })
        const logged = await expectInternalError(response, requestId, '/notes')
        // Class names stay readable in the bundle, so the log says what failed.
        expect(logged.error).toEqual({
          name: 'ValidationError',
          on: 'response',
          errors: [{ path: '/items/0/id', message: "Expected string to match 'uuid' format" }],
        })
        expect(logged.line).not.toContain(title)
      } finally {
        await api.sql(`delete from notes where id = '${id}'`)
      }
    })

    it('a database error the API does not expect: 500, logged with its class name and message', async () => {
      const note = await api.createNote('checked')
      const requestId = `driver-${marker()}`
      await api.withFault(
        () =>
          api.sql(`do $$ begin
            create function contract_fault() returns trigger language plpgsql as $f$
              begin raise exception 'injected by the contract suite' using errcode = 'check_violation'; end $f$;
            create trigger contract_fault_update before update on notes for each row
              when (old.id = ${literal(note.id)}) execute function contract_fault();
          end $$`),
        () =>
          api.sql(`do $$ begin
            drop trigger if exists contract_fault_update on notes;
            drop function if exists contract_fault();
          end $$`),
        async () => {
          const response = await api.fetch(`/notes/${note.id}`, {
            method: 'PATCH',
            headers: { 'if-match': '"1"', 'x-request-id': requestId },
            json: { title: 'refused' },
          })
          const logged = await expectInternalError(response, requestId, `/notes/${note.id}`)
          expect(logged.error).toMatchObject({
            name: 'CheckConstraintViolationException',
            message: expect.stringContaining('injected by the contract suite'),
          })
        },
      )
      expect(await api.stored(note.id)).toEqual([{ title: 'checked', body: '', version: 1 }])
    })
  })
}
