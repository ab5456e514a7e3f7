import { join } from 'node:path'
import { must, root } from '../../test/containers/docker'
import { freePort, realNode, startContainer, startProcess } from './procs'
import type { Contender } from './rounds'
import { type Database, images } from './stack'

const peers = join(root, 'bench/peers')

/** Every server runs as production does; Bun.serve and Express both change behaviour in development. */
const production = { NODE_ENV: 'production' }

/** The prod bundle, as the image runs it; `name` tells the database figure from the HTTP one. */
export const ours = (name: string, bundleDir: string, db: Database): Contender => ({
  name,
  start: () =>
    startProcess(name, ['bun', '--no-install', 'index.js'], {
      port: freePort(),
      env: {
        ...production,
        DATABASE_URL: db.url,
        DATABASE_POOL_MAX: '10',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      cwd: bundleDir,
      ready: '/health/ready',
    }),
})

/**
 * A peer with its own package.json and bun.lock under bench/peers/<dir>, so its framework and ORM never enter the
 * template's dependencies: installed from its lockfile (and built, if it has a build script) when it starts.
 */
async function installPeer(dir: string, build: boolean): Promise<void> {
  await must(['bun', 'install', '--frozen-lockfile', '--silent'], { cwd: dir })
  if (build) await must(['bun', 'run', 'build'], { cwd: dir })
}

/** The contenders of G3 and G7: GET /notes/:id on the same database and pool size, ours first. */
export function databaseContenders(bundleDir: string, db: Database): Contender[] {
  const env = { ...production, DATABASE_URL: db.url, DATABASE_POOL_MAX: '10' }
  const ready = `/notes/${db.ids[0]}`
  const peer = (name: string, cmd: () => Promise<string[]>, cwd = root): Contender => ({
    name,
    start: async () => startProcess(name, await cmd(), { port: freePort(), env, cwd, ready }),
  })
  const hono = join(peers, 'hono-drizzle')
  const nest = join(peers, 'nest-typeorm')
  return [
    ours('ours: Elysia + MikroORM (prod bundle)', bundleDir, db),
    peer('Elysia + pg', async () => ['bun', join(peers, 'elysia-pg.ts')]),
    peer(
      'Hono + Drizzle',
      async () => {
        await installPeer(hono, false)
        return ['bun', 'src/index.ts']
      },
      hono,
    ),
    peer(
      'NestJS + TypeORM on Node',
      async () => {
        await installPeer(nest, true)
        return [await realNode(), 'dist/main.js']
      },
      nest,
    ),
    peer('Bun.serve + Bun.sql', async () => ['bun', join(peers, 'bun-sql.ts')]),
    {
      name: 'FastAPI + SQLAlchemy + uvicorn',
      start: () => {
        const port = freePort()
        return startContainer('FastAPI + SQLAlchemy + uvicorn', images.fastapi, {
          port,
          env,
          args: ['python3', '-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)],
          ready,
        })
      },
    },
  ]
}

/** The contenders of G2: GET /health/live, no database on the request path, ours first. */
export function httpContenders(bundleDir: string, db: Database): Contender[] {
  const plain = (name: string, cmd: () => Promise<string[]>): Contender => ({
    name,
    start: async () =>
      startProcess(name, await cmd(), { port: freePort(), env: production, ready: '/health/live' }),
  })
  return [
    ours('ours: Elysia (prod bundle)', bundleDir, db),
    plain('raw Bun.serve twin', async () => ['bun', join(peers, 'bun-serve.ts')]),
    plain('Fastify on Node', async () => [await realNode(), join(peers, 'fastify.mjs')]),
  ]
}
