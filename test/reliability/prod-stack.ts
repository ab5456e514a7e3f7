import { readFileSync } from 'node:fs'
import { must, prodStack } from '../containers/docker'

// The hardened prod stack from compose.prod.yaml, on loopback, and the probes its checks read it with.
export const { project, passwordFile, port, base, env, composeArgs, compose, containerOf, remove } =
  await prodStack('reliability')

/** `docker inspect` of a container, with the fields these checks read. */
export interface Container {
  Id: string
  RestartCount: number
  Config: { User: string; Healthcheck?: { Test: string[] } }
  State: { Running: boolean; ExitCode: number; Pid: number; Health?: { Status: string } }
  HostConfig: {
    Privileged: boolean
    ReadonlyRootfs: boolean
    CapAdd: string[] | null
    CapDrop: string[] | null
    SecurityOpt: string[] | null
    Memory: number
    NanoCpus: number
    PidsLimit: number | null
    RestartPolicy: { Name: string }
    LogConfig: { Type: string; Config: Record<string, string> }
    NetworkMode: string
    PidMode: string
    IpcMode: string
    Binds: string[] | null
  }
  Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[]
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>
    Networks: Record<string, unknown>
  }
}
export async function container(service: string): Promise<Container> {
  const [info] = JSON.parse(await must(['docker', 'inspect', await containerOf(service)])) as Container[]
  if (!info) throw new Error(`expected a ${service} container in ${project}`)
  return info
}

/** Host pids of every process in a service's container, with their parent pids and command lines. */
export async function processes(service: string): Promise<{ pid: number; ppid: number; args: string }[]> {
  const out = await must(['docker', 'top', await containerOf(service), '-o', 'pid,ppid,args'])
  return out
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((match) => match !== null)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args ?? '' }))
}

/**
 * The service's main process: the child of the container's init (tini) running the server, never a healthcheck
 * or `docker exec` process, which run beside it as children of the container runtime.
 */
export async function mainProcess(service: 'api' | 'db'): Promise<{ pid: number; args: string }> {
  const init = (await container(service)).State.Pid
  const server = service === 'api' ? /\bbun\b.*\bindex\.js\b/ : /(^|\/)postgres(\s|$)/
  const procs = await processes(service)
  const main = procs.filter((p) => p.ppid === init && server.test(p.args))
  if (main.length !== 1 || !main[0]) {
    throw new Error(
      `expected exactly one ${service} server process under init (pid ${init}), got ${JSON.stringify(procs)}`,
    )
  }
  return main[0]
}

/** A field of /proc/<pid>/status on the host, e.g. CapEff or NoNewPrivs. */
export const procStatus = (pid: number, field: string) =>
  readFileSync(`/proc/${pid}/status`, 'utf8')
    .match(new RegExp(`^${field}:\\s*(.+)$`, 'm'))?.[1]
    ?.trim()

export const psql = (query: string) =>
  compose('exec', '-T', 'db', 'psql', '--username=bakehouse', '--dbname=bakehouse', '-At', '-c', query)

export const status = (path: string, timeoutMs = 2_500) =>
  fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (r) => r.status,
    () => 0,
  )

export async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > seconds * 1000) throw new Error(`expected ${what} within ${seconds} s`)
    await Bun.sleep(100)
  }
  return performance.now() - start
}
