#!/usr/bin/env zx
// Deploys the prod image to a server over SSH: build, ship, back up, migrate, switch traffic without downtime, verify.
// Everything runs through `ssh` and `docker` on the server; secrets stay in the server's env file.
// This file is the command line; each step lives in scripts/deploy/.
import { $, chalk, os, path } from 'zx'
import { createLock, releaseOnSignals } from './deploy/lock.mjs'
import { createSteps, fail } from './deploy/output.mjs'
import { preflight } from './deploy/preflight.mjs'
import { deployRelease, releasePlan } from './deploy/release.mjs'
import { rollback, rollbackPlan } from './deploy/rollback.mjs'
import { settingsFrom } from './deploy/settings.mjs'
import { gitRelease } from './deploy/ship.mjs'
import { createSsh } from './deploy/ssh.mjs'
import { logs, status } from './deploy/status.mjs'
import { scriptArgs } from './lib/args.mjs'

const HELP = `Usage: zx scripts/deploy.mjs [--host user@server] [options]

Deploys the current commit: preflight → lock → bake → ship → upload → backup → migrate →
cutover (new container beside the old, gate on /health/ready, switch the proxy, drain the old) →
verify (scripts/health.mjs) → record → prune. Any failure after shipping keeps the old release serving.

Actions (default: deploy):
  --rollback [RELEASE]   return to the previous release (or the one named), the same zero-downtime way
  --status               current release, containers, lock, recent history and backups
  --logs                 recent logs of the api and the proxy (--follow to stream, --lines N)
  --unlock               remove the deploy lock (after a deploy died); prints who held it
  --dry-run              print the plan and change nothing

Options:
  --host HOST            SSH destination (DEPLOY_HOST); a Host alias from your ssh config works
  --mode compose|swarm   one machine behind the proxy, or docker stack deploy on a swarm (DEPLOY_MODE)
  --allow-dirty          deploy uncommitted changes (the release is then <sha>-dirty)
  --pull                 refresh the base images first (the build's, and postgres on the server in compose mode)
  --verbose              print every command (local and over SSH) and its output
  --help                 this text

Settings: deploy/config.mjs, overridden by DEPLOY_* variables (see that file).
Docs: docs/deploy.md`

const args = scriptArgs(import.meta.filename, {
  boolean: ['dry-run', 'status', 'logs', 'follow', 'unlock', 'allow-dirty', 'pull', 'verbose', 'help'],
  string: ['host', 'mode', 'rollback', 'lines'],
  unknown: (arg) => {
    if (arg.startsWith('-')) fail(`unknown option ${arg}`, 'see --help', 2)
    return true
  },
})

if (args.help) {
  console.log(HELP)
  process.exit(0)
}
if (args._.length) fail(`unexpected argument ${args._[0]}`, 'options start with --; see --help', 2)

const root = path.join(import.meta.dirname, '..')
let settings
try {
  settings = settingsFrom((await import(path.join(root, 'deploy/config.mjs'))).default, process.env, args)
} catch (error) {
  fail(error.message, 'fix deploy/config.mjs or the DEPLOY_* variable it names', 2)
}
const { host, dir, mode } = settings

// Steps print their own summary; --verbose shows every command as it runs.
$.verbose = args.verbose
$.quiet = !args.verbose
$.cwd = root
// A failed command throws with its stderr; messages below say which step failed.

const action = args.status
  ? 'status'
  : args.logs
    ? 'logs'
    : args.unlock
      ? 'unlock'
      : args.rollback !== undefined
        ? 'rollback'
        : 'deploy'

// What every step may use, passed explicitly: nothing else is shared between the files of scripts/deploy/.
// Control characters stripped: it is one field of the server's history.tsv.
const who = `${os.userInfo().username}@${os.hostname()}`.replace(/[\p{Cc}]/gu, '?')
const ssh = createSsh(settings)
const lock = createLock({ settings, ssh, who })
const steps = createSteps(() => lock.refresh())
const ctx = { root, args, action, settings, who, ssh, lock, steps }

// However the script ends (a failed step exits at once): give the lock back, close the shared connection.
process.on('exit', () => {
  lock.releaseSync()
  ssh.closeSync()
})

// Ctrl-C, a closed terminal or a kill mid-deploy: give the lock back; a half-started container is cleared by the next deploy.
releaseOnSignals({ lock, ssh })

function printPlan(title, plan) {
  console.log(chalk.bold(`plan (dry run): ${title}`))
  for (const [index, [name, detail]] of Object.entries(plan).entries())
    console.log(`  ${index + 1}. ${name.padEnd(14)} ${detail}`)
  console.log('nothing was changed; run again without --dry-run to do it')
}

try {
  if (action === 'deploy') {
    const release = await gitRelease(ctx)
    const plan = releasePlan(ctx, release)
    steps.expect(Object.keys(plan).length)
    if (args['dry-run']) printPlan(`deploy ${release.id} to ${host}:${dir} (${mode})`, plan)
    else await deployRelease(ctx, release, plan)
  } else if (action === 'rollback') {
    const plan = rollbackPlan(ctx)
    steps.expect(Object.keys(plan).length)
    if (args['dry-run']) printPlan(`roll back on ${host}:${dir}`, plan)
    else await rollback(ctx)
  } else {
    if (args['dry-run']) {
      console.log(`plan (dry run): ${action} on ${host}:${dir}; nothing would change`)
      process.exit(0)
    }
    await preflight(ctx)
    if (action === 'status') await status(ctx)
    if (action === 'logs') await logs(ctx)
    if (action === 'unlock') {
      const holder = await lock.remove()
      console.log(holder ? `removed the lock held by ${holder}` : 'there was no lock')
    }
    await ssh.close()
  }
} catch (error) {
  await lock.release().catch(() => {})
  await ssh.close().catch(() => {})
  fail(
    `${action}: ${error.stderr?.trim() || error.message}`,
    error.todo ??
      'the previous release keeps serving; fix the cause and run again (`--status` shows the server)',
  )
}
