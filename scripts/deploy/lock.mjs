// The deploy lock: mkdir is atomic on every file system, so exactly one deploy creates deploy.lock on the server.
// Its holder writes a random token into it, refreshes it on a timer and removes it only while the token is its own.
import { randomBytes } from 'node:crypto'
import { chalk } from 'zx'
import { info } from './output.mjs'
import { sq } from './ssh.mjs'

// A takeover holds deploy.lock.takeover for one short script; a marker older than this was left by one that died.
const MARKER_STALE_SECONDS = 60
// Rounds of "held, stale, try to take over" before giving up, so a lock that keeps changing hands never loops.
const TAKEOVER_TRIES = 3

/** An error that says what to do; deploy.mjs prints `todo` under the message. */
export class LockError extends Error {
  constructor(message, todo) {
    super(message)
    this.todo = todo
  }
}

/** Shell true when deploy.lock holds `token`. */
const owns = (token) => `[ "$(cat deploy.lock/token 2>/dev/null || true)" = ${sq(token)} ]`

/** Shell that takes deploy.lock for `token`, writing `holder`; the token last, so a reader never sees a partial one. */
const take = (token, holder) =>
  `mkdir deploy.lock 2>/dev/null && printf '%s\\n' ${sq(holder)} > deploy.lock/holder && printf '%s\\n' ${sq(token)} > deploy.lock/token`

/** Shell removing the takeover marker if `token` made it. */
const dropMarker = (token) =>
  `if [ "$(cat deploy.lock.takeover/owner 2>/dev/null || true)" = ${sq(token)} ]; then rm -rf deploy.lock.takeover; fi`

/** Seconds since a path last changed, in shell; 0 when it is gone. */
const ageOf = (file) => `$(( $(date +%s) - $(stat -c %Y ${file} 2>/dev/null || date +%s) ))`

/**
 * One try: take the free lock, or take over one whose age is over `staleSeconds` (under the takeover marker, and only
 * if it is still the lock judged stale). Prints "acquired", "took-over AGE HOLDER",
 * "free" (gone meanwhile), or "held AGE HOLDER".
 */
function acquireScript(token, holder, staleSeconds) {
  return `
    if ${take(token, holder)}; then echo acquired; exit 0; fi
    # Released between the two commands: try again.
    [ -d deploy.lock ] || { echo free; exit 0; }
    age=${ageOf('deploy.lock')}
    stale=$(cat deploy.lock/token 2>/dev/null || true)
    if [ "$age" -gt ${staleSeconds} ]; then
      # A marker older than a minute was left by a takeover that died: renamed away (atomic), then removed if it is
      # still the one judged left over; a marker renamed in the meantime by a live takeover is put back.
      if [ -d deploy.lock.takeover ] && [ ${ageOf('deploy.lock.takeover')} -gt ${MARKER_STALE_SECONDS} ]; then
        left=$(cat deploy.lock.takeover/owner 2>/dev/null || true)
        if mv deploy.lock.takeover deploy.lock.reaped.${token} 2>/dev/null; then
          if [ "$(cat deploy.lock.reaped.${token}/owner 2>/dev/null || true)" = "$left" ]; then rm -rf deploy.lock.reaped.${token}
          else mv deploy.lock.reaped.${token} deploy.lock.takeover 2>/dev/null || rm -rf deploy.lock.reaped.${token}; fi
        fi
      fi
      if mkdir deploy.lock.takeover 2>/dev/null; then
        printf '%s\\n' ${sq(token)} > deploy.lock.takeover/owner
        # Under the marker no other deploy takes over; the lock must still be stale, not refreshed or replaced.
        if [ ${ageOf('deploy.lock')} -gt ${staleSeconds} ] && [ "$(cat deploy.lock/token 2>/dev/null || true)" = "$stale" ]; then
          was=$(cat deploy.lock/holder 2>/dev/null || echo unknown)
          rm -rf deploy.lock
          if ${take(token, holder)}; then ${dropMarker(token)}; printf 'took-over %s %s\\n' "$age" "$was"; exit 0; fi
        fi
        ${dropMarker(token)}
      fi
    fi
    printf 'held %s %s\\n' "$age" "$(cat deploy.lock/holder 2>/dev/null || echo unknown)"
  `
}

/** The lock in `settings.dir`, taken and given back over `ssh`; `who` names this machine's user in the holder. */
export function createLock({ settings, ssh, who }) {
  const { dir } = settings
  const staleSeconds = Math.round(settings.lockStaleMinutes * 60)
  // Four refreshes per stale window, at most every 30 s: a live deploy never looks stale, however long it runs.
  const refreshMs = Math.min(30_000, Math.max(250, (staleSeconds * 1000) / 4))
  const token = randomBytes(16).toString('hex')
  let held = false
  let lost = ''
  let timer
  let refreshing

  /** Touches the lock if it is still ours; otherwise records that it was lost (the next step fails). */
  async function touch() {
    const result = await ssh.remote(`if ${owns(token)}; then touch -c deploy.lock; echo ours; fi`, {
      nothrow: true,
    })
    // An SSH hiccup is not a loss: the next tick tries again, well within the stale window.
    if (result.exitCode !== 0 || !held) return
    if (result.stdout.trim() !== 'ours') {
      held = false
      clearInterval(timer)
      lost = `the lock in ${dir} was taken over by another deploy (${(await holderNow()) || 'now free'})`
      console.error(chalk.red(`    ${lost}; stopping at the next step`))
    }
  }

  const holderNow = async () =>
    (await ssh.remote('cat deploy.lock/holder 2>/dev/null || true', { nothrow: true })).stdout.trim()

  async function acquire(what) {
    const holder = `${who} pid ${process.pid}, ${what}, since ${new Date().toISOString()}`
    for (let round = 1; ; round++) {
      const result = await ssh.remote(acquireScript(token, holder, staleSeconds), { nothrow: true })
      const out = result.stdout.trim()
      const tookOver = out.match(/^took-over (\d+) (.*)$/s)
      if (tookOver)
        console.log(
          chalk.yellow(
            `    took over a stale lock (${Math.round(tookOver[1] / 60)} min old) held by ${tookOver[2]}`,
          ),
        )
      if (out === 'acquired' || tookOver) {
        held = true
        lost = ''
        timer = setInterval(() => {
          refreshing ??= touch().finally(() => {
            refreshing = undefined
          })
        }, refreshMs)
        // The timer never keeps the process alive on its own.
        timer.unref()
        info(`lock: ${dir}/deploy.lock (${holder})`)
        return
      }
      if (out === 'free' && round < TAKEOVER_TRIES) continue
      const match = out.match(/^held (\d+) (.*)$/s)
      if (!match)
        throw new LockError(
          `could not take the lock in ${dir}: ${result.stderr.trim() || out}`,
          'check SSH access and the directory',
        )
      const [, age, current] = match
      if (Number(age) <= staleSeconds)
        throw new LockError(
          `another deploy holds the lock: ${current} (${age} s ago)`,
          `wait for it to finish; if it died, run \`zx scripts/deploy.mjs --unlock\` (a lock not refreshed for ${settings.lockStaleMinutes} min is taken over automatically)`,
        )
      if (round === TAKEOVER_TRIES)
        throw new LockError(
          `could not take over the stale lock in ${dir} held by ${current}: another deploy is taking it over`,
          'run again in a minute, or `zx scripts/deploy.mjs --unlock` if no deploy runs',
        )
      info(`the lock held by ${current} is stale, but another deploy is taking it over; trying again`)
      await new Promise((resolve) => setTimeout(resolve, 500 * round))
    }
  }

  return {
    /** Takes the lock for `what` (e.g. "deploy abc1234"), taking over a stale one; throws if another deploy holds it. */
    acquire,

    /** Gives the lock back if it is still this run's; a successor's lock is never touched. */
    async release() {
      clearInterval(timer)
      await refreshing
      if (!held) return
      held = false
      await ssh.remote(`if ${owns(token)}; then rm -rf deploy.lock; fi`, { nothrow: true })
    },

    /** release, for process exit. */
    releaseSync() {
      clearInterval(timer)
      if (!held) return
      held = false
      ssh.remoteSync(`if ${owns(token)}; then rm -rf deploy.lock; fi`)
    },

    /** Before each step: refreshes the lock, and throws if another deploy took it over meanwhile. */
    async refresh() {
      if (held) await (refreshing ?? touch())
      if (lost) throw new LockError(lost, 'no later step ran; check `--status` and deploy again')
    },

    /** --unlock: removes the lock and any takeover marker; returns the holder ('' when there was none). */
    remove: () =>
      ssh.remote(
        'cat deploy.lock/holder 2>/dev/null || true; rm -rf deploy.lock deploy.lock.takeover deploy.lock.reaped.*',
      ),
  }
}

/** SIGINT, SIGTERM and SIGHUP release the lock and close the connection, then exit 128 + the signal's number. */
export function releaseOnSignals({ lock, ssh }) {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ])
    process.on(signal, async () => {
      await lock.release().catch(() => {})
      await ssh.close().catch(() => {})
      console.error(`deploy: ${signal}; the lock was released and the previous release keeps serving`)
      process.exit(code)
    })
}
