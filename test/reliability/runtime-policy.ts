import { must } from '../containers/docker'
import { type Container, container, passwordFile, port, processes, procStatus, project } from './prod-stack'

// The runtime rules every container of the hardened prod stack must keep, read from docker inspect and /proc.
export const services = ['api', 'db'] as const
const eachService = async (
  test: (c: Container, service: string) => string | undefined | Promise<string | undefined>,
) =>
  (await Promise.all(services.map(async (s) => test(await container(s), s)))).filter((v): v is string => !!v)

/** Declares each rule of the hardened runtime through `policy`: its name and what breaks it right now. */
export function runtimePolicy(policy: (check: string, violations: () => Promise<string[]>) => void): void {
  policy('not privileged, no host network, pid or ipc namespace', () =>
    eachService((c, s) =>
      c.HostConfig.Privileged ||
      ['host'].includes(c.HostConfig.NetworkMode) ||
      c.HostConfig.PidMode === 'host' ||
      c.HostConfig.IpcMode === 'host'
        ? `${s}: privileged or sharing a host namespace`
        : undefined,
    ),
  )
  policy('cap_drop ALL and nothing added', () =>
    eachService((c, s) =>
      JSON.stringify(c.HostConfig.CapDrop) === '["ALL"]' && (c.HostConfig.CapAdd ?? []).length === 0
        ? undefined
        : `${s}: CapDrop ${JSON.stringify(c.HostConfig.CapDrop)}, CapAdd ${JSON.stringify(c.HostConfig.CapAdd)}`,
    ),
  )
  policy('CapEff 0 in every process', async () =>
    (await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'CapEff') !== '0000000000000000')
          .map((p) => `${s}: ${p.args} has CapEff ${procStatus(p.pid, 'CapEff')}`),
    ),
  )
  policy('no-new-privileges set and in force in every process', async () => [
    ...(await eachService((c, s) =>
      c.HostConfig.SecurityOpt?.includes('no-new-privileges:true') ? undefined : `${s}: no security_opt`,
    )),
    ...(await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'NoNewPrivs') !== '1')
          .map((p) => `${s}: ${p.args} NoNewPrivs ${procStatus(p.pid, 'NoNewPrivs')}`),
    ),
  ])
  policy('read-only root filesystem', () =>
    eachService((c, s) => (c.HostConfig.ReadonlyRootfs ? undefined : `${s}: writable rootfs`)),
  )
  policy('memory limit', () =>
    eachService((c, s) => (c.HostConfig.Memory > 0 ? undefined : `${s}: no memory limit`)),
  )
  policy('pids limit', () =>
    eachService((c, s) => ((c.HostConfig.PidsLimit ?? 0) > 0 ? undefined : `${s}: no pids limit`)),
  )
  policy('cpu limit', () =>
    eachService((c, s) => (c.HostConfig.NanoCpus > 0 ? undefined : `${s}: no cpu limit`)),
  )
  policy('non-root: configured user and every process uid', async () => [
    ...(await eachService((c, s) =>
      /^[1-9]\d*(:\d+)?$/.test(c.Config.User) ? undefined : `${s}: user ${JSON.stringify(c.Config.User)}`,
    )),
    ...(await Promise.all(services.map(async (s) => ({ s, procs: await processes(s) })))).flatMap(
      ({ s, procs }) =>
        procs
          .filter((p) => procStatus(p.pid, 'Uid')?.split(/\s+/)[0] === '0')
          .map((p) => `${s}: ${p.args} runs as uid 0`),
    ),
  ])
  policy('restart policy unless-stopped', () =>
    eachService((c, s) =>
      c.HostConfig.RestartPolicy.Name === 'unless-stopped'
        ? undefined
        : `${s}: restart ${c.HostConfig.RestartPolicy.Name}`,
    ),
  )
  policy('healthcheck defined and healthy', () =>
    eachService((c, s) =>
      c.Config.Healthcheck?.Test?.length && c.State.Health?.Status === 'healthy'
        ? undefined
        : `${s}: health ${c.State.Health?.Status}`,
    ),
  )
  policy('log rotation (json-file with max-size and max-file)', () =>
    eachService((c, s) => {
      const { Type, Config } = c.HostConfig.LogConfig
      return Type === 'json-file' && Config['max-size'] && Config['max-file']
        ? undefined
        : `${s}: logging ${JSON.stringify(c.HostConfig.LogConfig)}`
    }),
  )
  policy("no Docker socket or host path mounted except the secret and the db's init script, read-only", () =>
    eachService((c, s) => {
      const initScript = (m: Container['Mounts'][number]) =>
        s === 'db' && m.Destination === '/docker-entrypoint-initdb.d/roles.sh' && !m.RW
      const binds = c.Mounts.filter((m) => m.Type === 'bind' && m.Source !== passwordFile && !initScript(m))
      return binds.length === 0 ? undefined : `${s}: binds ${binds.map((m) => m.Source).join(', ')}`
    }),
  )
  policy('database not published and only on the internal network', async () => {
    const db = await container('db')
    const violations: string[] = []
    const published = Object.values(db.NetworkSettings.Ports ?? {})
      .flat()
      .filter(Boolean)
    if (published.length > 0) violations.push(`db publishes ${JSON.stringify(published)}`)
    const networks = Object.keys(db.NetworkSettings.Networks)
    if (JSON.stringify(networks) !== JSON.stringify([`${project}_backend`]))
      violations.push(`db networks ${networks}`)
    const [backend] = JSON.parse(await must(['docker', 'network', 'inspect', `${project}_backend`])) as {
      Internal: boolean
    }[]
    if (!backend?.Internal) violations.push('backend network is not internal')
    return violations
  })
  policy('API bound as configured: 127.0.0.1 and API_PORT only', async () => {
    const api = await container('api')
    const bindings = Object.values(api.NetworkSettings.Ports ?? {})
      .flat()
      .filter(Boolean)
    return JSON.stringify(bindings) === JSON.stringify([{ HostIp: '127.0.0.1', HostPort: String(port) }])
      ? []
      : [`api publishes ${JSON.stringify(bindings)}`]
  })
}
