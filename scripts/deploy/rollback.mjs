// The --rollback action: back to an earlier release still on the server, by the same zero-downtime switch.
import { cutover } from './cutover.mjs'
import { abort, abortNow, done } from './finish.mjs'
import { readState, record } from './history.mjs'
import { info } from './output.mjs'
import { preflight } from './preflight.mjs'
import { sq } from './ssh.mjs'
import { swarmDeploy } from './swarm.mjs'

/** Step name → what it will do; the steps `rollback` announces, in order. */
export function rollbackPlan({ settings, args }) {
  const { host, dir, mode } = settings
  return {
    preflight: `ssh ${host}, docker`,
    lock: `${dir}/deploy.lock`,
    choose: args.rollback || 'the release before the current one (history.tsv)',
    [mode === 'swarm' ? 'rolling update' : 'cutover']:
      'its image and compose file, gate, switch, drain (no migrations)',
    record: `${dir}/history.tsv`,
  }
}

/** The release to go back to: the one named, or the last one live before the current one. */
async function choose(ctx) {
  const { settings, args, ssh } = ctx
  const state = await readState(ctx)
  const deployed = state.history
    .filter((h) => h.action === 'deploy' || h.action === 'rollback')
    .map((h) => h.id)
  const target = args.rollback || [...deployed].reverse().find((id) => id !== state.current)
  if (!target)
    return abortNow(
      ctx,
      `no earlier release recorded in ${settings.dir}/history.tsv`,
      'name one: --rollback <sha>',
    )
  if (target === state.current)
    return abortNow(ctx, `${target} is already live`, '--status shows the history')
  const image = state.releases.get(target)
  if (!image)
    return abortNow(
      ctx,
      `release ${target} is not on the server (pruned or never deployed); kept: ${[...state.releases.keys()].join(', ')}`,
      `deploy that commit instead: git checkout ${target} && zx scripts/deploy.mjs`,
    )
  // Through a registry, an image pruned from the server (or never on this node) is pulled again.
  const pull = settings.registry ? `docker pull --quiet ${sq(image)} >/dev/null 2>&1 && echo pulled || ` : ''
  const present = await ssh.remote(
    `docker image inspect ${sq(image)} >/dev/null 2>&1 && echo yes || ${pull}echo no`,
  )
  if (present === 'no')
    return abortNow(
      ctx,
      `the image ${image} is gone from the server${settings.registry ? ` and from ${settings.registry}` : ''}`,
      `deploy that commit again: git checkout ${target} && zx scripts/deploy.mjs`,
    )
  if (present === 'pulled') info(`pulled ${image} from ${settings.registry}`)
  info(`${state.current || 'nothing'} → ${target} (${image}); migrations are not undone`)
  return { id: target, image }
}

export async function rollback(ctx) {
  const { settings, args } = ctx
  const { host, dir } = settings
  const { step } = ctx.steps
  await step('preflight', `ssh ${host}`, () => preflight(ctx))
  await step('lock', `${dir}/deploy.lock`, () =>
    ctx.lock.acquire(`rollback to ${args.rollback || 'previous'}`),
  )
  const release = await step('choose', args.rollback || 'previous release', () => choose(ctx))
  const error =
    settings.mode === 'swarm'
      ? await step('rolling update', 'docker stack deploy', () => swarmDeploy(ctx, release))
      : await step('cutover', `to ${release.id}`, () => cutover(ctx, release))
  if (error) return abort(ctx, error, release)
  await step('record', `${dir}/history.tsv`, () => record(ctx, 'rollback', release))
  await done(ctx, `rolled back to ${release.id}`)
}
