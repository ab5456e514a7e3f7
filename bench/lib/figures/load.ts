import { join } from 'node:path'
import { root } from '../../../test/containers/docker'
import { databaseContenders, httpContenders } from '../contenders'
import type { Profile } from '../profile'
import type { Figure } from '../report'
import { barsOf, failuresOf, loadRounds, loadTable, type Measured, ratioOf } from '../rounds'
import type { Database } from '../stack'
import { cell, median } from '../stats'

export interface LoadFigures {
  g2: Figure
  g3: Figure
  g7: Figure
}

/** The contender called `name`; the lists come from contenders.ts, so a missing one is a harness bug. */
function byName(measured: Measured[], name: string): Measured {
  const found = measured.find((m) => m.name === name)
  if (!found)
    throw new Error(`expected a contender named ${name}, got ${measured.map((m) => m.name).join(', ')}`)
  return found
}

/** G3 and G7 on the database route, then G2 on the JSON route; every server on loopback, one process each. */
export async function measureLoad(bundleDir: string, db: Database, profile: Profile): Promise<LoadFigures> {
  const script = join(root, 'bench/lib/notes.lua')
  const dbMeasured = await loadRounds(
    databaseContenders(bundleDir, db),
    (server) => ({ url: server.base, script, args: [db.idsFile] }),
    profile,
  )
  const m0 = dbMeasured[0] as Measured
  const vs = (name: string) => ratioOf(m0, byName(dbMeasured, name))
  const loadSeconds = profile.rounds * profile.seconds

  const httpMeasured = await loadRounds(
    httpContenders(bundleDir, db),
    (server) => ({ url: `${server.base}/health/live` }),
    profile,
  )
  const h0 = httpMeasured[0] as Measured

  const loadMethod =
    `wrk (one thread, ${profile.connections} connections, a separate process) on 127.0.0.1; after a ` +
    `${profile.warmupSeconds} s warm-up each, ${profile.rounds} interleaved rounds of ${profile.seconds} s, ` +
    'contenders rotated each round; median req/s and p99, and the median of the per-round ratios. Every server ' +
    'is one process doing the same per-request work: X-Request-Id and one JSON access-log line to stdout ' +
    '(/dev/null here; uvicorn its own access log), with NODE_ENV=production. Ours is the bundle copied out of ' +
    'the prod image, run by the same Bun binary. A contender that fails to start or answers anything but 2xx ' +
    'is marked failed and the run goes on.'
  return {
    g3: {
      id: 'G3',
      title: 'database: GET /notes/:id',
      method:
        `${loadMethod} Each request reads one of ${db.ids.length} notes (keys shuffled per connection) from the ` +
        'same Postgres 17 on the host network; pools of 10 everywhere. Hono + Drizzle (Drizzle on Bun.SQL, zod ' +
        'validation) and NestJS 12 + TypeORM (Express, on Node) carry their own package.json and lockfile under ' +
        '`bench/peers/` and are installed from it by the harness.',
      columns: ['stack', 'req/s', 'p99 (ms)', 'ours / this'],
      rows: loadTable(dbMeasured),
      goals: [
        { label: 'req/s vs Elysia + pg', value: cell(vs('Elysia + pg') * 100, 0), unit: '%', limit: 60 },
        {
          label: 'req/s vs NestJS + TypeORM',
          value: cell(vs('NestJS + TypeORM on Node')),
          unit: '×',
          limit: 1,
        },
        // "Within 1.5 × of Hono + Drizzle": ours / theirs ≥ 1 / 1.5.
        { label: 'req/s vs Hono + Drizzle', value: cell(vs('Hono + Drizzle')), unit: '×', limit: 0.67 },
        { label: 'req/s vs FastAPI', value: cell(vs('FastAPI + SQLAlchemy + uvicorn')), unit: '×', limit: 2 },
      ].map((goal) => ({ ...goal, bound: 'least' as const })),
      chart: { label: 'req/s', bars: barsOf(dbMeasured, (m) => median(m.rps)) },
      failures: failuresOf(dbMeasured),
    },
    g2: {
      id: 'G2',
      title: 'HTTP: GET /health/live',
      method: loadMethod,
      columns: ['server', 'req/s', 'p99 (ms)', 'ours / this'],
      rows: loadTable(httpMeasured),
      goals: [
        {
          label: 'req/s vs raw Bun.serve',
          value: cell(ratioOf(h0, byName(httpMeasured, 'raw Bun.serve twin')) * 100, 0),
          unit: '%',
          limit: 97,
          bound: 'least',
        },
      ],
      chart: { label: 'req/s', bars: barsOf(httpMeasured, (m) => median(m.rps)) },
      failures: failuresOf(httpMeasured),
    },
    g7: {
      id: 'G7',
      title: 'memory (RSS)',
      method: `VmRSS of each G3 server process: idle is 1 s after it first answered; loaded is right after its ${loadSeconds} s of G3 load (plus the ${profile.warmupSeconds} s warm-up). The FastAPI figure is the uvicorn process in its container; NestJS's is the Node process.`,
      columns: ['stack', 'idle (MB)', 'loaded (MB)', 'loaded: ours / this'],
      rows: dbMeasured.map((m) => [
        m.name,
        cell(m.idleMb, 1),
        cell(m.loadedMb, 1),
        cell(m0.loadedMb / m.loadedMb, 2),
      ]),
      goals: [
        { label: 'RSS idle', value: cell(m0.idleMb, 1), unit: 'MB', limit: 60, bound: 'most' },
        {
          label: `RSS after ${loadSeconds} s of load`,
          value: cell(m0.loadedMb, 1),
          unit: 'MB',
          limit: 120,
          bound: 'most',
        },
      ],
      chart: {
        label: `RSS after ${loadSeconds} s of load, MB`,
        bars: barsOf(dbMeasured, (m) => m.loadedMb, 1),
      },
      failures: failuresOf(dbMeasured),
    },
  }
}
