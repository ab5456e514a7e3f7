// How a deploy or rollback ends: a success line with its timings, or a failure that leaves the old release serving.
import { chalk } from 'zx'
import { recordFailure } from './history.mjs'
import { fail } from './output.mjs'

/** Gives the lock back and closes the connection; every ending starts here. */
async function letGo({ lock, ssh }) {
  await lock.release()
  await ssh.close()
}

export async function done(ctx, message) {
  await letGo(ctx)
  console.log(
    chalk.green(`${message} to ${ctx.settings.host} in ${ctx.steps.elapsed()} s`) +
      chalk.dim(` (${JSON.stringify(ctx.steps.figures)})`),
  )
}

/** Before anything changed on the server: release the lock, exit non-zero. */
export async function abortNow(ctx, problem, todo) {
  await letGo(ctx)
  fail(problem, todo)
}

/** After shipping: the old release keeps serving; record the failure, release the lock, exit non-zero. */
export async function abort(ctx, problem, release) {
  await recordFailure(ctx, release)
  await letGo(ctx)
  console.error(chalk.dim(`timings (s): ${JSON.stringify(ctx.steps.figures)}`))
  fail(
    `${ctx.action} of ${release.id} stopped after ${ctx.steps.elapsed()} s: ${problem}`,
    'read the logs above, fix the release and deploy again; `--status` shows what is live, `--rollback` goes further back',
  )
}
