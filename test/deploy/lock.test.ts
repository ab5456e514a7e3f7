import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import defaults from '../../deploy/config.mjs'
import { createLock } from '../../scripts/deploy/lock.mjs'
import { settingsFrom } from '../../scripts/deploy/settings.mjs'
import { createSsh } from '../../scripts/deploy/ssh.mjs'
import { must, root } from '../containers/docker'
import { type SshServer, startSshServer } from './server'

// The deploy lock against a real sshd and a scratch server directory: deploys are played by lock instances.

let server: SshServer
const scratch = mkdtempSync('/tmp/bakehouse-lock-')
// A space in the path: every script must quote the directory.
const dir = join(scratch, 'server dir')
const lockDir = join(dir, 'deploy.lock')
const opened: { close(): Promise<void> }[] = []
const locks: { release(): Promise<void> }[] = []

/** One deploy: its own SSH connection and lock; `staleMinutes` is its stale window (and sets its refresh timer). */
function deployer(who: string, staleMinutes = 30) {
  const env = {
    DEPLOY_HOST: server.host,
    DEPLOY_SSH_CONFIG: server.sshConfig,
    DEPLOY_DIR: dir,
    DEPLOY_LOCK_STALE_MINUTES: String(staleMinutes),
  }
  const settings = settingsFrom(defaults, env)
  const ssh = createSsh(settings)
  const lock = createLock({ settings, ssh, who })
  opened.push(ssh)
  locks.push(lock)
  return lock
}

const token = () => readFileSync(join(lockDir, 'token'), 'utf8').trim()
const holder = () => readFileSync(join(lockDir, 'holder'), 'utf8').trim()

/** A lock (or marker) left by a deploy that died `ago` (e.g. "2 hours ago"). */
async function leftover(path: string, files: Record<string, string>, ago: string) {
  mkdirSync(path, { recursive: true })
  for (const [name, text] of Object.entries(files)) await Bun.write(join(path, name), `${text}\n`)
  await must(['touch', '-d', ago, path])
}

/** The rejection message of `promise`, or '' if it resolved. */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => '',
    (error: Error) => error.message,
  )

// The deploy script's setting: ssh's own chatter (closing the shared connection) stays out of the output.
$.quiet = true

beforeAll(async () => {
  server = await startSshServer()
})

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release()
  for (const ssh of opened.splice(0)) await ssh.close()
  rmSync(dir, { recursive: true, force: true })
})

afterAll(async () => {
  await server?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

describe('deploy lock', () => {
  it('takes over a lock its holder stopped refreshing, writing its own token and holder', async () => {
    await leftover(lockDir, { holder: 'dead@laptop pid 1, deploy abc', token: 'dead' }, '2 hours ago')
    const next = deployer("o'brien$(touch pwned)@laptop")
    await next.acquire('deploy def')
    expect(token()).toMatch(/^[0-9a-f]{32}$/)
    expect(holder()).toContain("o'brien$(touch pwned)@laptop pid")
    expect(existsSync(join(dir, 'pwned'))).toBe(false)
    expect(existsSync(join(dir, 'deploy.lock.takeover'))).toBe(false)
  })

  it('refuses another deploy while the owner is alive and refreshing, long past the stale window', async () => {
    // A 3 s stale window: the owner's timer refreshes every 0.75 s, so its lock never ages past it.
    const owner = deployer('owner@laptop', 0.05)
    await owner.acquire('deploy slow')
    const mine = token()
    await Bun.sleep(5000)
    const message = await rejection(deployer('second@laptop', 0.05).acquire('deploy other'))
    expect(message).toContain('another deploy holds the lock: owner@laptop pid')
    expect(token()).toBe(mine)
  })

  it('an owner that lost its lock to a successor never deletes the successor lock, and stops at its next step', async () => {
    const first = deployer('first@laptop')
    await first.acquire('deploy a')
    // The first deploy hung past the stale window; the second takes over.
    await must(['touch', '-d', '2 hours ago', lockDir])
    const second = deployer('second@laptop')
    await second.acquire('deploy b')
    const successor = token()
    await first.release()
    expect(token()).toBe(successor)
    // The same on process exit (the synchronous path), for a third taking over from the second.
    await must(['touch', '-d', '2 hours ago', lockDir])
    const third = deployer('third@laptop')
    await third.acquire('deploy c')
    const last = token()
    second.releaseSync()
    expect(token()).toBe(last)
    expect(holder()).toContain('third@laptop')
  })

  it('a deploy whose lock was taken over fails its next step, naming the new holder', async () => {
    const first = deployer('first@laptop')
    await first.acquire('deploy a')
    await must(['touch', '-d', '2 hours ago', lockDir])
    await deployer('second@laptop').acquire('deploy b')
    expect(await rejection(first.refresh())).toContain('taken over by another deploy (second@laptop pid')
  })

  it('a takeover marker left by a dead takeover is cleared; a fresh one refuses within bounded tries', async () => {
    await leftover(lockDir, { holder: 'dead@laptop pid 1, deploy abc', token: 'dead' }, '2 hours ago')
    await leftover(join(dir, 'deploy.lock.takeover'), { owner: 'dead-takeover' }, '10 minutes ago')
    const next = deployer('next@laptop')
    await next.acquire('deploy def')
    expect(holder()).toContain('next@laptop')
    expect(readdirSync(dir).filter((name) => name.startsWith('deploy.lock.'))).toEqual([])
    await next.release()

    // A takeover in progress (its marker seconds old): refused after a few tries, never an endless loop.
    await leftover(lockDir, { holder: 'dead@laptop pid 1, deploy abc', token: 'dead' }, '2 hours ago')
    await leftover(join(dir, 'deploy.lock.takeover'), { owner: 'live-takeover' }, '1 second ago')
    const started = performance.now()
    const message = await rejection(deployer('late@laptop').acquire('deploy ghi'))
    expect(message).toContain('another deploy is taking it over')
    expect(performance.now() - started).toBeLessThan(20_000)
    expect(holder()).toContain('dead@laptop')
  })

  it('--unlock removes the lock and every takeover artifact, naming the holder', async () => {
    await leftover(lockDir, { holder: 'someone@laptop pid 42, deploy abc', token: 'x' }, '1 minute ago')
    await leftover(join(dir, 'deploy.lock.takeover'), { owner: 'y' }, '1 minute ago')
    await leftover(join(dir, 'deploy.lock.reaped.z'), { owner: 'z' }, '1 minute ago')
    expect(await deployer('admin@laptop').remove()).toBe('someone@laptop pid 42, deploy abc')
    expect(readdirSync(dir).filter((name) => name.startsWith('deploy.lock'))).toEqual([])
  })

  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('%s releases the lock', async (signal) => {
    const holdLock = Bun.spawn(['bun', join(root, 'test/deploy/fixtures/hold-lock.mjs')], {
      env: {
        ...process.env,
        DEPLOY_HOST: server.host,
        DEPLOY_SSH_CONFIG: server.sshConfig,
        DEPLOY_DIR: dir,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const reader = holdLock.stdout.getReader()
    let out = ''
    while (!out.includes('held')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`expected "held", got ${out}${await new Response(holdLock.stderr).text()}`)
      out += new TextDecoder().decode(value)
    }
    expect(existsSync(lockDir)).toBe(true)
    holdLock.kill(signal)
    expect(await holdLock.exited).toBe({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 }[signal])
    expect(existsSync(lockDir)).toBe(false)
  })
})
