// The deploy lock: mkdir is atomic on every file system, so exactly one deploy creates deploy.lock on the server.
import { chalk } from 'zx'
import { fail, info } from './output.mjs'
import { sq } from './ssh.mjs'

/** The lock in `settings.dir`, taken and given back over `ssh`; `who` names this machine's user in the holder. */
export function createLock({ settings, ssh, who }) {
  const { dir } = settings
  let held = false

  async function acquire(what) {
    const holder = `${who} pid ${process.pid}, ${what}, since ${new Date().toISOString()}`
    const result = await ssh.remote(
      `
    if mkdir deploy.lock 2>/dev/null; then printf '%s\\n' ${sq(holder)} > deploy.lock/holder; echo acquired; exit 0; fi
    age=$(( $(date +%s) - $(stat -c %Y deploy.lock 2>/dev/null || date +%s) ))
    printf 'held %s %s\\n' "$age" "$(cat deploy.lock/holder 2>/dev/null || echo unknown)"
  `,
      { nothrow: true },
    )
    const out = result.stdout.trim()
    if (out === 'acquired') {
      held = true
      info(`lock: ${dir}/deploy.lock (${holder})`)
      return
    }
    const match = out.match(/^held (\d+) (.*)$/s)
    if (!match)
      fail(
        `could not take the lock in ${dir}: ${result.stderr.trim() || out}`,
        'check SSH access and the directory',
      )
    const [, age, current] = match
    if (Number(age) > settings.lockStaleMinutes * 60) {
      console.log(
        chalk.yellow(`    taking over a stale lock (${Math.round(age / 60)} min old) held by ${current}`),
      )
      // Removed only under a second mkdir lock and only if it is still the lock we judged stale, so two deploys
      // taking over at once cannot remove each other's fresh lock.
      await ssh.remote(`
      mkdir deploy.lock.takeover 2>/dev/null || exit 0
      if [ "$(cat deploy.lock/holder 2>/dev/null || echo unknown)" = ${sq(current.trim())} ]; then rm -rf deploy.lock; fi
      rmdir deploy.lock.takeover
    `)
      return acquire(what)
    }
    fail(
      `another deploy holds the lock: ${current} (${age} s ago)`,
      `wait for it to finish; if it died, run \`zx scripts/deploy.mjs --unlock\` (locks older than ${settings.lockStaleMinutes} min are taken over automatically)`,
    )
  }

  return {
    /** Takes the lock for `what` (e.g. "deploy abc1234"), taking over a stale one; exits if another deploy holds it. */
    acquire,

    /** Gives the lock back, if this run holds it. */
    async release() {
      if (!held) return
      await ssh.remote('rm -rf deploy.lock', { nothrow: true })
      held = false
    },

    /** release, for process exit. */
    releaseSync() {
      if (held) ssh.runSync(`rm -rf ${sq(`${dir}/deploy.lock`)}`)
    },

    /** A held lock is refreshed at every step, so only a deploy that stopped making progress ever looks stale. */
    async refresh() {
      if (held) await ssh.remote('touch deploy.lock', { nothrow: true })
    },

    /** --unlock: removes whatever lock there is and returns its holder ('' when there was none). */
    remove: () => ssh.remote('cat deploy.lock/holder 2>/dev/null || true; rm -rf deploy.lock'),
  }
}
