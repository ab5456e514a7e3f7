import type { Server } from './procs'
import { rssMb } from './procs'
import type { Profile } from './profile'
import { firstLine } from './report'
import { cell, median, pairedRatio, rotate, round } from './stats'
import { wrk } from './wrk'

export interface Contender {
  name: string
  start: () => Promise<Server>
}

export interface Measured {
  name: string
  rps: number[]
  p99: number[]
  idleMb: number
  loadedMb: number
  /** Why this contender has no figures: it did not start, or a wrk run failed or hung. The others go on. */
  failure?: string
}

export type Target = (server: Server) => { url: string; script?: string; args?: string[] }

/**
 * Warm-up, then `profile.rounds` interleaved wrk runs per contender, all started together and left running.
 * A contender that fails to start or to answer is marked failed, stopped, and left out of later rounds.
 */
export async function loadRounds(
  contenders: Contender[],
  target: Target,
  profile: Profile,
): Promise<Measured[]> {
  const servers: (Server | undefined)[] = []
  const measured: Measured[] = contenders.map(({ name }) => ({
    name,
    rps: [],
    p99: [],
    idleMb: Number.NaN,
    loadedMb: Number.NaN,
  }))
  const fail = async (i: number, stage: string, error: unknown) => {
    console.error(`${contenders[i]?.name} failed (${stage}); the run goes on without it:\n${error}`)
    ;(measured[i] as Measured).failure = `${stage}: ${firstLine(error)}`
    await servers[i]?.stop()
    servers[i] = undefined
  }
  const runWrk = (server: Server, seconds: number) =>
    wrk(target(server).url, { ...target(server), seconds, connections: profile.connections })
  try {
    for (const [i, contender] of contenders.entries()) {
      try {
        servers[i] = await contender.start()
      } catch (error) {
        await fail(i, 'start', error)
      }
    }
    await Bun.sleep(1000)
    servers.forEach((server, i) => {
      if (server) (measured[i] as Measured).idleMb = rssMb(server.pid)
    })
    for (const [i, server] of servers.entries()) {
      if (!server) continue
      try {
        await runWrk(server, profile.warmupSeconds)
      } catch (error) {
        await fail(i, 'warm-up', error)
      }
    }
    for (let r = 0; r < profile.rounds; r++) {
      for (const i of rotate([...servers.keys()], r)) {
        const server = servers[i]
        if (!server) continue
        try {
          const load = await runWrk(server, profile.seconds)
          measured[i]?.rps.push(load.rps)
          measured[i]?.p99.push(load.p99Ms)
        } catch (error) {
          await fail(i, `round ${r + 1}`, error)
        }
      }
    }
    servers.forEach((server, i) => {
      if (server) (measured[i] as Measured).loadedMb = rssMb(server.pid)
    })
    return measured
  } finally {
    for (const server of servers) await server?.stop()
  }
}

/** Median of the per-round ratios a/b; NaN when either side failed, so a goal against it reads "failed". */
export const ratioOf = (a: Measured, b: Measured) =>
  a.failure || b.failure ? Number.NaN : pairedRatio(a.rps, b.rps)

/** Rows of req/s, p99 and ours / this, ours first; a failed contender's row says so instead of numbers. */
export const loadTable = (measured: Measured[]) => {
  const base = measured[0] as Measured
  return measured.map((m) =>
    m.failure
      ? [m.name, 'failed', 'failed', 'failed']
      : [m.name, round(median(m.rps), 0), round(median(m.p99), 2), cell(ratioOf(base, m), 2)],
  )
}

/** One line per failed contender, for the figure's notes. */
export const failuresOf = (measured: Measured[]) =>
  measured.flatMap((m) => (m.failure ? [`${m.name}: ${m.failure}`] : []))

/** Chart bars of the contenders that produced a figure. */
export const barsOf = (measured: Measured[], value: (m: Measured) => number, digits = 0) =>
  measured
    .filter((m) => !m.failure)
    .map((m) => ({ name: m.name.replace(/ \(prod bundle\)/, ''), value: round(value(m), digits) }))
