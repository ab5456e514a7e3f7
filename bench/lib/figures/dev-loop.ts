import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { must, projectName, run } from '../../../test/containers/docker'
import { freePort, startProcess, until200 } from '../procs'
import type { Profile } from '../profile'
import type { Figure } from '../report'
import { editLiveRoute } from '../stack'
import { median, pairedRatio, round } from '../stats'

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
