// Deploy settings: deploy/config.mjs, then DEPLOY_* variables, then flags. Pure, so it is easy to reason about.

/** Setting → environment variable; numbers are checked, strings taken as they are. */
const ENV = {
  host: 'DEPLOY_HOST',
  sshConfig: 'DEPLOY_SSH_CONFIG',
  dir: 'DEPLOY_DIR',
  project: 'DEPLOY_PROJECT',
  mode: 'DEPLOY_MODE',
  image: 'DEPLOY_IMAGE',
  registry: 'DEPLOY_REGISTRY',
  healthUrl: 'DEPLOY_HEALTH_URL',
  proxyBind: 'DEPLOY_PROXY_BIND',
  proxyPort: 'DEPLOY_PROXY_PORT',
  readyTimeout: 'DEPLOY_READY_TIMEOUT',
  verifyTimeout: 'DEPLOY_VERIFY_TIMEOUT',
  keepReleases: 'DEPLOY_KEEP_RELEASES',
  keepBackups: 'DEPLOY_KEEP_BACKUPS',
  lockStaleMinutes: 'DEPLOY_LOCK_STALE_MINUTES',
  minFreeMb: 'DEPLOY_MIN_FREE_MB',
}

export function settingsFrom(defaults, env, flags = {}) {
  const settings = { ...defaults }
  const problems = []
  for (const [key, variable] of Object.entries(ENV)) {
    if (env[variable] !== undefined && env[variable] !== '') settings[key] = env[variable]
    if (typeof defaults[key] === 'number') {
      const value = Number(settings[key])
      if (!Number.isFinite(value) || value < 0)
        problems.push(`${variable}: expected a non-negative number, got ${settings[key]}`)
      settings[key] = value
    }
  }
  if (flags.host) settings.host = flags.host
  if (flags.mode) settings.mode = flags.mode
  // Both reach ssh and a server-side shell script: an option-like host or a non-address bind would be injected.
  if (settings.host?.startsWith('-'))
    problems.push(`DEPLOY_HOST (--host): expected user@server or an ssh alias, got ${settings.host}`)
  if (!/^[0-9A-Fa-f.:]+$/.test(String(settings.proxyBind)))
    problems.push(`DEPLOY_PROXY_BIND: expected an IP address such as 0.0.0.0, got ${settings.proxyBind}`)
  if (!['compose', 'swarm'].includes(settings.mode))
    problems.push(`DEPLOY_MODE (--mode): expected compose or swarm, got ${settings.mode}`)
  if (!settings.dir.startsWith('/'))
    problems.push(`DEPLOY_DIR: expected an absolute path, got ${settings.dir}`)
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(settings.project))
    problems.push(`DEPLOY_PROJECT: expected lowercase letters, digits, - and _, got ${settings.project}`)
  if (settings.healthUrl && !/^https?:\/\//.test(settings.healthUrl))
    problems.push(`DEPLOY_HEALTH_URL: expected an http(s) URL, got ${settings.healthUrl}`)
  if (settings.keepReleases < 2)
    problems.push(
      `DEPLOY_KEEP_RELEASES: expected at least 2 (rollback needs one), got ${settings.keepReleases}`,
    )
  if (problems.length) throw new Error(`invalid deploy settings:\n  - ${problems.join('\n  - ')}`)
  return Object.freeze(settings)
}
