// The default action, deploying the current commit as a new release: its plan, and its steps in order.
import { backup, swarmBackup } from './backup.mjs'
import { cutover } from './cutover.mjs'
import { abort, done } from './finish.mjs'
import { prune, record } from './history.mjs'
import { migrate, swarmMigrate } from './migrate.mjs'
import { info } from './output.mjs'
import { preflight } from './preflight.mjs'
import { bake, ship, upload } from './ship.mjs'
import { swarmDeploy, swarmRollback } from './swarm.mjs'
import { verify, verifyPlan } from './verify.mjs'

/** Step name → what it will do; the steps `deployRelease` announces, in order. */
export function releasePlan({ settings, args }, release) {
  const pull = args?.pull ? '--pull ' : ''
  const { host, dir, mode } = settings
  return {
    preflight: `git tree, ssh ${host}, docker and compose, disk, ${mode} mode`,
    lock: `${dir}/deploy.lock`,
    bake: `docker buildx bake ${pull}${settings.registry ? 'release --push (prod on the docker driver)' : 'prod'} → ${release.image}; edge, tagged by content`,
    ship: settings.registry
      ? `push ${release.image} and the edge, pull both on the server`
      : 'docker save | gzip | ssh … docker load, each image the server lacks',
    upload: `compose.prod.yaml → ${dir}/releases/${release.id}/`,
    backup: `${pull && mode === 'compose' ? 'compose pull db, then ' : ''}pg_dump --format=custom → ${dir}/backups/, keep ${settings.keepBackups}`,
    migrate: `${release.image} migrate.js, under the migrator's advisory lock`,
    ...(mode === 'swarm'
      ? {
          'rolling update': 'docker stack deploy: start-first, swarm rolls back a failing update',
          verify: verifyPlan(settings),
        }
      : {
          cutover: `new api beside the old, ready within ${settings.readyTimeout} s, switch the proxy, verify (${verifyPlan(settings)}), drain the old`,
        }),
    record: `${dir}/history.tsv, ${dir}/current`,
    prune: `keep ${settings.keepReleases} releases and their images`,
  }
}

export async function deployRelease(ctx, release, plan) {
  const { step } = ctx.steps
  const { platform } = await step('preflight', plan.preflight, () => preflight(ctx))
  await step('lock', plan.lock, () => ctx.lock.acquire(`deploy ${release.id}`))
  release.edgeImage = await step('bake', plan.bake, () => bake(ctx, release, platform))
  await step('ship', plan.ship, () => ship(ctx, release))
  await step('upload', plan.upload, () => upload(ctx, release))
  if (ctx.settings.mode === 'swarm') {
    await step('backup', plan.backup, () => swarmBackup(ctx, release))
    const migrated = await step('migrate', plan.migrate, async () => {
      const first = await swarmMigrate(ctx, release)
      if (!first.skipped) return first
      // First deploy: no database yet. The stack comes up without api tasks, then migrations run, so the api's
      // healthcheck (ready once, then live) can pass and the rolling update below can complete.
      info('first deploy: starting the stack without api tasks, then migrating')
      const stackError = await swarmDeploy(ctx, release, { replicas: 0 })
      return stackError ? { error: stackError } : swarmMigrate(ctx, release)
    })
    if (migrated.error) return abort(ctx, migrated.error, release)
    const updateError = await step('rolling update', plan['rolling update'], () => swarmDeploy(ctx, release))
    if (updateError) return abort(ctx, `${updateError}; the previous release keeps serving`, release)
    const verifyError = await step('verify', plan.verify, () => verify(ctx, release))
    if (verifyError) {
      await swarmRollback(ctx)
      return abort(ctx, `${verifyError}; asked swarm to roll the api back to the previous release`, release)
    }
  } else {
    await step('backup', plan.backup, () => backup(ctx, release))
    const migrateError = await step('migrate', plan.migrate, () => migrate(ctx, release))
    if (migrateError) return abort(ctx, migrateError, release)
    const cutoverError = await step('cutover', plan.cutover, () => cutover(ctx, release))
    if (cutoverError) return abort(ctx, cutoverError, release)
  }
  await step('record', plan.record, () => record(ctx, 'deploy', release))
  await step('prune', plan.prune, () => prune(ctx))
  await done(ctx, `deployed ${release.id}`)
}
