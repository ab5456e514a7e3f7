import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bunInImage, inspect, must, projectName, root, run } from '../../test/containers/docker'
import {
  freePort,
  realNode,
  rssMb,
  runOnHost,
  type Server,
  startContainer,
  startProcess,
  until200,
} from './procs'
import type { Profile } from './profile'
import type { Figure } from './report'
import { bakeVars, type Database, editLiveRoute, images } from './stack'
import { median, pairedRatio, rotate, round } from './stats'
import { wrk } from './wrk'

const MB = 1e6
const seconds = async (action: () => Promise<unknown>) => {
  const start = performance.now()
  await action()
  return (performance.now() - start) / 1000
}

const bakeProd = (dir: string, extra: string[] = []) =>
  must(['docker', 'buildx', 'bake', '--load', '--sbom=false', '--provenance=false', ...extra, 'prod'], {
    cwd: dir,
    env: bakeVars,
  })
const buildNaive = (dir: string, extra: string[] = []) =>
  must(
    [
      'docker',
      'build',
      '--quiet',
      ...extra,
      '-f',
      join(root, 'bench/naive.Dockerfile'),
      '-t',
      images.naive,
      '.',
    ],
    {
      cwd: dir,
    },
  )

/** Builds the prod image untimed, for runs that skip G5 (--only). */
export const buildProd = (dir: string) => bakeProd(dir)

/** G5: cold (--no-cache), warm after a one-line edit, and no-op builds of prod, each beside the naive Dockerfile. */
export async function measureBuilds(dir: string, profile: Profile): Promise<Figure> {
  const kinds = ['cold', 'warm', 'noop'] as const
  const ours: Record<(typeof kinds)[number], number[]> = { cold: [], warm: [], noop: [] }
  const naive: Record<(typeof kinds)[number], number[]> = { cold: [], warm: [], noop: [] }
  for (let r = 0; r < profile.buildRounds; r++) {
    ours.cold.push(await seconds(() => bakeProd(dir, ['--no-cache'])))
    naive.cold.push(await seconds(() => buildNaive(dir, ['--no-cache'])))
    const restore = editLiveRoute(dir, `bench-build-${r}`)
    try {
      ours.warm.push(await seconds(() => bakeProd(dir)))
      naive.warm.push(await seconds(() => buildNaive(dir)))
    } finally {
      restore()
    }
    // The restore is itself an edit; build once untimed so the no-op really has nothing to do.
    await bakeProd(dir)
    await buildNaive(dir)
    ours.noop.push(await seconds(() => bakeProd(dir)))
    naive.noop.push(await seconds(() => buildNaive(dir)))
  }
  const m = (list: number[]) => round(median(list), 2)
  return {
    id: 'G5',
    title: 'build',
    method:
      `\`docker buildx bake prod\` on the default builder in a copy of the commit, median of ${profile.buildRounds} ` +
      'interleaved rounds; beside it `docker build` of `bench/naive.Dockerfile` (`oven/bun` + `COPY . .` + ' +
      '`bun install`) on the same context. Cold is `--no-cache` (base images local; our Dockerfile keeps its ' +
      'package cache mount, the naive one has none and downloads every package); warm follows a one-line edit ' +
      'of `src/modules/health/index.ts`; no-op rebuilds an unchanged tree.',
    columns: ['build', 'ours (s)', 'naive (s)', 'ours / naive'],
    rows: kinds.map((kind) => [
      kind,
      m(ours[kind]),
      m(naive[kind]),
      round(pairedRatio(ours[kind], naive[kind]), 2),
    ]),
    goals: [
      { label: 'warm build', value: m(ours.warm), unit: 's', limit: 10, bound: 'most' },
      { label: 'no-op build', value: m(ours.noop), unit: 's', limit: 3, bound: 'most' },
    ],
    chart: {
      label: 'warm build, s',
      bars: [
        { name: 'ours (bake prod)', value: m(ours.warm) },
        { name: 'naive Dockerfile', value: m(naive.warm) },
      ],
    },
  }
}

/** G1: image sizes against the Bun executable that every Bun image must carry. */
export async function measureImages(): Promise<Figure> {
  const size = async (image: string) => (await inspect('image', image)).Size / MB
  const bunBytes = Number(await bunInImage(images.prod, "console.log(Bun.file('/usr/local/bin/bun').size)"))
  const floor = bunBytes / MB
  const rows: [string, number][] = [
    ['bun executable (floor)', floor],
    ['ours: prod (bundle on distroless)', await size(images.prod)],
    ['naive Dockerfile', await size(images.naive)],
    ['FastAPI + SQLAlchemy + uvicorn', await size(images.fastapi)],
  ]
  const ours = rows[1]?.[1] as number
  return {
    id: 'G1',
    title: 'image size',
    method:
      '`docker image inspect` size (MB = 10^6 bytes, as `docker images` shows), against the size of ' +
      "`/usr/local/bin/bun` in the prod image. The FastAPI image is `debian:bookworm-slim` with Debian's " +
      'python3-fastapi, -uvicorn (+ uvloop, httptools), -sqlalchemy and -psycopg2, standing in for pip on ' +
      '`python:3-slim`. All bases are the local base images, whose sizes differ a little from upstream.',
    columns: ['image', 'MB', '× bun executable'],
    rows: rows.map(([name, mb]) => [name, round(mb, 1), round(mb / floor, 2)]),
    goals: [{ label: 'prod image', value: round(ours, 1), unit: 'MB', limit: 125, bound: 'most' }],
    chart: {
      label: 'MB',
      bars: [...rows.slice(1), rows[0] as [string, number]].map(([name, mb]) => ({
        name,
        value: round(mb, 1),
      })),
    },
  }
}

/** Starts `start`, polls `url` every 5 ms until it answers 200; seconds from spawn to that answer. */
async function timeToListen(start: () => Promise<Server>): Promise<number> {
  const started = performance.now()
  const server = await start()
  const elapsed = (performance.now() - started) / 1000
  await server.stop()
  return elapsed
}

/** G4: container start → healthy (Docker's own HEALTHCHECK) and process spawn → first 200 from /health/live. */
export async function measureStartup(bundleDir: string, db: Database, profile: Profile): Promise<Figure> {
  const ourEnv = { DATABASE_URL: db.url, HOST: '127.0.0.1', NODE_ENV: 'production' }
  const procOurs: number[] = []
  const procTwin: number[] = []
  const boxOurs: number[] = []
  const boxTwin: number[] = []
  const containerToHealthy = async (image: string, env: Record<string, string>) => {
    const port = freePort()
    const id = await runOnHost({ ...env, PORT: String(port) }, [image])
    try {
      for (const deadline = performance.now() + 60_000; performance.now() < deadline; await Bun.sleep(100)) {
        const { State } = await inspect('container', id)
        const pass = State.Health?.Log?.find((entry) => entry.ExitCode === 0)
        if (pass) return (Date.parse(pass.End) - Date.parse(State.StartedAt)) / 1000
      }
      throw new Error(`expected ${image} to turn healthy within 60 s`)
    } finally {
      await run(['docker', 'rm', '-f', id])
    }
  }
  for (let r = 0; r < profile.startRounds; r++) {
    const ourPort = freePort()
    procOurs.push(
      await timeToListen(() =>
        startProcess('ours', ['bun', '--no-install', 'index.js'], {
          port: ourPort,
          env: ourEnv,
          cwd: bundleDir,
          ready: '/health/live',
          pollMs: 5,
        }),
      ),
    )
    procTwin.push(
      await timeToListen(() =>
        startProcess('twin', ['bun', join(root, 'bench/peers/bun-serve.ts')], {
          port: freePort(),
          ready: '/health/live',
          pollMs: 5,
        }),
      ),
    )
    boxOurs.push(await containerToHealthy(images.prod, ourEnv))
    boxTwin.push(await containerToHealthy(images.twin, {}))
  }
  const ms = (list: number[]) => round(median(list) * 1000, 0)
  return {
    id: 'G4',
    title: 'startup',
    method:
      `Median of ${profile.startRounds} interleaved rounds. Process: spawn of \`bun --no-install index.js\` (the ` +
      'bundle copied out of the prod image, database configured) until `/health/live` first answers 200, polled ' +
      'every 5 ms; the floor is the raw `Bun.serve` twin. ' +
      'Container: `State.StartedAt` to the end of the first passing HEALTHCHECK (probed every 0.5 s from start, ' +
      'so 0.5 s is the resolution; ours asks /health/ready until it first passes), against the twin on the same ' +
      'distroless base with the same HEALTHCHECK timings, probing /health/live.',
    columns: ['measure', 'ours (ms)', 'twin (ms)', 'ours / twin'],
    rows: [
      ['process start → listening', ms(procOurs), ms(procTwin), round(pairedRatio(procOurs, procTwin), 2)],
      ['container start → healthy', ms(boxOurs), ms(boxTwin), round(pairedRatio(boxOurs, boxTwin), 2)],
    ],
    goals: [
      { label: 'container start → healthy', value: ms(boxOurs), unit: 'ms', limit: 1000, bound: 'most' },
      { label: 'process start → listening', value: ms(procOurs), unit: 'ms', limit: 200, bound: 'most' },
    ],
  }
}

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

/** G6: save a file → the compose dev stack serves the new response, against `bun --watch` on a bare server. */
export async function measureDevLoop(dir: string, profile: Profile): Promise<Figure> {
  const project = projectName('bench')
  const apiPort = freePort()
  const env = { API_PORT: String(apiPort), IMAGE: 'bakehouse-bench' }
  const compose = (args: string[]) => must(['docker', 'compose', '-p', project, ...args], { cwd: dir, env })
  const floorDir = mkdtempSync(join(tmpdir(), 'bakehouse-bench-watch-'))
  const floorFile = join(floorDir, 'server.ts')
  const writeFloor = (marker: string) =>
    writeFileSync(
      floorFile,
      `Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), routes: { '/health/live': () => Response.json({ status: 'ok', release: '${marker}' }) } })\n`,
    )
  const ours: number[] = []
  const floor: number[] = []
  const waitFor = async (url: string, marker: string) => {
    const start = performance.now()
    for (;;) {
      try {
        const body = (await (await fetch(url)).json()) as { release?: string }
        if (body.release === marker) return (performance.now() - start) / 1000
      } catch {
        // Restarting: the old process is gone and the new one is not listening yet.
      }
      if (performance.now() - start > 30_000)
        throw new Error(`expected release ${marker} from ${url} within 30 s`)
      await Bun.sleep(10)
    }
  }
  writeFloor('start')
  const floorPort = freePort()
  const floorServer = await startProcess('bun --watch', ['bun', '--watch', floorFile], {
    port: floorPort,
    ready: '/health/live',
  })
  try {
    await compose(['up', '-d', '--build', '--wait', '--wait-timeout', '300'])
    const api = `http://127.0.0.1:${apiPort}/health/live`
    await until200(api, 60, 100)
    for (let r = 0; r < profile.devRounds; r++) {
      const marker = `bench-dev-${r}`
      const restore = editLiveRoute(dir, marker)
      try {
        ours.push(await waitFor(api, marker))
      } finally {
        restore()
      }
      await waitFor(api, 'unknown')
      writeFloor(marker)
      floor.push(await waitFor(`${floorServer.base}/health/live`, marker))
    }
  } finally {
    await floorServer.stop()
    await run(['docker', 'compose', '-p', project, 'down', '-v', '--remove-orphans'], { cwd: dir, env })
    rmSync(floorDir, { recursive: true, force: true })
  }
  const ms = (list: number[]) => round(median(list) * 1000, 0)
  return {
    id: 'G6',
    title: 'dev loop',
    method:
      `\`docker compose up\` of compose.yaml (the dev stack, src/ bind-mounted, \`bun --watch\`), then ${profile.devRounds} ` +
      'rounds of: write `src/modules/health/index.ts` with a new release marker, poll `/health/live` every 10 ms until ' +
      'it reports the marker. The floor is `bun --watch` of a one-route `Bun.serve` file on the host.',
    columns: ['stack', 'save → new response (ms)', 'ours / floor'],
    rows: [
      ['ours: compose dev stack', ms(ours), round(pairedRatio(ours, floor), 2)],
      ['bun --watch, bare Bun.serve', ms(floor), 1],
    ],
    goals: [{ label: 'save → new response', value: ms(ours), unit: 'ms', limit: 300, bound: 'most' }],
  }
}
