import { run } from '../../test/containers/docker'

/** What one wrk run measured; `errors` counts every answer that was not 2xx/3xx and every socket error. */
export interface Load {
  rps: number
  p99Ms: number
  requests: number
  errors: WrkErrors
}

export interface WrkErrors {
  connect: number
  read: number
  write: number
  timeout: number
  /** "Non-2xx or 3xx responses". */
  status: number
}

// wrk's own units (stats.c): us, ms, s, m, h.
const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Reads wrk's `--latency` summary. Latencies may carry a trailing space (`99%    1.09s `), so no pattern is anchored
 * at a line's end; a summary without req/s, p99 or a request count is an error that quotes the output.
 */
export function parseWrk(out: string): Load {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m|h)\b/m.exec(out)
  const total = /^\s*(\d+) requests in /m.exec(out)
  if (!rps || !p99 || !total) throw new Error(`expected wrk's summary with --latency, got:\n${out}`)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  return {
    rps: Number(rps[1]),
    p99Ms: Number(p99[1]) * (UNIT_MS[p99[2] as string] as number),
    requests: Number(total[1]),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
      status: Number(status?.[1] ?? 0),
    },
  }
}

/** Every failed request of a run, for the "expected only 2xx" check. */
export const errorCount = ({ errors }: Load) =>
  errors.connect + errors.read + errors.write + errors.timeout + errors.status

/** Grace past the run's own duration before a wrk that does not come back is killed. */
const HANG_GRACE_SECONDS = 30

/**
 * One wrk run in its own process (one thread, so the server keeps the other core). Throws when wrk fails, hangs
 * past its duration, or any request failed: the caller marks the contender failed and the run goes on.
 */
export async function wrk(
  url: string,
  {
    seconds,
    connections,
    script,
    args = [],
  }: { seconds: number; connections: number; script?: string; args?: string[] },
): Promise<Load> {
  const cmd = ['wrk', '--latency', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s']
  if (script) cmd.push('-s', script)
  cmd.push(url)
  if (args.length > 0) cmd.push('--', ...args)
  // coreutils timeout: SIGKILL after the grace, exit 137, reported below like any failure.
  const result = await run(['timeout', '-s', 'KILL', String(seconds + HANG_GRACE_SECONDS), ...cmd])
  if (result.code !== 0) {
    const why =
      result.code === 137
        ? `hung past ${seconds + HANG_GRACE_SECONDS} s and was killed`
        : `exited ${result.code}`
    throw new Error(`wrk on ${url} ${why}:\n${result.stderr}\n${result.stdout}`)
  }
  const load = parseWrk(result.stdout)
  if (errorCount(load) > 0)
    throw new Error(
      `expected only 2xx answers from ${url}, got ${errorCount(load)} failures:\n${result.stdout}`,
    )
  return load
}
