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
  healthCa: 'DEPLOY_HEALTH_CA',
  healthResolve: 'DEPLOY_HEALTH_RESOLVE',
  proxyBind: 'DEPLOY_PROXY_BIND',
  proxyPort: 'DEPLOY_PROXY_PORT',
  domain: 'DEPLOY_DOMAIN',
  acmeEmail: 'DEPLOY_ACME_EMAIL',
  acmeCa: 'DEPLOY_ACME_CA',
  acmeCaRoot: 'DEPLOY_ACME_CA_ROOT',
  proxyHttpsPort: 'DEPLOY_PROXY_HTTPS_PORT',
  overlayEncryption: 'DEPLOY_OVERLAY_ENCRYPTION',
  certTimeout: 'DEPLOY_CERT_TIMEOUT',
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
  // Swarm publishes a port on every address of a node: a narrower bind would be silently ignored.
  if (settings.mode === 'swarm' && !['0.0.0.0', '::'].includes(String(settings.proxyBind)))
    problems.push(
      `DEPLOY_PROXY_BIND: swarm mode publishes on every address of the node and cannot bind ${settings.proxyBind}; use 0.0.0.0 with a firewall, or compose mode`,
    )
  if (!['on', 'off'].includes(settings.overlayEncryption))
    problems.push(`DEPLOY_OVERLAY_ENCRYPTION: expected on or off, got ${settings.overlayEncryption}`)
  if (!['compose', 'swarm'].includes(settings.mode))
    problems.push(`DEPLOY_MODE (--mode): expected compose or swarm, got ${settings.mode}`)
  // The directory also lands in compose's .env and the stack file, which expand `$` and read quotes and `#`.
  if (!/^\/[\w./@+,: -]*$/.test(settings.dir))
    problems.push(
      `DEPLOY_DIR: expected an absolute path of letters, digits, spaces and . _ - / @ + , :, got ${settings.dir}`,
    )
  if (!/^[a-z0-9]+(?:(?:[._/]|__|-+)[a-z0-9]+)*$/.test(settings.image))
    problems.push(`DEPLOY_IMAGE: expected an image name such as bakehouse or team/api, got ${settings.image}`)
  if (settings.registry && !/^[A-Za-z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)*$/.test(settings.registry))
    problems.push(`DEPLOY_REGISTRY: expected a registry such as ghcr.io/team, got ${settings.registry}`)
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(settings.project))
    problems.push(`DEPLOY_PROJECT: expected lowercase letters, digits, - and _, got ${settings.project}`)
  if (settings.healthUrl && !/^https?:\/\//.test(settings.healthUrl))
    problems.push(`DEPLOY_HEALTH_URL: expected an http(s) URL, got ${settings.healthUrl}`)
  // health.mjs's --resolve form, checked here so a typo stops the deploy before anything changes, not after.
  if (settings.healthResolve && !/^[A-Za-z0-9.-]+:([0-9.]+|\[[0-9A-Fa-f:]+\])$/.test(settings.healthResolve))
    problems.push(
      `DEPLOY_HEALTH_RESOLVE: expected NAME:ADDRESS such as app.example.com:203.0.113.7, got ${settings.healthResolve}`,
    )
  // Names go into the edge's config and a server-side script: plain DNS names only, and no wildcard (http-01).
  // Each once: nginx refuses a map with a name twice, which would leave the recreated proxy crash-looping.
  settings.domains = [
    ...new Set(
      String(settings.domain)
        .toLowerCase()
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ]
  for (const name of settings.domains)
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/.test(name))
      problems.push(`DEPLOY_DOMAIN: expected DNS names such as app.example.com (no wildcards), got ${name}`)
  if (settings.domains.length && !/^[^\s@'"]+@[^\s@'"]+\.[^\s@'"]+$/.test(settings.acmeEmail))
    problems.push(
      `DEPLOY_ACME_EMAIL: expected the ACME account's contact address (needed with DEPLOY_DOMAIN), got ${settings.acmeEmail || 'nothing'}`,
    )
  if (settings.acmeCa && !/^https:\/\/[^\s'"]+$/.test(settings.acmeCa))
    problems.push(`DEPLOY_ACME_CA: expected the https:// URL of an ACME directory, got ${settings.acmeCa}`)
  if (settings.keepReleases < 2)
    problems.push(
      `DEPLOY_KEEP_RELEASES: expected at least 2 (rollback needs one), got ${settings.keepReleases}`,
    )
  if (problems.length) throw new Error(`invalid deploy settings:\n  - ${problems.join('\n  - ')}`)
  return Object.freeze(settings)
}
