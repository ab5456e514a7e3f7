import { join } from 'node:path'
import { root } from '../../../test/containers/docker'
import { freePort, realNode, rssMb, type Server, startContainer, startProcess } from '../procs'
import type { Profile } from '../profile'
import type { Figure } from '../report'
import { type Database, images } from '../stack'
import { median, pairedRatio, rotate, round } from '../stats'
import { wrk } from '../wrk'

interface Contender {
  name: string
  start: () => Promise<Server>
}

interface Measured {
  name: string
  rps: number[]
  p99: number[]
  idleMb: number
  loadedMb: number
}

/** Warm-up, then `profile.rounds` interleaved wrk runs per contender, all started together and left running. */
async function loadRounds(
  contenders: Contender[],
  path: (server: Server) => { url: string; script?: string; args?: string[] },
  profile: Profile,
): Promise<Measured[]> {
  const servers: Server[] = []
  try {
    for (const contender of contenders) servers.push(await contender.start())
    await Bun.sleep(1000)
    const measured = servers.map((server) => ({
      name: server.name,
      rps: [] as number[],
      p99: [] as number[],
      idleMb: rssMb(server.pid),
      loadedMb: 0,
    }))
    for (const server of servers) {
      await wrk(path(server).url, {
        ...path(server),
        seconds: profile.warmupSeconds,
        connections: profile.connections,
      })
    }
    for (let r = 0; r < profile.rounds; r++) {
      for (const i of rotate([...servers.keys()], r)) {
        const server = servers[i] as Server
        const load = await wrk(path(server).url, {
          ...path(server),
          seconds: profile.seconds,
          connections: profile.connections,
        })
        measured[i]?.rps.push(load.rps)
        measured[i]?.p99.push(load.p99Ms)
      }
    }
    servers.forEach((server, i) => {
      ;(measured[i] as Measured).loadedMb = rssMb(server.pid)
    })
    return measured
  } finally {
    for (const server of servers) await server.stop()
  }
}

const loadTable = (measured: Measured[]) => {
  const base = measured[0] as Measured
  return measured.map((m) => [
    m.name,
    round(median(m.rps), 0),
    round(median(m.p99), 2),
    round(pairedRatio(base.rps, m.rps), 2),
  ])
}

export interface LoadFigures {
  g2: Figure
  g3: Figure
  g7: Figure
}

/** G3 and G7 on the database route, then G2 on the JSON route; every server on loopback, one process each. */
export async function measureLoad(bundleDir: string, db: Database, profile: Profile): Promise<LoadFigures> {
  const dbEnv = { DATABASE_URL: db.url, DATABASE_POOL_MAX: '10' }
  const ours: Contender = {
    name: 'ours: Elysia + MikroORM (prod bundle)',
    start: () =>
      startProcess('ours: Elysia + MikroORM (prod bundle)', ['bun', '--no-install', 'index.js'], {
        port: freePort(),
        env: { ...dbEnv, HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info' },
        cwd: bundleDir,
        ready: '/health/ready',
      }),
  }
  const peer = (name: string, cmd: string[]) => ({
    name,
    start: () => startProcess(name, cmd, { port: freePort(), env: dbEnv, ready: `/notes/${db.ids[0]}` }),
  })
  const dbContenders: Contender[] = [
    ours,
    peer('Elysia + pg', ['bun', join(root, 'bench/peers/elysia-pg.ts')]),
    peer('Bun.serve + Bun.sql', ['bun', join(root, 'bench/peers/bun-sql.ts')]),
    {
      name: 'FastAPI + SQLAlchemy + uvicorn',
      start: () => {
        const port = freePort()
        return startContainer('FastAPI + SQLAlchemy + uvicorn', images.fastapi, {
          port,
          env: dbEnv,
          args: ['python3', '-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)],
          ready: `/notes/${db.ids[0]}`,
        })
      },
    },
  ]
  const script = join(root, 'bench/lib/notes.lua')
  const dbMeasured = await loadRounds(
    dbContenders,
    (server) => ({ url: server.base, script, args: [db.idsFile] }),
    profile,
  )
  const [m0, mPg, , mPy] = dbMeasured as [Measured, Measured, Measured, Measured]
  const vsPg = pairedRatio(m0.rps, mPg.rps)
  const vsPy = pairedRatio(m0.rps, mPy.rps)
  const loadSeconds = profile.rounds * profile.seconds

  const node = await realNode()
  const httpContenders: Contender[] = [
    {
      name: 'ours: Elysia (prod bundle)',
      start: () =>
        startProcess('ours: Elysia (prod bundle)', ['bun', '--no-install', 'index.js'], {
          port: freePort(),
          env: { ...dbEnv, HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info' },
          cwd: bundleDir,
          ready: '/health/ready',
        }),
    },
    {
      name: 'raw Bun.serve twin',
      start: () =>
        startProcess('raw Bun.serve twin', ['bun', join(root, 'bench/peers/bun-serve.ts')], {
          port: freePort(),
          ready: '/health/live',
        }),
    },
    {
      name: 'Fastify on Node',
      start: () =>
        startProcess('Fastify on Node', [node, join(root, 'bench/peers/fastify.mjs')], {
          port: freePort(),
          ready: '/health/live',
        }),
    },
  ]
  const httpMeasured = await loadRounds(
    httpContenders,
    (server) => ({ url: `${server.base}/health/live` }),
    profile,
  )
  const [h0, hRaw] = httpMeasured as [Measured, Measured]
  const vsRaw = pairedRatio(h0.rps, hRaw.rps)

  const loadMethod =
    `wrk (one thread, ${profile.connections} connections, a separate process) on 127.0.0.1; after a ` +
    `${profile.warmupSeconds} s warm-up each, ${profile.rounds} interleaved rounds of ${profile.seconds} s, ` +
    'contenders rotated each round; median req/s and p99, and the median of the per-round ratios. Every server ' +
    'is one process doing the same per-request work: X-Request-Id and one JSON access-log line to stdout ' +
    '(/dev/null here; uvicorn its own access log). Ours is the bundle copied out of the prod image, run by ' +
    'the same Bun binary.'
  return {
    g3: {
      id: 'G3',
      title: 'database: GET /notes/:id',
      method: `${loadMethod} Each request reads one of ${db.ids.length} notes (keys shuffled per connection) from the same Postgres 17 on the host network; pools of 10 everywhere.`,
      columns: ['stack', 'req/s', 'p99 (ms)', 'ours / this'],
      rows: loadTable(dbMeasured),
      goals: [
        { label: 'req/s vs Elysia + pg', value: round(vsPg * 100, 0), unit: '%', limit: 60, bound: 'least' },
        { label: 'req/s vs FastAPI', value: round(vsPy, 2), unit: '×', limit: 2, bound: 'least' },
      ],
      chart: {
        label: 'req/s',
        bars: dbMeasured.map((m) => ({
          name: m.name.replace(/ \(prod bundle\)/, ''),
          value: round(median(m.rps), 0),
        })),
      },
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
          value: round(vsRaw * 100, 0),
          unit: '%',
          limit: 97,
          bound: 'least',
        },
      ],
      chart: {
        label: 'req/s',
        bars: httpMeasured.map((m) => ({
          name: m.name.replace(/ \(prod bundle\)/, ''),
          value: round(median(m.rps), 0),
        })),
      },
    },
    g7: {
      id: 'G7',
      title: 'memory (RSS)',
      method: `VmRSS of each G3 server process: idle is 1 s after it first answered; loaded is right after its ${loadSeconds} s of G3 load (plus the ${profile.warmupSeconds} s warm-up). The FastAPI figure is the uvicorn process in its container.`,
      columns: ['stack', 'idle (MB)', 'loaded (MB)', 'loaded: ours / this'],
      rows: dbMeasured.map((m) => [
        m.name,
        round(m.idleMb, 1),
        round(m.loadedMb, 1),
        round(m0.loadedMb / m.loadedMb, 2),
      ]),
      goals: [
        { label: 'RSS idle', value: round(m0.idleMb, 1), unit: 'MB', limit: 60, bound: 'most' },
        {
          label: `RSS after ${loadSeconds} s of load`,
          value: round(m0.loadedMb, 1),
          unit: 'MB',
          limit: 120,
          bound: 'most',
        },
      ],
      chart: {
        label: `RSS after ${loadSeconds} s of load, MB`,
        bars: dbMeasured.map((m) => ({
          name: m.name.replace(/ \(prod bundle\)/, ''),
          value: round(m.loadedMb, 1),
        })),
      },
    },
  }
}
