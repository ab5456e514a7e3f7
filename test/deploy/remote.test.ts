import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import defaults from '../../deploy/config.mjs'
import { dumpAndPrune } from '../../scripts/deploy/backup.mjs'
import { readState, record } from '../../scripts/deploy/history.mjs'
import { swarmMigrate } from '../../scripts/deploy/migrate.mjs'
import { settingsFrom } from '../../scripts/deploy/settings.mjs'
import { upload } from '../../scripts/deploy/ship.mjs'
import { createSsh } from '../../scripts/deploy/ssh.mjs'
import { swarmDeploy } from '../../scripts/deploy/swarm.mjs'
import { root } from '../containers/docker'
import { type SshServer, startSshServer } from './server'

// The files the deploy writes on the server and the values it puts in remote scripts, against a real sshd and a
// scratch server directory. Nothing here needs Docker beyond a `docker service inspect` that finds nothing.

let server: SshServer
let ssh: ReturnType<typeof createSsh>
let settings: ReturnType<typeof settingsFrom>
const scratch = mkdtempSync('/tmp/bakehouse-remote-')
const dir = join(scratch, 'srv dir, with spaces')
// Hostile values as a local user name, a release and its images could carry: each would run `touch pwned-…` in
// the server directory if it reached a shell unquoted.
const who = `o'brien$(touch pwned-who)\`touch pwned-tick\`@host;touch pwned-semi`
const release = {
  id: `r1'$(touch pwned-rel)`,
  image: `bakehouse:r1'$(touch pwned-image)`,
  edgeImage: `bakehouse-edge:e1'"$(touch pwned-edge)"`,
}
const pwned = () => readdirSync(dir).filter((name) => name.startsWith('pwned'))
const mode = (path: string) => (statSync(join(dir, path)).mode & 0o777).toString(8).padStart(4, '0')

$.quiet = true

beforeAll(async () => {
  server = await startSshServer()
  settings = settingsFrom(defaults, {
    DEPLOY_HOST: server.host,
    DEPLOY_SSH_CONFIG: server.sshConfig,
    DEPLOY_DIR: dir,
    DEPLOY_PROJECT: `bkremote${process.pid}`,
    DEPLOY_MODE: 'swarm',
  })
  ssh = createSsh(settings)
  // A directory an older deploy left readable to others: the upload makes it private.
  mkdirSync(join(dir, 'releases/old'), { recursive: true, mode: 0o755 })
  writeFileSync(join(dir, 'releases/old/image'), 'bakehouse:old\n', { mode: 0o644 })
  const steps = { elapsed: () => '1.0' }
  await upload({ settings, root, ssh }, release)
  await record({ settings, ssh, who, steps }, 'deploy', release)
})

afterAll(async () => {
  await ssh?.close()
  await server?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

describe('files the deploy writes on the server', () => {
  it('are private to the deploy user (umask 077), except what a container uid reads through a bind mount', () => {
    const releaseDir = join('releases', release.id)
    expect({
      '.': mode('.'),
      releases: mode('releases'),
      'releases/old/image': mode('releases/old/image'),
      [releaseDir]: mode(releaseDir),
      [`${releaseDir}/compose.prod.yaml`]: mode(`${releaseDir}/compose.prod.yaml`),
      [`${releaseDir}/stack.yaml`]: mode(`${releaseDir}/stack.yaml`),
      [`${releaseDir}/image`]: mode(`${releaseDir}/image`),
      'edge-image': mode('edge-image'),
      '.env': mode('.env'),
      backups: mode('backups'),
      'history.tsv': mode('history.tsv'),
      current: mode('current'),
      secrets: mode('secrets'),
      // Read by postgres (uid 999) and the api (uid 65532); the 0700 directory above keeps everyone else out.
      'secrets/db_password': mode('secrets/db_password'),
      // Read by the edge (uid 101).
      'deploy/upstream': mode('deploy/upstream'),
      'deploy/upstream/live': mode('deploy/upstream/live'),
      // Run by postgres (uid 999) as the db's init script: executable, or the image would source it.
      'deploy/db': mode('deploy/db'),
      'deploy/db/roles.sh': mode('deploy/db/roles.sh'),
      [`${releaseDir}/deploy/db/roles.sh`]: mode(`${releaseDir}/deploy/db/roles.sh`),
    }).toEqual({
      '.': '0700',
      releases: '0700',
      'releases/old/image': '0600',
      [releaseDir]: '0700',
      [`${releaseDir}/compose.prod.yaml`]: '0600',
      [`${releaseDir}/stack.yaml`]: '0600',
      [`${releaseDir}/image`]: '0600',
      'edge-image': '0600',
      '.env': '0600',
      backups: '0700',
      'history.tsv': '0600',
      current: '0600',
      secrets: '0700',
      'secrets/db_password': '0644',
      'deploy/upstream': '0755',
      'deploy/upstream/live': '0644',
      'deploy/db': '0755',
      'deploy/db/roles.sh': '0755',
      [`${releaseDir}/deploy/db/roles.sh`]: '0600',
    })
  })
})

describe('backups', () => {
  it('a dump that fails leaves no partial file, and one a killed deploy left behind is removed', async () => {
    mkdirSync(join(dir, 'backups'), { recursive: true })
    writeFileSync(join(dir, 'backups/20260101T000000Z-old.dump.part'), 'left by a killed deploy')
    // A database that answers half a dump, then fails.
    const failed = await ssh
      .remote(`half_dump() { printf 'PGDMP partial'; return 1; }\n${dumpAndPrune('half_dump', 3)}`, {
        release,
      })
      .then(
        () => false,
        () => true,
      )
    expect(failed).toBe(true)
    expect(readdirSync(join(dir, 'backups'))).toEqual([])
    expect(mode('backups')).toBe('0700')
  })
})

describe('values in remote scripts', () => {
  it('hostile user, release and image strings land on the server as written and run nothing', async () => {
    expect(pwned()).toEqual([])
    expect(readFileSync(join(dir, 'current'), 'utf8')).toBe(`${release.id}\n`)
    expect(readFileSync(join(dir, 'releases', release.id, 'image'), 'utf8')).toBe(`${release.image}\n`)
    expect(readFileSync(join(dir, 'edge-image'), 'utf8')).toBe(`${release.edgeImage}\n`)
    const state = await readState({ ssh })
    expect(state.current).toBe(release.id)
    expect(state.history).toEqual([
      expect.objectContaining({ action: 'deploy', id: release.id, image: release.image, by: who }),
    ])
    expect(state.releases.get(release.id)).toBe(release.image)
    // The first deploy's .env names the secret under the directory as it is, spaces and all.
    expect(readFileSync(join(dir, '.env'), 'utf8')).toContain(
      `DATABASE_PASSWORD_FILE=${dir}/secrets/db_password\n`,
    )
  })
})

describe("the server's .env", () => {
  const hostile = [
    'SMTP_PASSWORD=pa ss;touch pwned-semicolon',
    'TOKEN=$(touch pwned-subst)',
    'OTHER=`touch pwned-backtick`',
    'touch pwned-bare',
    "QUOTED='single $(touch pwned-single)'",
    'export DOUBLE="double value"',
    '# COMMENTED=1',
    'BAD-KEY=1',
  ]

  it('is read as KEY=value data by the swarm scripts: nothing in it runs, values are taken literally', async () => {
    await Bun.write(join(dir, '.env'), `${readFileSync(join(dir, '.env'), 'utf8')}${hostile.join('\n')}\n`)
    // swarm migrate loads .env first, then finds no database service and stops there.
    expect(await swarmMigrate({ ssh }, release)).toEqual({ skipped: true })
    const values = await ssh.remote(
      `load_env; printf '%s|' "$SMTP_PASSWORD" "$TOKEN" "$OTHER" "$QUOTED" "$DOUBLE" "\${COMMENTED-unset}"`,
    )
    expect(values).toBe(
      'pa ss;touch pwned-semicolon|$(touch pwned-subst)|`touch pwned-backtick`|single $(touch pwned-single)|double value|unset|',
    )
    expect(pwned()).toEqual([])
  })

  it("cannot redirect the script's own variables: as with compose, what is already set wins", async () => {
    const env = readFileSync(join(dir, '.env'), 'utf8')
    await Bun.write(
      join(dir, '.env'),
      `${env}IMAGE=attacker/image:latest\nPROJECT=other\nDIR=/tmp\nFRESH=taken\n`,
    )
    const values = await ssh.remote(`load_env; printf '%s|' "$IMAGE" "$PROJECT" "$DIR" "$FRESH"`, { release })
    expect(values).toBe(`${release.image}|${settings.project}|${dir}|taken|`)
    await Bun.write(join(dir, '.env'), env)
  })

  it("gives swarm mode the server's own bind address, quoted or not, which it refuses when narrower", async () => {
    const env = readFileSync(join(dir, '.env'), 'utf8')
    await Bun.write(join(dir, '.env'), `${env}PROXY_BIND='127.0.0.1'\n`)
    // Refused before docker is asked anything.
    expect(await swarmDeploy({ settings, ssh }, release)).toContain(
      `PROXY_BIND=127.0.0.1 in ${dir}/.env: swarm publishes on every address`,
    )
    await Bun.write(join(dir, '.env'), env)
  })
})
