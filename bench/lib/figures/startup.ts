import { join } from 'node:path'
import { inspect, root, run } from '../../../test/containers/docker'
import { freePort, runOnHost, type Server, startProcess } from '../procs'
import type { Profile } from '../profile'
import type { Figure } from '../report'
import { type Database, images } from '../stack'
import { median, pairedRatio, round } from '../stats'

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
