import { must } from '../../test/containers/docker'

export interface Load {
  rps: number
  p99Ms: number
  requests: number
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

/** One wrk run in its own process (one thread, so the server keeps the other core); fails on any error response. */
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
  const out = await must(cmd)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)$/m.exec(out)
  const total = /(\d+) requests in/.exec(out)
  if (!rps || !p99 || !total) throw new Error(`expected wrk's summary with --latency, got:\n${out}`)
  const failures = [/Non-2xx or 3xx responses: (\d+)/.exec(out), /Socket errors: (.+)/.exec(out)].filter(
    Boolean,
  )
  if (failures.length > 0) throw new Error(`expected only 2xx answers from ${url}, got:\n${out}`)
  return {
    rps: Number(rps[1]),
    p99Ms: Number(p99[1]) * (UNIT_MS[p99[2] as string] as number),
    requests: Number(total[1]),
  }
}
