import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { must, run } from '../../test/containers/docker'

/** A port nobody listens on right now, picked by the kernel. */
export function freePort(): number {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const { port } = probe
  probe.stop(true)
  return port as number
}

/** Resolves once `url` answers 200, polling every `everyMs`; throws with the last failure after `seconds`. */
export async function until200(url: string, seconds = 60, everyMs = 5): Promise<void> {
  const deadline = performance.now() + seconds * 1000
  let last = 'no answer yet'
  for (;;) {
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.ok) return
      last = `status ${response.status}`
    } catch (error) {
      last = (error as Error).message
    }
    if (performance.now() > deadline)
      throw new Error(`expected 200 from ${url} within ${seconds} s, got ${last}`)
    await Bun.sleep(everyMs)
  }
}

/** Resident set size of a process, in MB (10^6 bytes), from /proc. */
export function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`expected VmRSS in /proc/${pid}/status, got none`)
  return (Number(match[1]) * 1024) / 1e6
}

/** A server under test: where it answers, which pid to measure, how to stop it. */
export interface Server {
  name: string
  base: string
  pid: number
  stop(): Promise<void>
}

/** Starts a host process whose stdout (one access-log line per request) goes to /dev/null, as for every contender. */
export async function startProcess(
  name: string,
  cmd: string[],
  {
    port,
    env = {},
    cwd,
    ready = '/',
    pollMs = 50,
  }: { port: number; env?: Record<string, string>; cwd?: string; ready?: string; pollMs?: number },
): Promise<Server> {
  const proc: Subprocess = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, ...env, PORT: String(port) },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  })
  const base = `http://127.0.0.1:${port}`
  try {
    await Promise.race([
      until200(`${base}${ready}`, 60, pollMs),
      proc.exited.then(async (code) => {
        const stderr = await new Response(proc.stderr as ReadableStream).text()
        throw new Error(`expected ${name} (${cmd.join(' ')}) to keep running, it exited ${code}:\n${stderr}`)
      }),
    ])
  } catch (error) {
    proc.kill('SIGKILL')
    throw error
  }
  return {
    name,
    base,
    pid: proc.pid,
    stop: async () => {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await proc.exited
      clearTimeout(timer)
    },
  }
}

/**
 * `docker run -d` on the host network (no NAT or proxy in the path) without a log driver, like the processes;
 * `env` becomes `-e` flags. Returns the container id.
 */
export async function runOnHost(env: Record<string, string>, args: string[]): Promise<string> {
  const envFlags = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`])
  return (
    await must(['docker', 'run', '-d', '--network', 'host', '--log-driver', 'none', ...envFlags, ...args])
  ).trim()
}

/** Starts a container with `runOnHost` and waits until `ready` answers 200. */
export async function startContainer(
  name: string,
  image: string,
  {
    port,
    env = {},
    args = [],
    ready = '/',
  }: { port: number; env?: Record<string, string>; args?: string[]; ready?: string },
): Promise<Server> {
  const id = await runOnHost({ ...env, PORT: String(port) }, [image, ...args])
  const stop = async () => void (await run(['docker', 'rm', '-f', id]))
  const base = `http://127.0.0.1:${port}`
  try {
    await until200(`${base}${ready}`, 60, 50)
  } catch (error) {
    const state = await run(['docker', 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])
    await stop()
    throw new Error(`${name}: ${(error as Error).message} (container ${state.stdout.trim()})`)
  }
  const pid = Number((await must(['docker', 'inspect', '-f', '{{.State.Pid}}', id])).trim())
  return { name, base, pid, stop }
}

/**
 * The real Node.js executable: `bun run` puts a `node` that is Bun itself first on PATH, which would quietly turn
 * "Fastify on Node" into Fastify on Bun.
 */
export async function realNode(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'node')
    if (!existsSync(candidate)) continue
    const probe = Bun.spawnSync([candidate, '-p', 'process.versions.bun ? "" : process.version'])
    const version = probe.stdout.toString().trim()
    if (probe.exitCode === 0 && version.startsWith('v')) return candidate
  }
  throw new Error(
    "expected Node.js on PATH (not Bun's `node` shim); install it, e.g. apt-get install -y nodejs",
  )
}
