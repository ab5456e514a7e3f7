import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { must, run } from '../containers/docker'
import { freePort } from '../ports'

/** A throwaway SSH server on 127.0.0.1 whose root login reaches this machine's Docker engine: the deploy target. */
export interface SshServer {
  /** The Host alias in `sshConfig`, for DEPLOY_HOST. */
  host: string
  sshConfig: string
  stop(): Promise<void>
}

const SSHD = '/usr/sbin/sshd'

/** Installs sshd and the client from Debian when missing (CI runs as root on a fresh machine). */
export async function ensureOpenSsh(): Promise<void> {
  const haveClient = (await run(['sh', '-c', 'command -v ssh ssh-keygen'])).code === 0
  if (existsSync(SSHD) && haveClient) return
  if (process.getuid?.() !== 0) {
    throw new Error(
      `expected ${SSHD} and ssh, got neither; install openssh-server and openssh-client (as root)`,
    )
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  await must(['apt-get', 'update', '-qq'], { env })
  // No service is started: policy-rc.d or the lack of an init system keeps it off; the test runs its own.
  await must(
    ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'openssh-server', 'openssh-client'],
    {
      env,
    },
  )
}

/** sshd settings every test server shares: root by key only, and room for many parallel sessions. */
export const SSHD_POLICY = [
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'PermitRootLogin prohibit-password',
  'UsePAM no',
  // Keys live in a temp dir or a bind mount, not in a home directory with its usual modes.
  'StrictModes no',
  // Parallel deploys and probes open many sessions at once.
  'MaxSessions 50',
  'MaxStartups 50:30:100',
]

/** Starts sshd with its own config, host key and client key, all in a temp dir; nothing of the machine's is touched. */
export async function startSshServer(): Promise<SshServer> {
  await ensureOpenSsh()
  // sshd's compiled-in privilege separation directory; the package's init script normally creates it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-sshd-'))
  chmodSync(dir, 0o700)
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')])
  const port = await freePort()
  const hostKey = (await Bun.file(join(dir, 'host_key.pub')).text()).trim()
  writeFileSync(join(dir, 'authorized_keys'), await Bun.file(join(dir, 'client_key.pub')).text(), {
    mode: 0o600,
  })
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`)
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      ...SSHD_POLICY,
      '',
    ].join('\n'),
  )
  const host = 'bakehouse-test-server'
  const sshConfig = join(dir, 'ssh_config')
  writeFileSync(
    sshConfig,
    [
      `Host ${host}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User root',
      `  IdentityFile ${join(dir, 'client_key')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  )
  // -D: stays in the foreground, so this process owns it and can stop it by pid.
  const sshd = Bun.spawn([SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: Bun.file(join(dir, 'sshd.log')),
  })
  const deadline = performance.now() + 15_000
  for (;;) {
    const probe = await run([
      'ssh',
      '-F',
      sshConfig,
      '-o',
      'BatchMode=yes',
      host,
      'docker version --format ok',
    ])
    if (probe.code === 0 && probe.stdout.trim() === 'ok') break
    if (performance.now() > deadline) {
      sshd.kill()
      const log = await Bun.file(join(dir, 'sshd.log')).text()
      throw new Error(
        `expected ssh to 127.0.0.1:${port} to reach docker, got ${probe.stderr}\nsshd log:\n${log}`,
      )
    }
    await Bun.sleep(200)
  }
  return {
    host,
    sshConfig,
    async stop() {
      sshd.kill()
      await sshd.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
