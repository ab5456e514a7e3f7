// HTTPS when a domain is set: the acme service runs beside the proxy, and the first certificate is awaited before
// the public URL is checked. Renewals happen inside the acme service; the proxy reads the new one at the next handshake.
import { info } from './output.mjs'
import { sq } from './ssh.mjs'

/** The compose profiles the edge runs under: the proxy, and the certificate client with a domain. */
export const edgeProfiles = ({ domains }) =>
  domains.length ? '--profile proxy --profile https' : '--profile proxy'

/** The edge services to start: the proxy, and the certificate client with a domain. */
export const edgeServices = ({ domains }) => (domains.length ? 'proxy acme' : 'proxy')

/** Waits until the proxy has a certificate and serves `release` over TLS; returns an error message or undefined. */
export async function awaitCertificate({ settings, ssh }, release) {
  const [primary] = settings.domains
  const started = performance.now()
  const out = await ssh.remote(
    `
    DOMAIN_PRIMARY=${sq(primary)}
    proxy=$(ps_service proxy | awk '$3 == "running" {print $1; exit}')
    acme=$(ps_service acme | awk '$3 == "running" {print $1; exit}')
    if ! docker exec "$proxy" test -s /certs/edge.pem; then
      # Asked now, not at the client's next retry: a deploy after DNS or the CA was fixed gets its certificate at once.
      if ! timeout ${settings.certTimeout} docker exec "$acme" /etc/edge/acme.sh once >&2 2>&1 || ! docker exec "$proxy" test -s /certs/edge.pem; then
        echo "no certificate within ${settings.certTimeout} s" >&2
        exit 1
      fi
    fi
    # Over the proxy's own TLS listener, by name: the certificate it presents, and the release behind it.
    docker exec "$proxy" curl --silent --insecure --verbose --max-time 5 --resolve "$DOMAIN_PRIMARY:8443:127.0.0.1" \\
      "https://$DOMAIN_PRIMARY:8443/health/live" 2>&1 | sed -n 's/^\\* *expire date: */expires /p; s/.*"release":"\\([^"]*\\)".*/release \\1/p'
  `,
    { release, nothrow: true },
  )
  if (out.exitCode !== 0)
    return `${out.stderr.trim()}\nDNS for ${settings.domains.join(', ')} must point at this server, and port 80 must reach it from the internet`
  const facts = Object.fromEntries(
    out.stdout
      .trim()
      .split('\n')
      .map((line) => [line.split(' ')[0], line.slice(line.indexOf(' ') + 1)]),
  )
  if (facts.release !== release.id)
    return `the proxy's HTTPS listener serves ${facts.release ?? 'nothing'}, not ${release.id}`
  info(
    `certificate for ${settings.domains.join(', ')} (expires ${facts.expires}), HTTPS ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
}
