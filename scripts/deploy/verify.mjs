// The outside check after traffic moved: the public URL serves the new release, live and ready (scripts/health.mjs).
import { $, path } from 'zx'
import { info } from './output.mjs'

/** What verify will do, for plans. */
export function verifyPlan({ healthUrl }) {
  return healthUrl ? `scripts/health.mjs --wait ${healthUrl}` : 'no DEPLOY_HEALTH_URL: proxy check only'
}

/** Returns an error message, or undefined when the URL serves `release` (or no URL is configured). */
export async function verify({ settings, root }, release) {
  if (!settings.healthUrl) {
    info('no DEPLOY_HEALTH_URL: skipped the outside check (the proxy already served the release)')
    return undefined
  }
  const health = path.join(root, 'scripts/health.mjs')
  // Only the deploy's own URL, reached and trusted as its settings say: an operator's HEALTH_* variables (other URLs,
  // another address, another CA) must not decide this release.
  const options = [
    ...(settings.healthCa ? ['--ca', settings.healthCa] : []),
    ...(settings.healthResolve ? ['--resolve', settings.healthResolve] : []),
  ]
  const result = await $({
    nothrow: true,
    env: {
      ...process.env,
      ...{ HEALTH_URLS: '', HEALTH_CA_FILE: '', HEALTH_RESOLVE: '' },
      // Nor may the operator's TLS overrides: a certificate that does not verify fails the check.
      ...{ NODE_TLS_REJECT_UNAUTHORIZED: '1', NODE_EXTRA_CA_CERTS: '' },
    },
  })`${process.execPath} ${health} --wait --deadline ${settings.verifyTimeout} --expect-release ${release.id} ${options} ${settings.healthUrl}`
  for (const line of result.stdout.trim().split('\n')) info(line)
  if (result.exitCode !== 0)
    return `${settings.healthUrl} did not serve ${release.id} healthily: ${result.stderr.trim()}`
}
